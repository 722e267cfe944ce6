"""JSON API v1: list models, trace a text, compare models on one text."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from ..deps import RegistryDep, RunnerDep, SettingsDep
from ..errors import ProblemError
from ..schemas import CompareRequest, CompareResponse, ModelsResponse, Problem, TraceRequest, TraceResponse
from ..serialize import dumps
from ..service import check_text, compare_work, get_model, models_payload, selection_for, trace_work

router = APIRouter(prefix="/api/v1", tags=["api"])

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}, "description": text}
    for code, text in {
        404: "Unknown model (the message lists the valid names).",
        413: "Text or request body too long (the message states the limit and the size).",
        422: "Invalid request: empty text, too many tokens, unknown part, layer or head out of range.",
        503: "All inference slots busy (see Retry-After) or model unavailable.",
    }.items()
}


def _json(body: bytes, info: dict[str, Any]) -> Response:
    headers = {"X-Cache": info["cache"], "Server-Timing": f"infer;dur={info['dur_ms']:.3f}"}
    return Response(body, media_type="application/json", headers=headers)


@router.get("/models", response_model=ModelsResponse)
async def list_models(registry: RegistryDep) -> Response:
    """Every model with its declared spec, model card and availability, and the part registry."""
    return Response(dumps(models_payload(registry)), media_type="application/json")


@router.post("/trace", response_model=TraceResponse, responses=ERRORS)
async def trace(
    req: TraceRequest, registry: RegistryDep, runner: RunnerDep, settings: SettingsDep
) -> Response:
    """Trace one text through one model: tokens, the requested parts, and predictions."""
    model = get_model(registry, req.model)
    check_text(req.text, settings)
    sel = selection_for(model, req, settings, strict_parts=True)
    key = ("trace", req.model, req.text, sel, req.top_k)
    content, info = await runner.run(key, trace_work(model, req.text, sel, req.top_k, registry.tokenizer_id))
    return _json(content, info)


@router.post("/compare", response_model=CompareResponse, responses=ERRORS)
async def compare(
    req: CompareRequest, registry: RegistryDep, runner: RunnerDep, settings: SettingsDep
) -> Response:
    """Trace one text through 2-4 models; shared tokenisations are stated once."""
    if len(set(req.models)) != len(req.models):
        raise ProblemError(
            422, "Duplicate models", f"models must be distinct; got {req.models}", "bad-models"
        )
    models = [get_model(registry, name) for name in req.models]
    check_text(req.text, settings)
    sels = [selection_for(m, req, settings, strict_parts=False) for m in models]
    key = ("compare", tuple(req.models), req.text, tuple(sels), req.top_k)
    content, info = await runner.run(key, compare_work(models, req, sels, registry.tokenizer_id))
    return _json(content, info)
