"""The app's own ASGI middleware: security headers on every response, a problem+json 500 for
any unhandled error (inside the security headers), Host checking, and HEAD like GET."""

from __future__ import annotations

import logging

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import problem_response

log = logging.getLogger("attenzione.errors")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self' data:; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
)


class SecurityHeaders:
    """A strict Content-Security-Policy (no inline scripts, nothing from other origins) and
    friends, on every response: pages, API, docs, errors."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class CrashGuard:
    """Any unhandled error becomes a logged problem+json 500 here, inside ``SecurityHeaders``
    (Starlette's own error middleware sits outside every middleware, headers included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started or scope["type"] != "http":
                raise
            response = problem_response(
                500, "Internal error", "the server failed on this request; it was logged", "internal"
            )
            await response(scope, receive, send)


class HostGuard:
    """Only the configured host names (``*`` for any): a page served under another name
    (DNS rebinding) or cached for one (cache poisoning) gets a 400 instead."""

    def __init__(self, app: ASGIApp, allowed: list[str]) -> None:
        self.app = app
        self.any = "*" in allowed
        self.allowed = {h.lower() for h in allowed}

    def _ok(self, host: str) -> bool:
        name = host.lower()
        if name.startswith("["):  # [::1]:8000
            name = name.split("]")[0] + "]"
        elif name.count(":") == 1:
            name = name.split(":")[0]
        return name in self.allowed or name.strip("[]") in self.allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.any or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host", "")
        if self._ok(host):
            await self.app(scope, receive, send)
            return
        response = problem_response(
            400,
            "Host not served",
            f"this server answers to {', '.join(sorted(self.allowed))}, not {host!r}; "
            "use one of those names, or set ATTENZIONE_ALLOWED_HOSTS",
            "bad-host",
        )
        await response(scope, receive, send)


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
