"""The inference routes are dispatched directly (app/dispatch.py), past FastAPI's router. They
must answer exactly as the router would: same status, bytes and headers, for successes and for
every kind of error; and everything else must still reach the router."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from app.dispatch import DirectRoutes, route_path
from app.main import create_app
from app.settings import Settings

TRACE = "/api/v1/trace"
COMPARE = "/api/v1/compare"

LONG = "word " * 90  # over the tiny Transformer's 64 tokens

REQUESTS: list[tuple[str, str, Any]] = [
    ("POST", TRACE, {"model": "transformer", "text": "The cat sat."}),
    ("POST", TRACE, {"model": "lstm", "text": "The cat sat.", "encoding": "f16", "layers": [1]}),
    ("POST", TRACE, {"model": "transformer", "text": "Hi", "encoding": "u8", "heads": [0]}),
    ("POST", COMPARE, {"models": ["transformer", "gru", "rnn"], "text": "A dog ran."}),
    ("POST", TRACE, {"model": "gpt-5", "text": "Hi"}),  # 404
    ("POST", TRACE, {"model": "transformer", "text": "  "}),  # 422 empty
    ("POST", TRACE, {"model": "transformer", "text": "a" * 41}),  # 413 over max_text_chars
    ("POST", TRACE, {"model": "transformer", "text": LONG[:40]}),  # fits
    ("POST", TRACE, {"model": "transformer", "text": "Hi", "layers": [9]}),  # 422 range
    ("POST", TRACE, {"model": "transformer", "text": "Hi", "parts": ["gates"]}),  # 422 part
    ("POST", TRACE, {"model": "transformer", "text": 3}),  # 422 type
    ("POST", TRACE, b'{"model": "transformer", "text": "Hi"'),  # 422 malformed JSON
    ("POST", TRACE, b'{"model": "transformer", "text": "\\ud800"}'),  # 422 lone surrogate
    ("POST", COMPARE, {"models": ["lstm", "lstm"], "text": "Hi"}),  # 422 duplicates
    ("POST", COMPARE, {"models": ["lstm"], "text": "Hi"}),  # 422 too few
    ("GET", TRACE, None),  # 405, not dispatched
    ("POST", TRACE + "/", {"model": "transformer", "text": "Hi"}),  # not dispatched
    ("POST", "/api/v1/models", {}),  # 405, not dispatched
    ("POST", TRACE, {"model": "transformer", "text": "a" * 70_000}),  # 413 body over 64 KB
    ("POST", COMPARE, {"models": ["lstm", "rnn"], "text": "a" * 70_000}),  # 413
]

COMPARED_HEADERS = ("content-type", "content-length", "x-cache", "retry-after", "allow", "location")


@pytest.fixture(scope="module")
def both(checkpoint_dir):
    """The same app twice: inference routes dispatched directly, and through the router."""
    settings = Settings(models_dir=checkpoint_dir, cache_size=0, max_text_chars=40)
    with (
        TestClient(create_app(settings), raise_server_exceptions=False) as direct,
        TestClient(create_app(settings, direct_dispatch=False), raise_server_exceptions=False) as routed,
    ):
        yield direct, routed


def send(client: TestClient, method: str, path: str, body: Any):
    if isinstance(body, bytes):
        return client.request(method, path, content=body, headers={"content-type": "application/json"})
    return client.request(method, path, json=body, follow_redirects=False)


@pytest.mark.parametrize(("method", "path", "body"), REQUESTS)
def test_direct_dispatch_answers_exactly_as_the_router(both, method, path, body):
    direct, routed = both
    a, b = send(direct, method, path, body), send(routed, method, path, body)
    assert a.status_code == b.status_code, (a.text, b.text)
    assert a.status_code < 500
    assert a.content == b.content
    for name in COMPARED_HEADERS:
        assert a.headers.get(name) == b.headers.get(name), name
    assert a.headers["content-security-policy"] == b.headers["content-security-policy"]
    assert "server-timing" in a.headers or a.status_code != 200


def test_the_requests_cover_successes_and_client_errors(both):
    direct, _ = both
    statuses = {send(direct, *r).status_code for r in REQUESTS}
    assert {200, 404, 405, 413, 422} <= statuses
    big = [r for r in REQUESTS if isinstance(r[2], dict) and len(str(r[2].get("text"))) > 60_000]
    assert {send(direct, *r).json()["type"] for r in big} == {"urn:attenzione:problem:body-too-large"}


def test_unavailable_model_is_503_on_both_paths(corrupt_dir):
    settings = Settings(models_dir=corrupt_dir, cache_size=0)
    body = {"model": "gru", "text": "Hi"}
    with (
        TestClient(create_app(settings)) as direct,
        TestClient(create_app(settings, direct_dispatch=False)) as routed,
    ):
        a, b = direct.post(TRACE, json=body), routed.post(TRACE, json=body)
    assert a.status_code == b.status_code == 503
    assert a.content == b.content and a.headers["retry-after"] == b.headers["retry-after"]


def test_a_bug_is_a_500_problem_on_both_paths_and_the_app_keeps_serving(both, monkeypatch, problem):
    import app.routes.api as api

    def broken(*args: Any) -> Any:
        raise RuntimeError("injected bug")

    body = {"model": "transformer", "text": "Hi"}
    with monkeypatch.context() as patch:
        patch.setattr(api, "get_model", broken)
        for client in both:
            assert problem(client.post(TRACE, json=body), 500)["type"].endswith("internal")
    for client in both:
        assert client.post(TRACE, json=body).status_code == 200


# --- the middleware on its own ---------------------------------------------------------------


def run_asgi(
    app,
    method: str,
    path: str,
    root_path: str = "",
    chunks: list[bytes] | None = None,
    declared: int | None = None,
) -> tuple[int, bytes]:
    """Call ``app`` with a request whose body arrives in ``chunks``; ``declared`` is its
    Content-Length header, if any."""
    pending = list(chunks or [b""])
    scope = {
        "type": "http",
        "method": method,
        "path": root_path + path,
        "root_path": root_path,
        "headers": [] if declared is None else [(b"content-length", str(declared).encode())],
        "query_string": b"",
        "app": type("App", (), {"exception_handlers": {KeyError: key_error_handler}})(),
    }
    out: dict[str, Any] = {"body": b""}

    async def receive():
        if not pending:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": pending.pop(0), "more_body": len(pending) > 0}

    async def sendmsg(message):
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
        else:
            out["body"] += message.get("body", b"")

    asyncio.run(app(scope, receive, sendmsg))
    return out["status"], out["body"]


async def key_error_handler(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(f"handled {exc}", status_code=418)


async def inner(scope, receive, send):
    await PlainTextResponse("router")(scope, receive, send)


async def ok(request: Request, body: bytes) -> Response:
    return PlainTextResponse(f"direct {request.url.path} {body.decode()}")


async def raises_key_error(request: Request, body: bytes) -> Response:
    raise KeyError("k")


async def crashes(request: Request, body: bytes) -> Response:
    raise RuntimeError("bug")


def direct(endpoint, max_bytes: int = 1024) -> DirectRoutes:
    return DirectRoutes(inner, {"/hot": endpoint}, max_bytes=max_bytes)


def test_only_post_to_a_listed_path_is_dispatched_with_its_body():
    app = direct(ok)
    assert run_asgi(app, "POST", "/hot", chunks=[b"ab", b"cd"]) == (200, b"direct /hot abcd")
    assert run_asgi(app, "GET", "/hot") == (200, b"router")
    assert run_asgi(app, "POST", "/hot/") == (200, b"router")
    assert run_asgi(app, "POST", "/cold") == (200, b"router")


def test_a_dispatched_body_over_the_limit_is_413_declared_or_chunked():
    app = direct(ok, max_bytes=3)
    assert run_asgi(app, "POST", "/hot", chunks=[b"abc"]) == (200, b"direct /hot abc")
    status, body = run_asgi(app, "POST", "/hot", chunks=[b"ab", b"cd"])
    assert status == 413 and b"at least 4 bytes" in body and b"limit is 3 bytes" in body
    status, body = run_asgi(app, "POST", "/hot", chunks=[b"abcd"], declared=4)
    assert status == 413 and b"body is 4 bytes" in body


def test_paths_are_matched_below_the_root_path():
    assert run_asgi(direct(ok), "POST", "/hot", root_path="/prefix") == (200, b"direct /prefix/hot ")
    assert route_path({"path": "/prefixed/hot", "root_path": "/prefix"}) == "/prefixed/hot"


def test_exceptions_go_to_the_apps_handlers_and_unhandled_ones_propagate():
    assert run_asgi(direct(raises_key_error), "POST", "/hot") == (418, b"handled 'k'")
    with pytest.raises(RuntimeError, match="bug"):  # left to ServerErrorMiddleware, as on the router
        run_asgi(direct(crashes), "POST", "/hot")
