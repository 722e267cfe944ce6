"""Limits that keep the server up: bounded inference concurrency (503 + Retry-After when
saturated), inference off the event loop, the response cache, and the body-size limit on
real HTTP (declared and chunked)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import httpx
import pytest

from app.limits import InferenceRunner, Saturated
from app.main import create_app
from app.settings import Settings
from models.errors import TextError

TRACE = "/api/v1/trace"


class Gate:
    """Holds one registry model's traces at their start until released: a stand-in for a
    long inference that the test controls by events, not by time. ``order`` records what
    happened, in order."""

    def __init__(self, app, name: str = "transformer") -> None:
        self.app = app
        self.started, self.release = threading.Event(), threading.Event()
        self.order: list[str] = []
        model = app.state.registry.entries[name].model
        real = model.trace

        def held_trace(*args, **kwargs):
            self.order.append(f"{name} started")
            self.started.set()
            assert self.release.wait(30), "the test never released the trace"
            return real(*args, **kwargs)

        model.trace = held_trace  # an instance attribute shadows the method for this app only

    def record(self, name: str) -> None:
        """Record when ``name``'s traces start, too."""
        model = self.app.state.registry.entries[name].model
        real = model.trace

        def recorded_trace(*args, **kwargs):
            self.order.append(f"{name} started")
            return real(*args, **kwargs)

        model.trace = recorded_trace

    def open(self) -> None:
        self.order.append("released")
        self.release.set()


def server_with_gate(checkpoint_dir, serve, queue_timeout_s: float, **settings) -> tuple[str, Gate]:
    """A real server with one inference slot and a held Transformer."""
    app = create_app(
        Settings(
            models_dir=checkpoint_dir,
            max_concurrency=1,
            queue_timeout_s=queue_timeout_s,
            **{"cache_size": 0, **settings},
        )
    )
    url = serve(app)
    return url, Gate(app)


@pytest.fixture
def held_server(checkpoint_dir, serve) -> Iterator[tuple[str, Gate]]:
    """One slot, a 50 ms queue, a held Transformer (released at the end in any case)."""
    url, gate = server_with_gate(checkpoint_dir, serve, 0.05)
    yield url, gate
    gate.release.set()


def post_in_background(url: str, body: dict, timeout: float = 30) -> tuple[threading.Thread, list]:
    out: list = []

    def post() -> None:
        try:
            out.append(httpx.post(url + TRACE, json=body, timeout=timeout))
        except httpx.HTTPError as exc:
            out.append(exc)

    thread = threading.Thread(target=post)
    thread.start()
    return thread, out


def test_saturated_server_answers_503_with_retry_after(held_server, problem):
    url, gate = held_server
    thread, first = post_in_background(url, {"model": "transformer", "text": "held one"})
    assert gate.started.wait(10)
    r = httpx.post(url + TRACE, json={"model": "lstm", "text": "second"}, timeout=30)
    body = problem(r, 503)
    assert r.headers["retry-after"] == "1"
    assert "busy" in body["detail"]
    assert not gate.release.is_set()  # refused while the first still held the slot
    gate.open()
    thread.join(30)
    assert first[0].status_code == 200


def test_server_keeps_serving_after_being_saturated(held_server):
    url, gate = held_server
    thread, _ = post_in_background(url, {"model": "transformer", "text": "held one"})
    assert gate.started.wait(10)
    assert httpx.post(url + TRACE, json={"model": "lstm", "text": "x"}, timeout=30).status_code == 503
    gate.open()
    thread.join(30)
    r = httpx.post(url + TRACE, json={"model": "lstm", "text": "after the storm"}, timeout=30)
    assert r.status_code == 200


def test_cache_hits_skip_the_queue_even_when_saturated(checkpoint_dir, serve):
    url, gate = server_with_gate(checkpoint_dir, serve, 0.05, cache_size=8)
    cached = {"model": "gru", "text": "cached"}
    assert httpx.post(url + TRACE, json=cached).status_code == 200
    thread, _ = post_in_background(url, {"model": "transformer", "text": "held one"})
    assert gate.started.wait(10)
    r = httpx.post(url + TRACE, json=cached)
    assert (r.status_code, r.headers["x-cache"]) == (200, "hit")
    gate.open()
    thread.join(30)


def test_inference_runs_off_the_event_loop(held_server):
    """While a (blocking) trace is held, the event loop still answers /healthz."""
    url, gate = held_server
    thread, _ = post_in_background(url, {"model": "transformer", "text": "held one"})
    assert gate.started.wait(10)
    assert httpx.get(url + "/healthz", timeout=10).status_code == 200
    assert thread.is_alive() and not gate.release.is_set()  # the trace was still held
    gate.open()
    thread.join(30)


def test_a_client_that_gives_up_keeps_its_slot_until_its_work_ends(held_server, problem):
    """The client disconnects while its trace is held: the slot stays taken (a new request
    gets 503) until the abandoned trace really ends."""
    url, gate = held_server
    with pytest.raises(httpx.TimeoutException):
        httpx.post(url + TRACE, json={"model": "transformer", "text": "held one"}, timeout=0.5)
    assert gate.started.is_set()
    problem(httpx.post(url + TRACE, json={"model": "lstm", "text": "too soon"}, timeout=30), 503)
    gate.open()


def test_after_a_client_gives_up_the_next_request_runs_once_the_work_ends(checkpoint_dir, serve, caplog):
    """With a long queue, the next request waits for the abandoned trace's slot and runs
    right after it; nothing is logged as an error."""
    url, gate = server_with_gate(checkpoint_dir, serve, 30)
    gate.record("lstm")
    with caplog.at_level("WARNING"):
        with pytest.raises(httpx.TimeoutException):
            httpx.post(url + TRACE, json={"model": "transformer", "text": "held one"}, timeout=0.5)
        thread, out = post_in_background(url, {"model": "lstm", "text": "after the client left"})
        gate.open()
        thread.join(30)
    assert out[0].status_code == 200
    assert gate.order == ["transformer started", "released", "lstm started"]
    assert [rec.getMessage() for rec in caplog.records if rec.levelname in ("ERROR", "CRITICAL")] == []


# --- cache ----------------------------------------------------------------------------------


def test_same_request_twice_gives_identical_bytes_and_a_cache_hit(make_client, checkpoint_dir):
    client = make_client(checkpoint_dir, cache_size=8)
    body = {"model": "transformer", "text": "Same again.", "layers": [0]}
    first, second = client.post(TRACE, json=body), client.post(TRACE, json=body)
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("miss", "hit")
    assert first.content == second.content


@pytest.mark.parametrize(
    "change",
    [
        {"layers": [1]},
        {"heads": [0]},
        {"parts": ["attention"]},
        {"top_k": 3},
        {"encoding": "f16"},
        {"decimals": 2},
        {"model": "lstm"},
        {"text": "Same again!"},
    ],
)
def test_different_options_miss_the_cache(make_client, checkpoint_dir, change):
    client = make_client(checkpoint_dir, cache_size=8)
    body = {"model": "transformer", "text": "Same again.", "layers": [0]}
    assert client.post(TRACE, json=body).headers["x-cache"] == "miss"
    r = client.post(TRACE, json={**body, **change})
    assert r.status_code == 200, r.text
    assert r.headers["x-cache"] == "miss"


def test_compare_is_cached_separately_from_trace(make_client, checkpoint_dir):
    client = make_client(checkpoint_dir, cache_size=8)
    body = {"models": ["gru", "rnn"], "text": "Cached compare."}
    assert client.post("/api/v1/compare", json=body).headers["x-cache"] == "miss"
    assert client.post("/api/v1/compare", json=body).headers["x-cache"] == "hit"
    assert client.post(TRACE, json={"model": "gru", "text": "Cached compare."}).headers["x-cache"] == "miss"


def test_cache_size_zero_disables_the_cache(make_client, checkpoint_dir):
    client = make_client(checkpoint_dir, cache_size=0)
    body = {"model": "rnn", "text": "Never cached."}
    first, second = client.post(TRACE, json=body), client.post(TRACE, json=body)
    assert first.headers["x-cache"] == second.headers["x-cache"] == "miss"
    assert first.content == second.content  # deterministic all the same


def test_cache_evicts_the_least_recently_used(make_client, checkpoint_dir):
    client = make_client(checkpoint_dir, cache_size=2)
    a, b, c = ({"model": "rnn", "text": t} for t in ("a", "b", "c"))
    for body in (a, b, a, c):  # a is used again, so b is the oldest when c arrives
        client.post(TRACE, json=body)
    assert client.post(TRACE, json=a).headers["x-cache"] == "hit"
    assert client.post(TRACE, json=b).headers["x-cache"] == "miss"


def test_errors_are_not_cached(make_client, checkpoint_dir):
    """The first trace fails inside the runner's work; the same request then succeeds as a
    miss. A cached error would be answered again."""
    client = make_client(checkpoint_dir, cache_size=8)
    model = client.app.state.registry.entries["rnn"].model
    real, calls = model.trace, []

    def fails_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise TextError("a failure of the first call only")
        return real(*args, **kwargs)

    model.trace = fails_once
    body = {"model": "rnn", "text": "Fails, then works."}
    assert client.post(TRACE, json=body).status_code == 422
    second = client.post(TRACE, json=body)
    assert (second.status_code, second.headers["x-cache"], len(calls)) == (200, "miss", 2)


# --- body size over real HTTP ---------------------------------------------------------------

BIG = b'{"model": "lstm", "text": "' + b"a" * 70_000 + b'"}'


def test_body_over_the_limit_is_413_over_http_with_content_length(live_server, problem):
    r = httpx.post(live_server + TRACE, content=BIG, headers={"content-type": "application/json"})
    assert "65536" in problem(r, 413)["detail"]


def test_chunked_body_over_the_limit_is_413_without_content_length(live_server, problem):

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(BIG), 8192):
            yield BIG[i : i + 8192]

    r = httpx.post(live_server + TRACE, content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers
    assert r.request.headers["transfer-encoding"] == "chunked"
    body = problem(r, 413)
    assert "at least" in body["detail"] and "65536" in body["detail"]


def test_chunked_body_under_the_limit_is_traced(live_server):
    raw = b'{"model": "rnn", "text": "chunked but small"}'
    r = httpx.post(
        live_server + TRACE,
        content=iter([raw[:10], raw[10:]]),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["text"] == "chunked but small"


def test_server_still_answers_after_an_oversized_body(live_server):
    httpx.post(live_server + TRACE, content=BIG, headers={"content-type": "application/json"})
    assert httpx.get(live_server + "/healthz").status_code == 200


def run_all(runner: InferenceRunner, jobs: list[tuple[str, int]]) -> list[str]:
    """Run (key, body size) jobs one after another; the cache status of each."""

    async def go() -> list[str]:
        return [(await runner.run(key, lambda n=n: b"x" * n))[1]["cache"] for key, n in jobs]

    return asyncio.run(go())


def test_cache_is_bounded_in_bytes_as_well_as_entries():
    runner = InferenceRunner(1, 1.0, cache_size=100, cache_max_bytes=1000)
    statuses = run_all(runner, [("a", 400), ("b", 400), ("c", 400), ("b", 400), ("c", 400), ("a", 400)])
    # a + b + c is 1200 bytes > 1000: storing c evicts a, the least recently used
    assert statuses == ["miss", "miss", "miss", "hit", "hit", "miss"]


def test_response_larger_than_the_cache_budget_is_not_cached_and_evicts_nothing():
    runner = InferenceRunner(1, 1.0, cache_size=100, cache_max_bytes=1000)
    statuses = run_all(runner, [("small", 10), ("huge", 5000), ("huge", 5000), ("small", 10)])
    assert statuses == ["miss", "miss", "miss", "hit"]


def test_the_same_response_stored_twice_is_counted_once():
    runner = InferenceRunner(1, 1.0, cache_size=100, cache_max_bytes=1000)
    runner.remember("a", b"x" * 600)
    runner.remember("a", b"x" * 600)  # two identical requests that both missed
    assert run_all(runner, [("b", 300), ("a", 600)]) == ["miss", "hit"]


def test_app_cache_stays_within_its_byte_budget(make_client, checkpoint_dir):
    client = make_client(checkpoint_dir, cache_size=100)
    runner = client.app.state.runner
    runner.cache_max_bytes = 30_000
    for i in range(8):
        r = client.post(TRACE, json={"model": "transformer", "text": f"Text number {i} is here."})
        assert r.status_code == 200 and len(r.content) > 5_000
    assert runner.cache_bytes == sum(len(b) for b in runner.cache.values()) <= 30_000
    assert 0 < len(runner.cache) < 8


def test_work_runs_off_the_event_loop_thread_and_its_exception_reaches_the_caller():
    runner = InferenceRunner(1, 1.0, cache_size=0)

    def fails() -> bytes:
        raise ValueError(threading.current_thread().name)

    async def go() -> None:
        loop_thread = threading.current_thread().name
        with pytest.raises(ValueError) as info:
            await runner.run("k", fails)
        assert str(info.value) != loop_thread
        body, meta = await runner.run("k", lambda: threading.current_thread().name.encode())
        assert body.decode() != loop_thread and meta["cache"] == "miss"

    asyncio.run(go())


def test_a_request_cancelled_mid_inference_holds_its_slot_until_the_work_finishes():
    runner = InferenceRunner(1, 0.0, cache_size=0)  # no queue: a busy slot is an immediate 503
    started, release = threading.Event(), threading.Event()

    def held() -> bytes:
        started.set()
        release.wait(30)
        return b"late"

    errors: list[dict] = []

    async def go() -> bytes:
        asyncio.get_running_loop().set_exception_handler(lambda _, context: errors.append(context))
        task = asyncio.create_task(runner.run("held", held))
        await asyncio.to_thread(started.wait, 10)
        task.cancel()
        with pytest.raises(Saturated):  # cancelled, but its work still runs: the slot is taken
            await runner.run("other", lambda: b"no")
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task  # ends only once the work has finished
        return (await runner.run("next", lambda: b"ok"))[0]  # the slot is free at once

    assert asyncio.run(go()) == b"ok"
    assert errors == []
