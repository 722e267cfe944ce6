"""Limits that keep the server up: bounded inference concurrency (503 + Retry-After when
saturated), inference off the event loop, the response cache, and the body-size limit on
real HTTP (declared and chunked)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from app.limits import InferenceRunner
from app.main import create_app
from app.settings import Settings

TRACE = "/api/v1/trace"
SLOW_S = 2.0  # long enough that a loaded machine cannot blur "waited" and "ran"


def slow_down(app, name: str = "transformer") -> threading.Event:
    """Make one registry model's trace sleep first (a stand-in for a long inference); the
    returned event is set when a trace has started. This tests the limiter, not a model."""
    model = app.state.registry.entries[name].model
    real = model.trace
    started = threading.Event()

    def slow_trace(*args, **kwargs):
        started.set()
        time.sleep(SLOW_S)
        return real(*args, **kwargs)

    model.trace = slow_trace  # an instance attribute shadows the method for this app only
    return started


@pytest.fixture
def slow_server(checkpoint_dir, serve) -> Iterator[tuple[str, threading.Event]]:
    """A real server with one inference slot, a 50 ms queue and a slow Transformer."""
    app = create_app(
        Settings(models_dir=checkpoint_dir, max_concurrency=1, queue_timeout_s=0.05, cache_size=0)
    )
    url = serve(app)
    yield url, slow_down(app)


def post_in_background(url: str, body: dict) -> tuple[threading.Thread, list[httpx.Response]]:
    out: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: out.append(httpx.post(url + TRACE, json=body, timeout=30)))
    thread.start()
    return thread, out


def test_saturated_server_answers_503_with_retry_after(slow_server, problem):
    url, started = slow_server
    thread, first = post_in_background(url, {"model": "transformer", "text": "slow one"})
    assert started.wait(10)
    t0 = time.perf_counter()
    r = httpx.post(url + TRACE, json={"model": "lstm", "text": "second"}, timeout=30)
    waited = time.perf_counter() - t0
    body = problem(r, 503)
    assert r.headers["retry-after"] == "1"
    assert "busy" in body["detail"]
    assert waited < SLOW_S  # refused after the queue timeout, not after the slow trace
    thread.join(30)
    assert first[0].status_code == 200


def test_server_keeps_serving_after_being_saturated(slow_server):
    url, started = slow_server
    thread, _ = post_in_background(url, {"model": "transformer", "text": "slow one"})
    assert started.wait(10)
    assert httpx.post(url + TRACE, json={"model": "lstm", "text": "x"}, timeout=30).status_code == 503
    thread.join(30)
    r = httpx.post(url + TRACE, json={"model": "lstm", "text": "after the storm"}, timeout=30)
    assert r.status_code == 200


def test_cache_hits_skip_the_queue_even_when_saturated(checkpoint_dir, serve):
    app = create_app(Settings(models_dir=checkpoint_dir, max_concurrency=1, queue_timeout_s=0.05))
    url = serve(app)
    cached = {"model": "gru", "text": "cached"}
    assert httpx.post(url + TRACE, json=cached).status_code == 200
    started = slow_down(app)
    thread, _ = post_in_background(url, {"model": "transformer", "text": "slow one"})
    assert started.wait(10)
    r = httpx.post(url + TRACE, json=cached)
    assert (r.status_code, r.headers["x-cache"]) == (200, "hit")
    thread.join(30)


def test_inference_runs_off_the_event_loop(slow_server):
    """While a (blocking) trace runs, the event loop still answers /healthz at once."""
    url, started = slow_server
    thread, _ = post_in_background(url, {"model": "transformer", "text": "slow one"})
    assert started.wait(10)
    t0 = time.perf_counter()
    r = httpx.get(url + "/healthz", timeout=10)
    elapsed = time.perf_counter() - t0
    assert r.status_code == 200
    assert thread.is_alive()  # the trace was still running
    assert elapsed < SLOW_S / 2
    thread.join(30)


def test_a_client_that_gives_up_mid_inference_leaves_the_server_serving(slow_server, caplog):
    """The client disconnects while its (slow) trace runs. uvicorn lets the request finish
    (its response goes nowhere): the slot must be freed when the trace ends, nothing logged
    as an error, and the next request answered. (A cancelled request is tested on the
    runner itself.)"""
    url, started = slow_server
    with caplog.at_level("WARNING"):
        with pytest.raises(httpx.TimeoutException):
            httpx.post(url + TRACE, json={"model": "transformer", "text": "slow one"}, timeout=0.5)
        assert started.is_set()
        deadline = time.monotonic() + 3 * SLOW_S
        while time.monotonic() < deadline:  # 503 while the abandoned trace holds the only slot
            r = httpx.post(url + TRACE, json={"model": "lstm", "text": "after the client left"}, timeout=30)
            if r.status_code != 503:
                break
            time.sleep(0.1)
    assert r.status_code == 200
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
    client = make_client(checkpoint_dir, cache_size=8)
    body = {"model": "transformer", "text": "word " * 90}
    assert client.post(TRACE, json=body).status_code == 422
    assert client.post(TRACE, json=body).status_code == 422


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
    runner._remember("a", b"x" * 600)
    runner._remember("a", b"x" * 600)  # two identical requests that both missed
    assert run_all(runner, [("b", 300), ("a", 600)]) == ["miss", "hit"]


def test_app_cache_stays_within_its_byte_budget(make_client, checkpoint_dir):
    client = make_client(checkpoint_dir, cache_size=100)
    runner = client.app.state.runner
    runner.cache_max_bytes = 30_000
    for i in range(8):
        r = client.post(TRACE, json={"model": "transformer", "text": f"Text number {i} is here."})
        assert r.status_code == 200 and len(r.content) > 5_000
    assert sum(len(b) for b in runner._cache.values()) <= 30_000
    assert 0 < len(runner._cache) < 8


def test_work_runs_in_a_pool_thread_and_its_exception_reaches_the_caller():
    runner = InferenceRunner(1, 1.0, cache_size=0)

    def fails() -> bytes:
        raise ValueError(threading.current_thread().name)

    async def go() -> None:
        with pytest.raises(ValueError, match="attenzione-infer"):
            await runner.run("k", fails)
        body, info = await runner.run("k", lambda: threading.current_thread().name.encode())
        assert body.startswith(b"attenzione-infer") and info["cache"] == "miss"

    asyncio.run(go())


def test_a_request_cancelled_mid_inference_frees_its_slot_and_the_work_finishes_quietly():
    runner = InferenceRunner(1, 1.0, cache_size=0)
    release, finished = threading.Event(), threading.Event()

    def slow() -> bytes:
        release.wait(10)
        finished.set()
        return b"late"

    errors: list[dict] = []

    async def go() -> bytes:
        asyncio.get_running_loop().set_exception_handler(lambda _, context: errors.append(context))
        task = asyncio.create_task(runner.run("slow", slow))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        release.set()  # the work completes after its request has gone; nothing may raise
        await asyncio.to_thread(finished.wait, 10)
        await asyncio.sleep(0.05)  # let the hand-back to the loop run
        return (await runner.run("next", lambda: b"ok"))[0]

    assert asyncio.run(go()) == b"ok"
    assert finished.is_set() and errors == []
