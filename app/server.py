"""The HTTP server: uvicorn, with the deadlines it lacks and the limits from the settings.

uvicorn closes idle keep-alive connections and bounds graceful shutdown, but it waits for a
request's head and body as long as a client takes to send them, and keeps a response in its
write buffer as long as the client does not read it. ``DeadlineProtocol`` aborts such
connections: the transport drops what it holds and the app sees a disconnect.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .settings import Settings

log = logging.getLogger("attenzione.server")


@dataclass(frozen=True)
class Deadlines:
    head_s: float  # from a request's first byte (or the connection's opening) to its last header
    body_s: float  # from the last header to the body's last byte
    write_s: float  # longest time the write buffer may stay full (the client reads nothing)


class DeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with a deadline for each request's head and body and for
    a stalled response; past one the connection is aborted."""

    def __init__(self, *args: Any, deadlines: Deadlines, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadlines = deadlines
        self._reading: asyncio.TimerHandle | None = None
        self._writing: asyncio.TimerHandle | None = None

    def _abort(self, what: str) -> None:
        log.info("closing a connection from %s: %s", self.client, what)
        self.transport.abort()

    def _read_deadline(self, seconds: float | None, what: str = "") -> None:
        if self._reading is not None:
            self._reading.cancel()
        self._reading = None if seconds is None else self.loop.call_later(seconds, self._abort, what)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._read_deadline(self.deadlines.head_s, "no request head in time")

    def connection_lost(self, exc: Exception | None) -> None:
        self._read_deadline(None)
        if self._writing is not None:
            self._writing.cancel()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._read_deadline(self.deadlines.head_s, "request head too slow")

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._read_deadline(self.deadlines.body_s, "request body too slow")

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._read_deadline(None)

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._writing is None:
            self._writing = self.loop.call_later(self.deadlines.write_s, self._abort, "response not read")

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._writing is not None:
            self._writing.cancel()
            self._writing = None


def config(app: Any, settings: Settings, host: str, port: int, **extra: Any) -> uvicorn.Config:
    """The uvicorn configuration for ``app`` (an app or an import string) under ``settings``."""
    deadlines = Deadlines(settings.head_timeout_s, settings.body_timeout_s, settings.write_timeout_s)
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=functools.partial(DeadlineProtocol, deadlines=deadlines),  # type: ignore[arg-type]
        timeout_keep_alive=settings.keep_alive_s,
        timeout_graceful_shutdown=settings.graceful_shutdown_s,
        limit_concurrency=settings.max_connections,
        log_level=settings.log_level,
        **extra,
    )


def serve(settings: Settings, host: str, port: int, reload: bool = False) -> None:
    if reload:  # a development server: uvicorn's own reloader needs an import string
        uvicorn.run("app.main:app", host=host, port=port, reload=True, log_level=settings.log_level)
        return
    uvicorn.Server(config("app.main:app", settings, host, port)).run()
