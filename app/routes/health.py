"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from ..deps import RegistryDep
from ..serialize import dumps

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> Response:
    """The process is alive."""
    return Response(dumps({"status": "ok"}), media_type="application/json")


@router.get("/readyz")
async def readyz(registry: RegistryDep) -> Response:
    """Whether the models are loaded; 503 if none is. Lists unavailable models and why."""
    ready = bool(registry.available)
    body = {"ready": ready, "available": registry.available, "unavailable": registry.unavailable}
    return Response(dumps(body), status_code=200 if ready else 503, media_type="application/json")
