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


def run_asgi(app, method: str, path: str, root_path: str = "") -> tuple[int, bytes]:
    scope = {
        "type": "http",
        "method": method,
        "path": root_path + path,
        "root_path": root_path,
        "headers": [],
        "query_string": b"",
        "app": type("App", (), {"exception_handlers": {KeyError: key_error_handler}})(),
    }
    out: dict[str, Any] = {"body": b""}

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

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


async def ok(request: Request) -> Response:
    return PlainTextResponse("direct " + request.url.path)


async def raises_key_error(request: Request) -> Response:
    raise KeyError("k")


async def crashes(request: Request) -> Response:
    raise RuntimeError("bug")


def test_only_post_to_a_listed_path_is_dispatched():
    app = DirectRoutes(inner, {"/hot": ok})
    assert run_asgi(app, "POST", "/hot") == (200, b"direct /hot")
    assert run_asgi(app, "GET", "/hot") == (200, b"router")
    assert run_asgi(app, "POST", "/hot/") == (200, b"router")
    assert run_asgi(app, "POST", "/cold") == (200, b"router")


def test_paths_are_matched_below_the_root_path():
    app = DirectRoutes(inner, {"/hot": ok})
    assert run_asgi(app, "POST", "/hot", root_path="/prefix") == (200, b"direct /prefix/hot")
    assert route_path({"path": "/prefixed/hot", "root_path": "/prefix"}) == "/prefixed/hot"


def test_exceptions_go_to_the_apps_handlers_and_unhandled_ones_propagate():
    assert run_asgi(DirectRoutes(inner, {"/hot": raises_key_error}), "POST", "/hot") == (418, b"handled 'k'")
    with pytest.raises(RuntimeError, match="bug"):  # left to ServerErrorMiddleware, as on the router
        run_asgi(DirectRoutes(inner, {"/hot": crashes}), "POST", "/hot")
