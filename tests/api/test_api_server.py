"""The app as deployed: ``python -m app.cli serve``, configured only by ATTENZIONE_*
environment variables, called over real HTTP, then stopped cleanly."""

from __future__ import annotations

import signal

import httpx


def test_uvicorn_subprocess_serves_the_api_and_stops_cleanly(checkpoint_dir, real_http, server_log, problem):
    with real_http(checkpoint_dir, ATTENZIONE_MAX_TEXT_CHARS="500", ATTENZIONE_LOG_LEVEL="info") as (
        url,
        proc,
    ):
        with httpx.Client(base_url=url, timeout=30) as http:
            ready = http.get("/readyz")
            assert ready.status_code == 200 and ready.json()["ready"] is True

            r = http.post("/api/v1/trace", json={"model": "transformer", "text": "Over the wire."})
            assert r.status_code == 200
            body = r.json()
            assert body["text"] == "Over the wire." and body["n_tokens"] == len(body["tokens"]["ids"]) > 0
            assert body["parts"]["attention"]["self"]["shape"][:2] == [2, 2]
            assert "content-security-policy" in r.headers

            r = http.post("/api/v1/compare", json={"models": ["lstm", "gru"], "text": "Over the wire."})
            assert r.status_code == 200
            assert [m["model"] for m in r.json()["models"]] == ["lstm", "gru"]

            problem(http.post("/api/v1/trace", json={"model": "nope", "text": "x"}), 404)
            problem(http.post("/api/v1/trace", json={"model": "lstm", "text": "x" * 501}), 413)
        proc.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught: -SIGTERM
        assert proc.wait(timeout=20) in (0, -signal.SIGTERM)
        output = server_log(proc)
        assert "Traceback" not in output
        assert "Application shutdown complete" in output
        assert "Finished server process" in output
