"""Direct dispatch of the inference routes: ``POST /api/v1/trace`` and ``/api/v1/compare`` go
straight to their endpoint functions, with the request body already read.

FastAPI still declares and documents those routes (OpenAPI, ``/docs``), and every other
request goes through its router as usual. What these two skip is the machinery they do not
use: route matching over every route, the dependency solver, the exit stacks, the exception
middleware and a second pass over the body, about 350 Python calls per request. That is
~0.1 ms on a warm interpreter, but a request's code runs cold (a trace, or an idle core, has
pushed it out of the CPU caches), where the same work costs 0.2-0.3 ms, a few percent of a
64-token trace (``bench/bench_api.py``). The body limit is the same ``read_body`` as every
other POST's, and exceptions are answered by the app's own exception handlers, so the
responses (status, problem+json body, headers) are those of the FastAPI route; a test
checks both paths give the same bytes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from .limits import BodyTooLarge, read_body

BodyEndpoint = Callable[[Request, bytes], Awaitable[Response]]
"""An endpoint given its request and the request's body."""


def route_path(scope: Scope) -> str:
    """The path without the app's ``root_path`` (as Starlette's router matches it)."""
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] == "/":
        return path[len(root) :]
    return path


class DirectRoutes:
    """ASGI middleware: ``POST`` to a path in ``endpoints`` reads the body (at most
    ``max_bytes``, else 413) and calls that endpoint directly."""

    def __init__(self, app: ASGIApp, endpoints: Mapping[str, BodyEndpoint], max_bytes: int) -> None:
        self.app = app
        self.endpoints = dict(endpoints)
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = (
            self.endpoints.get(route_path(scope))
            if scope["type"] == "http" and scope["method"] == "POST"
            else None
        )
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await endpoint(request, await read_body(scope, receive, self.max_bytes))
        except BodyTooLarge as exc:
            response = exc.response()
        except Exception as exc:
            handler = self._handler(scope, exc)
            if handler is None:
                raise  # a bug: ServerErrorMiddleware answers 500, as for any route
            response = await handler(request, exc)
        await response(scope, receive, send)

    @staticmethod
    def _handler(scope: Scope, exc: Exception) -> Callable[[Request, Exception], Awaitable[Response]] | None:
        """The app's handler for ``exc``, by class as Starlette looks it up; the catch-all
        ``Exception`` handler is left to ServerErrorMiddleware, as on the router path."""
        handlers = scope["app"].exception_handlers
        for cls in type(exc).__mro__:
            if cls is Exception:
                return None
            if cls in handlers:
                return handlers[cls]
        return None
