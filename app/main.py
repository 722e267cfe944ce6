"""The app factory: ``create_app()`` builds the FastAPI app; the lifespan loads the models once."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import torch
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette_compress import CompressMiddleware

from . import __version__, errors
from .limits import BodyLimitMiddleware, InferenceRunner
from .registry import Registry
from .routes import api, health, pages
from .settings import Settings, get_settings

log = logging.getLogger("attenzione")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)

CSP_HEADER = (b"content-security-policy", CSP.encode())
OTHER_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"))

DESCRIPTION = """
See how a small Transformer and small recurrent networks (LSTM, GRU, RNN) read the same text:
attention for every layer and head, hidden and cell states, gates, and next-token predictions.

Errors are `application/problem+json` (RFC 9457) with a `detail` that says what to change.
"""


class SecurityHeaders:
    """A strict Content-Security-Policy (no inline scripts, nothing from other origins)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                path = scope.get("path", "")
                if not path.startswith(("/docs", "/redoc")):  # Swagger UI needs its own policy
                    headers.append(CSP_HEADER)
                headers.extend(OTHER_HEADERS)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class HeadLikeGet:
    """HEAD wherever GET works (RFC 9110 9.3.2): the GET runs and only its headers are sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] != "http.response.body":
                await send(message)
            elif not message.get("more_body", False):
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app, configured by ``settings`` (default: from the environment)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.torch_threads:
            torch.set_num_threads(settings.torch_threads)
        app.state.settings = settings
        app.state.registry = Registry.load(settings.models_dir)
        app.state.runner = InferenceRunner(
            settings.max_concurrency, settings.queue_timeout_s, settings.cache_size
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
    app.include_router(health.router)
    pages.install(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(CompressMiddleware, minimum_size=1024, zstd_level=3, brotli_quality=4, gzip_level=4)
    app.add_middleware(HeadLikeGet)
    app.add_middleware(SecurityHeaders)
    return app


app = create_app()
