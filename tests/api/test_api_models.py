"""GET /api/v1/models: every built-in model with its facts; an unavailable one with a reason."""

from __future__ import annotations

from pathlib import Path

from models.checkpoint import ARCHS

EXPECTED = {  # from the tiny configs in conftest.py
    "transformer": {"family": "transformer", "n_layers": 2, "n_heads": 2, "d_model": 32, "n_ctx": 64},
    "lstm": {"family": "lstm", "n_layers": 2, "n_heads": None, "d_model": 24, "n_ctx": 128},
    "gru": {"family": "gru", "n_layers": 2, "n_heads": None, "d_model": 24, "n_ctx": 128},
    "rnn": {"family": "rnn", "n_layers": 2, "n_heads": None, "d_model": 24, "n_ctx": 128},
}
PARTS = {
    "transformer": ["attention", "resid", "predictions", "logits"],
    "lstm": ["h", "c", "gates", "predictions", "logits"],
    "gru": ["h", "gates", "predictions", "logits"],
    "rnn": ["h", "predictions", "logits"],
}


def test_models_lists_every_builtin_model_with_its_facts(client, lms):
    r = client.get("/api/v1/models")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["api_version"] == "v1"
    by_name = {m["name"]: m for m in body["models"]}
    assert list(by_name) == list(ARCHS)
    for name, info in by_name.items():
        assert info["available"] is True
        assert info.get("reason") is None
        assert {k: info[k] for k in EXPECTED[name]} == EXPECTED[name]
        assert info["n_params"] == lms[name].n_params
        assert info["parts"] == PARTS[name]
        assert info["card"]["arch"] == name
        assert "config" not in info["card"]  # the config is flattened into the fields above


def test_models_states_gates_per_family(client):
    by_name = {m["name"]: m for m in client.get("/api/v1/models").json()["models"]}
    assert by_name["lstm"]["gates"] == ["i", "f", "g", "o"]
    assert by_name["gru"]["gates"] == ["r", "z", "n"]
    assert by_name["rnn"]["gates"] == []
    assert by_name["transformer"]["gates"] == []


def test_corrupt_model_is_listed_unavailable_with_a_reason_naming_the_file(make_client, corrupt_dir: Path):
    client = make_client(corrupt_dir)
    by_name = {m["name"]: m for m in client.get("/api/v1/models").json()["models"]}
    gru = by_name["gru"]
    assert gru["available"] is False
    assert "gru.safetensors" in gru["reason"]
    assert "corrupt" in gru["reason"]
    assert all(by_name[n]["available"] for n in ("transformer", "lstm", "rnn"))


def test_other_models_still_trace_when_one_is_corrupt(make_client, corrupt_dir: Path):
    client = make_client(corrupt_dir)
    for name in ("transformer", "lstm", "rnn"):
        r = client.post("/api/v1/trace", json={"model": name, "text": "Still here."})
        assert r.status_code == 200, r.text


def test_trace_of_corrupt_model_is_503_naming_the_file(make_client, corrupt_dir: Path, problem):
    client = make_client(corrupt_dir)
    body = problem(client.post("/api/v1/trace", json={"model": "gru", "text": "Hello"}), 503)
    assert "gru.safetensors" in body["detail"]


def test_compare_with_corrupt_model_is_503(make_client, corrupt_dir: Path, problem):
    client = make_client(corrupt_dir)
    r = client.post("/api/v1/compare", json={"models": ["transformer", "gru"], "text": "Hello"})
    problem(r, 503)


def test_models_lists_all_unavailable_when_the_folder_is_empty(make_client, empty_dir: Path):
    client = make_client(empty_dir)
    models = client.get("/api/v1/models").json()["models"]
    assert [m["name"] for m in models] == list(ARCHS)
    assert all(not m["available"] and "tokenizer" in m["reason"] for m in models)
