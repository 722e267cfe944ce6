"""Request limits: body size (ASGI middleware), bounded inference concurrency and the LRU cache."""

from __future__ import annotations

import asyncio
import ctypes
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

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


class BodyLimitMiddleware:
    """Reject request bodies over ``max_bytes`` with 413, before any parsing."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
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


M_TOP_PAD, M_MMAP_THRESHOLD = -2, -3  # glibc mallopt parameters


def keep_freed_memory() -> bool:
    """Stop glibc from giving freed tensor memory back to the OS after each trace.

    A pool thread allocates from its own malloc arena, which glibc trims as soon as a trace
    frees its tensors; the next trace then page-faults the memory back in (about 1000 minor
    faults, ~25% slower than the same trace on the main thread, at 64 tokens). Keeping 64 MB
    of slack per arena and serving blocks under 32 MB from the heap avoids that. Returns
    False where it does not apply (not glibc).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_TOP_PAD, 64 << 20) and libc.mallopt(M_MMAP_THRESHOLD, 32 << 20))
    except (OSError, AttributeError):
        return False


class Saturated(ProblemError):
    def __init__(self, waited: float) -> None:
        super().__init__(
            503,
            "Server busy",
            f"all inference slots stayed busy for {waited:.1f} s; retry in a moment",
            "busy",
            headers={"Retry-After": "1"},
        )


# Responses reach tens of MB (a 4-model compare with logits at 256 tokens is ~75 MB), so
# the cache is bounded in bytes as well as in entries.
CACHE_MAX_BYTES = 256 << 20


def _settle(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if future.cancelled():  # the request went away while its work ran
        return
    if exc is None:
        future.set_result(result)
    else:
        future.set_exception(exc)


def _run_then_settle(
    loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], work: Callable[[], Any]
) -> None:
    """In a pool thread: run ``work`` and hand its result (or exception) straight to the
    event loop. ``run_in_executor`` would chain a concurrent future to an asyncio one and
    copy the state across; after a trace has evicted the CPU caches that chain costs
    ~0.1 ms of a 64-token request (interleaved A/B)."""
    try:
        result = work()
    except BaseException as exc:  # re-raised in the request that awaits it
        loop.call_soon_threadsafe(_settle, future, None, exc)
    else:
        loop.call_soon_threadsafe(_settle, future, result, None)


class InferenceRunner:
    """Runs inference in the thread pool, at most ``max_concurrency`` at once, and caches
    response bytes by key (same model, text and options -> same bytes): at most
    ``cache_size`` responses and ``cache_max_bytes`` bytes."""

    def __init__(
        self,
        max_concurrency: int,
        queue_timeout_s: float,
        cache_size: int,
        cache_max_bytes: int = CACHE_MAX_BYTES,
    ) -> None:
        keep_freed_memory()
        # A pool of its own, one thread per slot: cheaper per call than anyio's shared pool
        # (no capacity limiter or cancel scope), and inference never waits behind other work.
        self.pool = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="attenzione-infer")
        self._slots = asyncio.Semaphore(max_concurrency)
        self._timeout = queue_timeout_s
        self._cache: OrderedDict[Hashable, bytes] = OrderedDict()
        self._cache_bytes = 0
        self.cache_size = cache_size
        self.cache_max_bytes = cache_max_bytes
        self.max_concurrency = max_concurrency

    async def run(self, key: Hashable, work: Callable[[], bytes]) -> tuple[bytes, dict[str, Any]]:
        """Return (body, info); info has ``cache`` ("hit"/"miss") and ``dur_ms``."""
        if self.cache_size and key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key], {"cache": "hit", "dur_ms": 0.0}
        started = time.perf_counter()
        if self._slots.locked():
            try:
                async with asyncio.timeout(self._timeout):
                    await self._slots.acquire()
            except TimeoutError:
                raise Saturated(time.perf_counter() - started) from None
        else:
            await self._slots.acquire()  # a slot is free: returns at once
        try:
            t0 = time.perf_counter()
            loop = asyncio.get_running_loop()
            done: asyncio.Future[bytes] = loop.create_future()
            self.pool.submit(_run_then_settle, loop, done, work)
            body = await done
            dur = (time.perf_counter() - t0) * 1000
        finally:
            self._slots.release()
        self._remember(key, body)
        return body, {"cache": "miss", "dur_ms": dur}

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _remember(self, key: Hashable, body: bytes) -> None:
        """Cache ``body``, then drop the least recently used until both limits hold."""
        if not self.cache_size or len(body) > self.cache_max_bytes:
            return
        old = self._cache.pop(key, None)  # two identical requests may both have missed
        self._cache_bytes += len(body) - (len(old) if old is not None else 0)
        self._cache[key] = body
        while len(self._cache) > self.cache_size or self._cache_bytes > self.cache_max_bytes:
            self._cache_bytes -= len(self._cache.popitem(last=False)[1])
