"""The app factory: ``create_app()`` builds the FastAPI app; the lifespan loads the models once."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import torch
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette_compress import CompressMiddleware

from . import __version__, errors
from .budget import Outbox
from .limits import BodyLimitMiddleware, InferenceRunner
from .middleware import CrashGuard, HeadLikeGet, HostGuard, SecurityHeaders
from .registry import Registry
from .routes import api, health, learn, pages, translate
from .settings import Settings, get_settings

log = logging.getLogger("attenzione")

DESCRIPTION = """
See how a small Transformer and small recurrent networks (LSTM, GRU, RNN) read the same text:
attention for every layer and head, hidden and cell states, gates, and next-token predictions.

Errors are `application/problem+json` (RFC 9457) with a `detail` that says what to change.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app, configured by ``settings`` (default: from the environment)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.torch_threads:
            torch.set_num_threads(settings.torch_threads)
        app.state.settings = settings
        app.state.registry = Registry.load(settings.models_dir)
        app.state.outbox = Outbox(settings.max_pending_bytes)
        app.state.runner = InferenceRunner(
            settings.max_concurrency, settings.queue_timeout_s, settings.cache_size, settings.cache_max_bytes
        )
        log.info(
            "models ready: %s; unavailable: %s", app.state.registry.available, app.state.registry.unavailable
        )
        yield

    app = FastAPI(
        title="Attenzione",
        version=__version__,
        summary="Attention maps and recurrent states of small language models, side by side.",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served offline by routes/pages.py
        redoc_url=None,
        # FastAPI asks OpenTelemetry for its providers on every request unless told not to.
        telemetry={
            "tracing": settings.telemetry,
            "metrics": settings.telemetry,
            "logs": settings.telemetry,
            "operation_spans": settings.telemetry,
        },
    )
    errors.install(app)
    app.include_router(api.router)
    app.include_router(learn.router)
    app.include_router(translate.router)
    app.include_router(health.router)
    pages.install(app)
    # Outermost last: security headers on everything, a 500 inside them, then the Host check.
    routers = (api.router, learn.router, translate.router)
    routes = [r for router in routers for r in router.routes if isinstance(r, APIRoute)]
    json_paths = {r.path for r in routes if "POST" in (r.methods or ())}
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, json_paths=json_paths)
    app.add_middleware(CompressMiddleware, minimum_size=1024, zstd_level=1, brotli_quality=4, gzip_level=4)
    app.add_middleware(HeadLikeGet)
    app.add_middleware(HostGuard, allowed=settings.hosts())
    app.add_middleware(CrashGuard)
    app.add_middleware(SecurityHeaders)
    return app


app = create_app()
