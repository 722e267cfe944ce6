"""Settings come from ATTENZIONE_* environment variables."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings


def test_environment_variables_are_read(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("ATTENZIONE_MODELS_DIR", str(tmp_path))
    monkeypatch.setenv("ATTENZIONE_MAX_TEXT_CHARS", "10")
    monkeypatch.setenv("ATTENZIONE_CACHE_SIZE", "0")
    monkeypatch.setenv("ATTENZIONE_MAX_CONCURRENCY", "3")
    s = Settings()
    assert (s.models_dir, s.max_text_chars, s.cache_size, s.max_concurrency) == (tmp_path, 10, 0, 3)


def test_max_text_chars_from_the_environment_gives_413_at_one_over(monkeypatch, checkpoint_dir, problem):
    monkeypatch.setenv("ATTENZIONE_MODELS_DIR", str(checkpoint_dir))
    monkeypatch.setenv("ATTENZIONE_MAX_TEXT_CHARS", "10")
    with TestClient(create_app(Settings()), base_url="http://localhost") as client:
        assert client.post("/api/v1/trace", json={"model": "rnn", "text": "a" * 10}).status_code == 200
        body = problem(client.post("/api/v1/trace", json={"model": "rnn", "text": "a" * 11}), 413)
        assert (body["limit"], body["actual"]) == (10, 11)


def test_default_decimals_from_the_environment(monkeypatch, checkpoint_dir):
    monkeypatch.setenv("ATTENZIONE_DECIMALS", "2")
    with TestClient(create_app(Settings(models_dir=checkpoint_dir)), base_url="http://localhost") as client:
        body = client.post("/api/v1/trace", json={"model": "gru", "text": "two places"}).json()
    assert body["decimals"] == 2
    assert all(round(x, 2) == x for x in body["parts"]["h"]["data"][0][0])


def test_max_body_bytes_from_the_environment(monkeypatch, checkpoint_dir, problem):
    monkeypatch.setenv("ATTENZIONE_MAX_BODY_BYTES", "2048")
    with TestClient(create_app(Settings(models_dir=checkpoint_dir)), base_url="http://localhost") as client:
        r = client.post("/api/v1/trace", json={"model": "gru", "text": "a" * 3000})
        assert "2048" in problem(r, 413)["detail"]


def test_invalid_environment_value_is_refused(monkeypatch):
    monkeypatch.setenv("ATTENZIONE_MAX_CONCURRENCY", "0")
    try:
        Settings()
    except ValueError as exc:
        assert "max_concurrency" in str(exc)
    else:
        raise AssertionError("max_concurrency=0 was accepted")


def test_plain_port_variable_is_read_and_attenzione_port_wins(monkeypatch):
    monkeypatch.delenv("ATTENZIONE_PORT", raising=False)
    monkeypatch.setenv("PORT", "9123")
    assert Settings().port == 9123
    monkeypatch.setenv("ATTENZIONE_PORT", "9001")
    assert Settings().port == 9001


def test_telemetry_off_by_default_means_no_opentelemetry_lookups(monkeypatch, checkpoint_dir):
    """FastAPI looks up the OpenTelemetry tracer provider on every request unless its
    telemetry is off; ATTENZIONE_TELEMETRY turns it on."""
    from opentelemetry import trace

    calls = []
    real = trace.get_tracer_provider
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: calls.append(1) or real())
    body = {"model": "gru", "text": "a few words"}
    with TestClient(create_app(Settings(models_dir=checkpoint_dir)), base_url="http://localhost") as client:
        calls.clear()
        assert client.post("/api/v1/trace", json=body).status_code == 200
    assert calls == []
    monkeypatch.setenv("ATTENZIONE_TELEMETRY", "true")
    with TestClient(create_app(Settings(models_dir=checkpoint_dir)), base_url="http://localhost") as client:
        calls.clear()
        assert client.post("/api/v1/trace", json=body).status_code == 200
    assert calls
