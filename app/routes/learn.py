"""The computation step by step, and generation: attention and recurrent steps with the
model's own numbers, a gated layer's memory horizon, and text continued token by token."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from models.generate import Generation, generate
from models.lm import LanguageModel
from models.stepwise import attention_steps, memory_horizon, recurrence_steps

from ..deps import RegistryDep, RunnerDep, SettingsDep
from ..schemas import AttentionStepsRequest, GenerateRequest, MemoryRequest, RecurrenceStepsRequest
from ..serialize import dumps
from ..service import check_text, get_model
from .api import ERRORS

router = APIRouter(prefix="/api/v1", tags=["learn"])


def plain(obj: Any) -> Any:
    """Dataclasses and read-only mappings as dicts, for orjson (numpy arrays stay arrays)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {k: plain(v) for k, v in obj.items()}
    return obj


async def _steps(runner: RunnerDep, key: tuple[Any, ...], work: Callable[[], object]) -> Response:
    content, info = await runner.run(key, lambda: dumps({"api_version": "v1", **plain(work())}))
    headers = {"X-Cache": info["cache"], "Server-Timing": f"infer;dur={info['dur_ms']:.3f}"}
    return Response(content, media_type="application/json", headers=headers)


def _model(registry: RegistryDep, settings: SettingsDep, name: str, text: str) -> LanguageModel:
    model = get_model(registry, name)
    check_text(text, settings)
    return model


@router.post("/steps/attention", responses=ERRORS)
async def steps_attention(
    req: AttentionStepsRequest, registry: RegistryDep, runner: RunnerDep, settings: SettingsDep
) -> Response:
    """One attention step of a Transformer, number by number: LayerNorm, q, every k and v,
    scores, scaling, mask, softmax (equal to the attention map's row), the weighted sum of v,
    the heads concatenated, W_O, and the residual stream (equal to the traced one)."""
    model = _model(registry, settings, req.model, req.text)
    query = req.query if req.query is not None else len(model.tokenizer.encode_ids(req.text)) - 1
    key = ("steps/attention", req.model, req.text, req.layer, req.head, query)
    return await _steps(runner, key, lambda: attention_steps(model, req.text, req.layer, req.head, query))


@router.post("/steps/recurrence", responses=ERRORS)
async def steps_recurrence(
    req: RecurrenceStepsRequest, registry: RegistryDep, runner: RunnerDep, settings: SettingsDep
) -> Response:
    """One step of an LSTM, GRU or RNN layer: x_t and h_{t-1}, every gate's pre-activation and
    activation, c_t and h_t by the cell's equations, beside the states the model computed."""
    model = _model(registry, settings, req.model, req.text)
    units = tuple(req.units) if req.units is not None else None
    t = req.t if req.t is not None else len(model.tokenizer.encode_ids(req.text)) - 1
    key = ("steps/recurrence", req.model, req.text, req.layer, t, units)
    return await _steps(runner, key, lambda: recurrence_steps(model, req.text, req.layer, t, units))


@router.post("/steps/memory", responses=ERRORS)
async def steps_memory(
    req: MemoryRequest, registry: RegistryDep, runner: RunnerDep, settings: SettingsDep
) -> Response:
    """The memory horizon of a gated layer: how much of the cell (LSTM, forget gates) or state
    (GRU, z) survives d steps later, per unit, and each unit's half-life."""
    model = _model(registry, settings, req.model, req.text)
    key = ("steps/memory", req.model, req.text, req.layer, req.max_distance)
    return await _steps(
        runner, key, lambda: memory_horizon(model, req.text, req.layer, max_distance=req.max_distance)
    )


def _token_line(token: Any) -> bytes:
    return dumps({"type": "token", **plain(token)}) + b"\n"


GENERATED: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, "application/x-ndjson": {}}, "description": "The tokens."}
}


@router.post("/generate", responses={**ERRORS, **GENERATED})
async def generate_text(
    req: GenerateRequest, request: Request, registry: RegistryDep, runner: RunnerDep, settings: SettingsDep
) -> Response:
    """Continue the prompt, greedily or by seeded sampling, one token at a time; each token
    with its probability, the alternatives, and the new position's attention row or state
    column. With ``stream`` the tokens arrive as JSON lines as they are made."""
    model = _model(registry, settings, req.model, req.prompt)
    top_k = req.top_k if req.strategy == "sample" else None
    gen = await runner.call(
        lambda: generate(
            model, req.prompt, req.max_new_tokens, req.strategy, req.temperature, top_k, req.seed
        )
    )
    head = {
        "type": "start",
        "model": model.name,
        "prompt": plain(gen.prompt),
        "seed": gen.seed,
        "limit": gen.limit,
    }
    if not req.stream:
        tokens = []
        while (token := await runner.call(lambda: next(gen, None))) is not None:
            tokens.append(plain(token))
            if await request.is_disconnected():  # nobody is waiting for the rest
                break
        return Response(dumps({"api_version": "v1", **head, "tokens": tokens}), media_type="application/json")
    return StreamingResponse(_stream(runner, gen, head), media_type="application/x-ndjson")


async def _stream(runner: RunnerDep, gen: Generation, head: dict[str, Any]) -> AsyncIterator[bytes]:
    yield dumps(head) + b"\n"
    while (token := await runner.call(lambda: next(gen, None))) is not None:
        yield _token_line(token)
    yield dumps({"type": "end", "ids": list(gen.ids)}) + b"\n"
