"""The step-by-step and generation endpoints: their numbers are the model's own (checked
against /trace over the same HTTP API), generation is reproducible and streams, and bad
input gets a clear 4xx."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

TEXT = "The cat sat on the mat because the cat was tired."


def trace(client, model: str, text: str = TEXT, **extra) -> dict:
    r = client.post("/api/v1/trace", json={"model": model, "text": text, "decimals": 8, **extra})
    assert r.status_code == 200, r.text
    return r.json()


def test_attention_steps_weights_are_the_traced_row_and_resid_the_traced_state(client):
    r = client.post(
        "/api/v1/steps/attention",
        json={"model": "transformer", "text": TEXT, "layer": 1, "head": 1, "query": 6},
    )
    assert r.status_code == 200, r.text
    steps = r.json()
    t = trace(client, "transformer", parts=["attention", "resid"])
    row = np.array(t["parts"]["attention"]["self"]["data"])[1, 1, 6]
    np.testing.assert_allclose(steps["weights"], row, atol=1e-7)
    np.testing.assert_allclose(steps["resid_post"], np.array(t["parts"]["resid"]["data"])[1, 6], atol=1e-5)
    scaled = np.array(steps["scaled_scores"])[: 6 + 1]
    e = np.exp(scaled - scaled.max())
    np.testing.assert_allclose(np.array(steps["weights"])[:7], e / e.sum(), atol=1e-6)
    assert np.all(np.array(steps["weights"])[7:] == 0)


def test_attention_steps_default_to_the_last_token(client):
    steps = client.post("/api/v1/steps/attention", json={"model": "transformer", "text": TEXT}).json()
    assert steps["query"] == len(steps["tokens"]["ids"]) - 1 and (steps["layer"], steps["head"]) == (0, 0)


@pytest.mark.parametrize("model", ["lstm", "gru", "rnn"])
def test_recurrence_steps_equal_the_traced_states(client, model):
    r = client.post(
        "/api/v1/steps/recurrence",
        json={"model": model, "text": TEXT, "layer": 1, "t": 4, "units": [0, 3, 7]},
    )
    assert r.status_code == 200, r.text
    steps = r.json()
    h = np.array(trace(client, model, parts=["h"])["parts"]["h"]["data"])[1, 4, [0, 3, 7]]
    np.testing.assert_allclose(steps["h"], h, atol=1e-6)
    np.testing.assert_allclose(steps["trace_h"], h, atol=1e-6)
    gates = {"lstm": ["i", "f", "g", "o"], "gru": ["r", "z", "n"], "rnn": ["h"]}[model]
    assert list(steps["preactivations"]) == gates
    if model == "lstm":
        pre = {k: np.array(v["value"]) for k, v in steps["preactivations"].items()}
        c = pre["f"] * np.array(steps["c_prev"]) + pre["i"] * pre["g"]
        np.testing.assert_allclose(steps["c"], c, atol=1e-6)
        np.testing.assert_allclose(steps["h"], pre["o"] * np.tanh(c), atol=1e-6)


def test_memory_horizon_is_the_product_of_forget_gates(client):
    r = client.post("/api/v1/steps/memory", json={"model": "lstm", "text": TEXT, "layer": 0})
    assert r.status_code == 200, r.text
    horizon = r.json()
    f = np.array(trace(client, "lstm", parts=["gates"])["parts"]["gates"]["f"]["data"])[0]  # [T, units]
    t = horizon["t"]
    survival = np.array(horizon["survival"])
    for d in (1, 2, 3):
        np.testing.assert_allclose(
            survival[:, d], np.prod(f[t - d + 1 : t + 1], axis=0), rtol=1e-5, atol=1e-7
        )


def test_greedy_generation_follows_the_traces_argmax(client):
    r = client.post(
        "/api/v1/generate", json={"model": "transformer", "prompt": "It was the best", "max_new_tokens": 4}
    )
    assert r.status_code == 200, r.text
    gen = r.json()
    ids = list(gen["prompt"]["ids"])
    from_trace = client.app.state.registry.entries["transformer"].model
    for token in gen["tokens"]:
        logits = from_trace.net.forward_trace(torch.tensor([ids]))[0][-1]
        assert token["id"] == int(logits.argmax())
        ids.append(token["id"])


def test_seeded_sampling_repeats_and_streams_the_same_tokens(client):
    body = {
        "model": "gru",
        "prompt": "Once upon a time",
        "max_new_tokens": 6,
        "strategy": "sample",
        "seed": 11,
    }
    whole = [t["id"] for t in client.post("/api/v1/generate", json=body).json()["tokens"]]
    assert whole == [t["id"] for t in client.post("/api/v1/generate", json=body).json()["tokens"]]
    with client.stream("POST", "/api/v1/generate", json={**body, "stream": True}) as r:
        assert r.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in r.iter_lines() if line]
    assert [line["type"] for line in lines] == ["start", *["token"] * len(whole), "end"]
    assert [line["id"] for line in lines[1:-1]] == whole
    assert "states" in lines[1] and "h" in lines[1]["states"]


@pytest.mark.parametrize(
    ("path", "body", "status", "word"),
    [
        ("/api/v1/generate", {"model": "lstm", "prompt": "x", "temperature": 0}, 422, "temperature"),
        ("/api/v1/generate", {"model": "lstm", "prompt": "  "}, 422, "empty"),
        (
            "/api/v1/generate",
            {"model": "lstm", "prompt": "x", "max_new_tokens": 10_000},
            422,
            "max_new_tokens",
        ),
        ("/api/v1/generate", {"model": "bert", "prompt": "x"}, 404, "bert"),
        ("/api/v1/generate", {"model": "transformer", "prompt": "word " * 80}, 422, "n_ctx"),
        ("/api/v1/steps/attention", {"model": "lstm", "text": "x"}, 422, "attention"),
        ("/api/v1/steps/attention", {"model": "transformer", "text": "x", "layer": 9}, 422, "layer"),
        ("/api/v1/steps/recurrence", {"model": "transformer", "text": "x"}, 422, "LSTM"),
        ("/api/v1/steps/recurrence", {"model": "lstm", "text": "x y", "t": 50}, 422, "t"),
        ("/api/v1/steps/memory", {"model": "rnn", "text": "x y"}, 422, "GRU"),
    ],
)
def test_bad_input_is_a_clear_4xx(client, problem, path, body, status, word):
    assert word in problem(client.post(path, json=body), status)["detail"]
