"""Request limits: body size (ASGI middleware), bounded inference concurrency and the LRU cache."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Hashable
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ProblemError, problem_response


class BodyTooLarge(Exception):
    def __init__(self, size: int, limit: int, at_least: bool) -> None:
        amount = f"at least {size}" if at_least else str(size)
        super().__init__(f"request body is {amount} bytes; the limit is {limit} bytes. Send a shorter text.")

    def response(self) -> Response:
        return problem_response(413, "Request body too large", str(self), "body-too-large")


async def read_body(scope: Scope, receive: Receive, max_bytes: int) -> bytes:
    """The whole request body, or ``BodyTooLarge`` as soon as it is known to exceed
    ``max_bytes``: from a declared Content-Length before reading, or while reading a
    chunked body."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > max_bytes:
            raise BodyTooLarge(int(value), max_bytes, at_least=False)
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > max_bytes:
            raise BodyTooLarge(size, max_bytes, at_least=True)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _media_type(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.decode("latin-1").split(";")[0].strip().lower()
    return ""


class BodyLimitMiddleware:
    """Request bodies are JSON (415 otherwise, so that another site's page cannot post a form
    or text here without a CORS preflight, which is refused) and at most ``max_bytes`` (413),
    checked before any parsing."""

    def __init__(self, app: ASGIApp, max_bytes: int, json_paths: Collection[str]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.json_paths = json_paths  # the routes that take a body (others answer 405 to a POST)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in self.json_paths:
            await self.app(scope, receive, send)
            return
        media_type = _media_type(scope)
        if media_type != "application/json":
            sent = f"Content-Type {media_type!r}" if media_type else "no Content-Type"
            response = problem_response(
                415,
                "Unsupported media type",
                f"request bodies must be JSON, sent with Content-Type: application/json; got {sent}",
                "unsupported-media-type",
            )
            await response(scope, receive, send)
            return
        try:
            body = await read_body(scope, receive, self.max_bytes)
        except BodyTooLarge as exc:
            await exc.response()(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


T = TypeVar("T")


class Saturated(ProblemError):
    def __init__(self, waited: float) -> None:
        super().__init__(
            503,
            "Server busy",
            f"all inference slots stayed busy for {waited:.1f} s; retry in a moment",
            "busy",
            headers={"Retry-After": "1"},
        )


# Responses reach tens of MB, so the cache is bounded in bytes as well as in entries.
CACHE_MAX_BYTES = 64 << 20


class InferenceRunner:
    """Runs inference in worker threads, at most ``max_concurrency`` at once, and caches
    response bytes by key (same model, text and options -> same bytes): at most
    ``cache_size`` responses and ``cache_max_bytes`` bytes.

    A request waits up to ``queue_timeout_s`` for a slot, then gets 503. Its slot stays held
    until its work has really finished, even if the request is cancelled meanwhile (a
    client that disconnects): ``to_thread.run_sync`` waits for the thread before the
    cancellation goes on."""

    def __init__(
        self,
        max_concurrency: int,
        queue_timeout_s: float,
        cache_size: int,
        cache_max_bytes: int = CACHE_MAX_BYTES,
    ) -> None:
        self.slots = anyio.CapacityLimiter(max_concurrency)
        self.queue_timeout_s = queue_timeout_s
        self.cache: OrderedDict[Hashable, bytes] = OrderedDict()
        self.cache_bytes = 0
        self.cache_size = cache_size
        self.cache_max_bytes = cache_max_bytes

    async def run(self, key: Hashable, work: Callable[[], bytes]) -> tuple[bytes, dict[str, Any]]:
        """Return (body, info); info has ``cache`` ("hit"/"miss") and ``dur_ms``."""
        if self.cache_size and key in self.cache:
            self.cache.move_to_end(key)
            return self.cache[key], {"cache": "hit", "dur_ms": 0.0}

        def timed() -> tuple[bytes, float]:
            t0 = time.perf_counter()
            return work(), (time.perf_counter() - t0) * 1000

        body, dur = await self.call(timed)
        self.remember(key, body)
        return body, {"cache": "miss", "dur_ms": dur}

    async def call(self, work: Callable[[], T]) -> T:
        """``work()`` in a worker thread under a slot, uncached."""
        started = time.perf_counter()
        try:
            self.slots.acquire_nowait()
        except anyio.WouldBlock:
            try:
                with anyio.fail_after(self.queue_timeout_s):
                    await self.slots.acquire()
            except TimeoutError:
                raise Saturated(time.perf_counter() - started) from None
        try:
            return await anyio.to_thread.run_sync(work)
        finally:
            self.slots.release()

    def remember(self, key: Hashable, body: bytes) -> None:
        """Cache ``body``, then drop the least recently used until both limits hold."""
        if not self.cache_size or len(body) > self.cache_max_bytes:
            return
        old = self.cache.pop(key, None)  # two identical requests may both have missed
        self.cache_bytes += len(body) - (len(old) if old is not None else 0)
        self.cache[key] = body
        while len(self.cache) > self.cache_size or self.cache_bytes > self.cache_max_bytes:
            self.cache_bytes -= len(self.cache.popitem(last=False)[1])
