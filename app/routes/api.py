"""JSON API v1: list models, trace a text, compare models on one text, influence maps."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from ..budget import Outbox, OutboxResponse, check_budget, estimate_bytes
from ..deps import OutboxDep, RegistryDep, RunnerDep, SettingsDep
from ..schemas import (
    CompareRequest,
    CompareResponse,
    InfluenceRequest,
    InfluenceResponse,
    ModelsResponse,
    Problem,
    TraceRequest,
    TraceResponse,
)
from ..serialize import dumps
from ..service import (
    check_text,
    compare_work,
    get_model,
    influence_work,
    models_payload,
    selection_for,
    trace_work,
)

router = APIRouter(prefix="/api/v1", tags=["api"])

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}, "description": text}
    for code, text in {
        400: "A body that is not UTF-8 JSON text, or a Host name this server does not answer to.",
        404: "Unknown model (the message lists the valid names).",
        413: "Text, request body or response too large (the message states the limit and what to drop).",
        415: "The body is not sent as application/json.",
        422: "Invalid request: empty text, too many tokens for the model, a part, layer, head or option "
        "the model does not have.",
        503: "All inference slots busy (see Retry-After) or model unavailable.",
    }.items()
}


def _json(body: bytes, info: dict[str, Any], outbox: Outbox) -> Response:
    headers = {"X-Cache": info["cache"], "Server-Timing": f"infer;dur={info['dur_ms']:.3f}"}
    return OutboxResponse(body, outbox, media_type="application/json", headers=headers)


@router.get("/models", response_model=ModelsResponse)
async def list_models(registry: RegistryDep) -> Response:
    """Every model with its declared spec, model card and availability, and the part registry."""
    return Response(dumps(models_payload(registry)), media_type="application/json")


@router.post("/trace", response_model=TraceResponse, responses=ERRORS)
async def trace(
    req: TraceRequest, registry: RegistryDep, runner: RunnerDep, settings: SettingsDep, outbox: OutboxDep
) -> Response:
    """Trace one text through one model: tokens, the requested parts, and predictions."""
    model = get_model(registry, req.model)
    check_text(req.text, settings)
    sel = selection_for(model, req, settings, strict_parts=True)
    n_tokens = len(model.tokenizer.encode_ids(req.text))
    check_budget([estimate_bytes(model.spec, n_tokens, sel, req.top_k)], settings.max_response_bytes, sel)
    key = ("trace", req.model, req.text, sel, req.top_k)
    content, info = await runner.run(key, trace_work(model, req.text, sel, req.top_k, registry.tokenizer_id))
    return _json(content, info, outbox)


@router.post("/compare", response_model=CompareResponse, responses=ERRORS)
async def compare(
    req: CompareRequest, registry: RegistryDep, runner: RunnerDep, settings: SettingsDep, outbox: OutboxDep
) -> Response:
    """Trace one text through 2-4 models; shared tokenisations are stated once."""
    models = [get_model(registry, name) for name in req.models]
    check_text(req.text, settings)
    sels = [selection_for(m, req, settings, strict_parts=False) for m in models]
    sizes = [
        estimate_bytes(m.spec, len(m.tokenizer.encode_ids(req.text)), sel, req.top_k)
        for m, sel in zip(models, sels, strict=True)
    ]
    check_budget(sizes, settings.max_response_bytes, sels[0])
    key = ("compare", tuple(req.models), req.text, tuple(sels), req.top_k)
    content, info = await runner.run(key, compare_work(models, req, sels, registry.tokenizer_id))
    return _json(content, info, outbox)


@router.post("/influence", response_model=InfluenceResponse, responses=ERRORS)
async def influence(
    req: InfluenceRequest, registry: RegistryDep, runner: RunnerDep, settings: SettingsDep, outbox: OutboxDep
) -> Response:
    """How much each earlier token mattered to each next-token prediction, for 1-4 models on
    one colour scale: a [T, T] lower-triangular map per model (gradient x input with the
    gradient's norm, or occlusion). The work grows with T², so texts are limited to
    `max_tokens` (64) tokens; a model that refuses the text says why in its `error`."""
    models = [get_model(registry, name) for name in req.models]
    check_text(req.text, settings)
    decimals = settings.decimals if req.decimals is None else req.decimals
    key = ("influence", tuple(req.models), req.text, req.method, req.encoding, decimals)
    content, info = await runner.run(key, influence_work(models, req, decimals, registry.tokenizer_id))
    return _json(content, info, outbox)
