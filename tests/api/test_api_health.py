"""GET /healthz (liveness) and GET /readyz (readiness, with unavailable models listed)."""

from __future__ import annotations

from pathlib import Path

from models.checkpoint import ARCHS


def test_healthz_answers_ok(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_readyz_is_200_when_every_model_loaded(client):
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"ready": True, "available": list(ARCHS), "unavailable": {}}


def test_readyz_is_200_and_lists_the_unavailable_model_with_its_reason(make_client, corrupt_dir: Path):
    r = make_client(corrupt_dir).get("/readyz")
    assert r.status_code == 200
    body = r.json()
    assert body["ready"] is True
    assert body["available"] == ["transformer", "lstm", "rnn"]
    assert list(body["unavailable"]) == ["gru"]
    assert "gru.safetensors" in body["unavailable"]["gru"]


def test_readyz_is_503_when_no_model_is_available(make_client, empty_dir: Path):
    r = make_client(empty_dir).get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["ready"] is False
    assert body["available"] == []
    assert set(body["unavailable"]) == set(ARCHS)


def test_healthz_is_200_even_when_no_model_is_available(make_client, empty_dir: Path):
    assert make_client(empty_dir).get("/healthz").status_code == 200
