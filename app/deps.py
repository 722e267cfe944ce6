"""The objects the lifespan puts on ``app.state``: read directly by the trace and compare
routes, and as a FastAPI dependency by the others.

``get_registry`` is ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in the
thread pool, and a thread hop for an attribute read costs more than a small trace.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .limits import InferenceRunner
from .registry import Registry
from .settings import Settings


def app_state(request: Request) -> tuple[Registry, InferenceRunner, Settings]:
    """The registry, runner and settings, read directly: the trace and compare routes skip
    FastAPI's dependency injection, which costs more than the inference path can spare."""
    state = request.app.state
    return state.registry, state.runner, state.settings


async def get_registry(request: Request) -> Registry:
    return request.app.state.registry


RegistryDep = Annotated[Registry, Depends(get_registry)]
