"""What a hostile client cannot do: ask for an unbounded response, hold connections open by
sending slowly or not reading, post from another site's page, name another host, slip
coerced types past validation, or stop the app with one bad model; and every response,
a 500 included, carries the security headers."""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from safetensors.numpy import load_file, save_file

from app.main import create_app
from app.settings import Settings
from models.checkpoint import CHECKPOINT_DIR

TRACE = "/api/v1/trace"


# --- the response budget ---------------------------------------------------------------------


def test_the_reported_memory_exhaustion_request_is_refused_before_any_work(problem):
    """The 4 KB request that built a 213 MB response: now 413, naming what to drop."""
    app = create_app(Settings(models_dir=CHECKPOINT_DIR))
    body = {
        "models": ["lstm", "gru", "rnn"],
        "text": " the" * 990,
        "parts": ["h", "c", "gates", "predictions", "logits"],
        "decimals": 8,
        "top_k": 50,
    }
    with TestClient(app, base_url="http://localhost") as client:
        calls = []
        for name in body["models"]:
            model = client.app.state.registry.entries[name].model
            model.trace = lambda *a, **k: calls.append(1)  # would record any inference
        r = client.post("/api/v1/compare", json=body)
    detail = problem(r, 413)
    assert len(json.dumps(body)) < 5000 and calls == []
    assert detail["estimate"] > detail["limit"] == 32 << 20
    for hint in ("logits", "f16", "fewer decimals", "select layers"):
        assert hint in detail["detail"]


def test_estimate_is_an_upper_bound_of_the_real_response(client):
    from app.budget import estimate_bytes
    from app.serialize import Selection

    registry = client.app.state.registry
    for name in ("transformer", "lstm", "gru", "rnn"):
        model = registry.entries[name].model
        for encoding, decimals in (("json", 8), ("json", 0), ("f16", 4), ("u8", 4)):
            parts = list(model.spec.parts)
            r = client.post(
                TRACE,
                json={
                    "model": name,
                    "text": "An upper bound, not a guess.",
                    "parts": parts,
                    "encoding": encoding,
                    "decimals": decimals,
                    "top_k": 50,
                },
            )
            assert r.status_code == 200, r.text
            sel = Selection(tuple(parts), encoding=encoding, decimals=decimals)
            estimate = estimate_bytes(model.spec, r.json()["n_tokens"], sel, 50)
            assert len(r.content) <= estimate < 4 * len(r.content) + 8192, (name, encoding)


def test_a_small_budget_refuses_only_what_exceeds_it(make_client, checkpoint_dir, problem):
    client = make_client(checkpoint_dir, max_response_bytes=1 << 16)
    assert client.post(TRACE, json={"model": "lstm", "text": "Small enough."}).status_code == 200
    body = {"model": "lstm", "text": "Logits are T x vocabulary floats.", "parts": ["logits"]}
    assert "logits" in problem(client.post(TRACE, json=body), 413)["detail"]


def test_bytes_being_sent_are_bounded_and_freed_when_a_reader_is_cut_off(checkpoint_dir, real_http, problem):
    """A client that asks for a large response and reads nothing holds its bytes; while it
    does, another large response is refused (503), and once the server's write deadline
    cuts the stalled client off, the next one is served."""
    env = {
        "ATTENZIONE_MAX_PENDING_BYTES": str(1 << 20),
        "ATTENZIONE_WRITE_TIMEOUT_S": "1",
        "ATTENZIONE_CACHE_SIZE": "0",
    }
    big = {"model": "lstm", "text": "word " * 100, "parts": ["logits"], "decimals": 8}
    with real_http(checkpoint_dir, **env) as (url, _):
        port = int(url.rsplit(":", 1)[1])
        stalled = socket.create_connection(("127.0.0.1", port))
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        payload = json.dumps(big).encode()
        stalled.sendall(
            b"POST /api/v1/trace HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload)
        )
        refused = httpx.post(url + TRACE, json={**big, "text": "other " * 100}, timeout=30)
        problem(refused, 503)
        deadline = time.monotonic() + 15
        while (
            r := httpx.post(url + TRACE, json={**big, "text": "third " * 100}, timeout=30)
        ).status_code == 503:
            assert time.monotonic() < deadline, "the stalled reader was never cut off"
            time.sleep(0.2)  # waiting out the server's write deadline, which the test set to 1 s
        assert r.status_code == 200
        stalled.close()


# --- slow clients over real HTTP -------------------------------------------------------------


HEAD = b"POST /api/v1/trace HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"


def dribble(port: int, first: bytes, then: bytes, closed: list[float], started: float) -> None:
    """Send ``first`` at once, then ``then`` a byte every 0.25 s, until the server closes the
    connection; record when it did."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.settimeout(30)
        try:
            s.sendall(first)
            for byte in then:
                s.sendall(bytes([byte]))
                time.sleep(0.25)  # the client's behaviour under test: one byte at a time
            s.recv(1)
        except OSError:
            pass
        closed.append(time.monotonic() - started)


@pytest.mark.parametrize(
    ("first", "then"),
    [(b"", HEAD * 10), (HEAD + b"Content-Length: 1000\r\n\r\n", b" " * 100)],
    ids=["slow head", "slow body"],
)
def test_twenty_slow_clients_are_cut_off_while_others_are_served(checkpoint_dir, real_http, first, then):
    env = {"ATTENZIONE_HEAD_TIMEOUT_S": "1.5", "ATTENZIONE_BODY_TIMEOUT_S": "1.5"}
    with real_http(checkpoint_dir, **env) as (url, _):
        port = int(url.rsplit(":", 1)[1])
        closed: list[float] = []
        started = time.monotonic()
        threads = [
            threading.Thread(target=dribble, args=(port, first, then, closed, started)) for _ in range(20)
        ]
        for t in threads:
            t.start()
        served = [
            httpx.post(url + TRACE, json={"model": "rnn", "text": f"meanwhile {i}"}, timeout=30)
            for i in range(5)
        ]
        for t in threads:
            t.join(30)
        assert all(r.status_code == 200 for r in served)
        assert len(closed) == 20 and max(closed) < 1.5 + 4, closed  # cut at the deadline, not at the end


def test_sigterm_with_a_slow_client_exits_within_the_graceful_timeout(checkpoint_dir, real_http):
    env = {"ATTENZIONE_GRACEFUL_SHUTDOWN_S": "2", "ATTENZIONE_BODY_TIMEOUT_S": "60"}
    with real_http(checkpoint_dir, **env) as (url, proc):
        port = int(url.rsplit(":", 1)[1])
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(
            b"POST /api/v1/trace HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n{"
        )  # a request whose body never ends
        assert httpx.get(url + "/healthz").status_code == 200
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        assert time.monotonic() - t0 < 2 + 4
        s.close()


# --- one bad model never stops the app -------------------------------------------------------


def _damage(folder: Path, name: str, how: str) -> None:
    card_path, weights_path = folder / f"{name}.json", folder / f"{name}.safetensors"
    card = json.loads(card_path.read_text())
    if how == "nested":
        card_path.write_text('{"arch": "lstm", "config": ' + "[" * 50_000 + "]" * 50_000 + "}")
    elif how == "absurd":
        card["config"]["d_hidden"] = 10**9
        card_path.write_text(json.dumps(card))
    elif how == "nan":
        weights = load_file(str(weights_path))
        first = next(iter(weights))
        weights[first] = np.full_like(weights[first], np.nan)
        save_file(weights, str(weights_path))
    elif how == "shapes":
        weights = load_file(str(weights_path))
        first = next(iter(weights))
        weights[first] = np.zeros((3, 3), weights[first].dtype)
        save_file(weights, str(weights_path))


@pytest.mark.parametrize("how", ["nested", "absurd", "nan", "shapes"])
def test_each_fault_makes_only_its_model_unavailable(checkpoint_dir, tmp_path, make_client, how):
    folder = tmp_path / "models"
    shutil.copytree(checkpoint_dir, folder)
    _damage(folder, "gru", how)
    client = make_client(folder)
    models = {m["name"]: m for m in client.get("/api/v1/models").json()["models"]}
    assert not models["gru"]["available"]
    assert [n for n, m in models.items() if m["available"]] == ["transformer", "lstm", "rnn"]
    reason = models["gru"]["reason"]
    assert reason and str(tmp_path) not in reason and "/" not in reason.split(":")[0]
    ready = client.get("/readyz").json()
    assert str(tmp_path) not in json.dumps(ready)
    r = client.post(TRACE, json={"model": "gru", "text": "Hi"})
    assert r.status_code == 503 and str(tmp_path) not in r.text
    assert client.post(TRACE, json={"model": "lstm", "text": "Still here."}).status_code == 200


def test_no_response_names_a_server_path(corrupt_dir, make_client):
    client = make_client(corrupt_dir)
    for r in (
        client.get("/readyz"),
        client.get("/api/v1/models"),
        client.post(TRACE, json={"model": "gru", "text": "x"}),
    ):
        assert str(corrupt_dir) not in r.text and "/tmp" not in r.text


# --- host, origin and content type -----------------------------------------------------------


@pytest.mark.parametrize("host", ["evil.example:666", "evil.example", "127.0.0.2", "localhost.evil.example"])
def test_other_host_names_are_refused(client, problem, host):
    r = client.get("/", headers={"host": host})
    detail = problem(r, 400)["detail"]
    assert host in detail and "ATTENZIONE_ALLOWED_HOSTS" in detail
    assert "evil" not in r.headers.get("location", "")


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000"])
def test_local_host_names_are_served(client, host):
    assert client.get("/healthz", headers={"host": host}).status_code == 200


def test_allowed_hosts_setting_and_star(make_client, checkpoint_dir):
    client = make_client(checkpoint_dir, allowed_hosts="attenzione.example")
    assert client.get("/healthz", headers={"host": "attenzione.example"}).status_code == 200
    assert client.get("/healthz", headers={"host": "other.example"}).status_code == 400
    anything = make_client(checkpoint_dir, allowed_hosts=["*"])
    assert anything.get("/healthz", headers={"host": "other.example"}).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "text/plain"},
        {"content-type": "application/x-www-form-urlencoded"},
        {"content-type": "multipart/form-data; boundary=x"},
        {},
    ],
)
def test_bodies_not_sent_as_json_are_415(client, problem, headers):
    content = json.dumps({"model": "rnn", "text": "Hi"}).encode()
    r = client.post(TRACE, content=content, headers=headers)
    assert "application/json" in problem(r, 415)["detail"]


def test_json_with_a_charset_is_accepted(client):
    content = json.dumps({"model": "rnn", "text": "Hi"}).encode()
    r = client.post(TRACE, content=content, headers={"content-type": "Application/JSON; charset=utf-8"})
    assert r.status_code == 200


def test_cross_origin_preflight_is_refused(client):
    r = client.options(
        TRACE,
        headers={
            "origin": "http://evil.example",
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        },
    )
    assert r.status_code >= 400
    assert not any(h.startswith("access-control-allow") for h in r.headers)


# --- strict input ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [True, "3", 2.5, None])
def test_integers_must_be_integers(client, problem, value):
    body = problem(client.post(TRACE, json={"model": "rnn", "text": "Hi", "top_k": value}), 422)
    assert "top_k" in body["detail"]


def test_an_integral_number_is_an_integer_as_json_schema_says(client):
    """JSON has one number type; JSON Schema's "integer" includes 3.0, so it is 3 here."""
    r = client.post(TRACE, json={"model": "rnn", "text": "Hi", "top_k": 3.0})
    assert r.status_code == 200 and len(r.json()["predictions"]["top_ids"][0]) == 3


@pytest.mark.parametrize("field", ["parts", "layers", "heads"])
def test_empty_selections_are_422(client, problem, field):
    assert (
        field
        in problem(client.post(TRACE, json={"model": "transformer", "text": "Hi", field: []}), 422)["detail"]
    )


def test_schema_states_what_the_server_enforces(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    models = schemas["CompareRequest"]["properties"]["models"]
    assert models["uniqueItems"] is True and (models["minItems"], models["maxItems"]) == (2, 4)
    trace = schemas["TraceRequest"]["properties"]
    assert trace["text"]["minLength"] == 1 and trace["text"]["pattern"] == r"\S"
    assert trace["parts"]["anyOf"][0]["minItems"] == 1
    assert trace["layers"]["anyOf"][0]["items"]["minimum"] == 0


def test_duplicate_models_are_422(client, problem):
    body = problem(client.post("/api/v1/compare", json={"models": ["rnn", "rnn"], "text": "Hi"}), 422)
    assert "distinct" in body["detail"]


# --- headers on every response ---------------------------------------------------------------


def test_an_unhandled_error_is_a_problem_500_with_the_security_headers(checkpoint_dir, caplog):
    app = create_app(Settings(models_dir=checkpoint_dir))

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, base_url="http://localhost", raise_server_exceptions=False) as client:
        r = client.get("/boom")
    assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "a bug" not in r.text and "logged" in r.json()["detail"]
    assert any("unhandled error" in rec.getMessage() for rec in caplog.records)


@pytest.mark.parametrize("path", ["/", "/docs", "/redoc", "/openapi.json", "/api/v1/models", "/nowhere"])
def test_every_response_carries_the_csp(client, path):
    assert "script-src 'self'" in client.get(path).headers["content-security-policy"], path


def test_docs_pages_load_nothing_from_other_origins_and_run_no_inline_script(client):
    for path in ("/docs", "/redoc"):
        page = client.get(path).text
        assert "http://" not in page and "https://" not in page
        assert "<script>" not in page  # every script has a src: the CSP forbids inline ones
        for src in re.findall(r'(?:src|href)="([^"]+)"', page):
            assert client.get(src).status_code == 200, src
