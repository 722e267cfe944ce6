"""FastAPI dependencies: the objects the lifespan puts on ``app.state``, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .budget import Outbox
from .limits import InferenceRunner
from .registry import Registry
from .settings import Settings


async def get_registry(request: Request) -> Registry:
    return request.app.state.registry


async def get_runner(request: Request) -> InferenceRunner:
    return request.app.state.runner


async def get_outbox(request: Request) -> Outbox:
    return request.app.state.outbox


async def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


RegistryDep = Annotated[Registry, Depends(get_registry)]
RunnerDep = Annotated[InferenceRunner, Depends(get_runner)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
OutboxDep = Annotated[Outbox, Depends(get_outbox)]
