"""POST /api/v1/compare: one text through 2-4 models, shared tokenisations stated once."""

from __future__ import annotations

import pytest

from models.checkpoint import ARCHS

COMPARE = "/api/v1/compare"
TEXT = "It was the best of times, it was the worst of times."


def compare(client, **body):
    r = client.post(COMPARE, json=body)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    return r.json()


def test_compare_two_models_returns_one_entry_each_in_order(client):
    body = compare(client, models=["lstm", "transformer"], text=TEXT)
    assert body["api_version"] == "v1"
    assert body["text"] == TEXT
    assert [m["model"] for m in body["models"]] == ["lstm", "transformer"]
    assert [m["family"] for m in body["models"]] == ["lstm", "transformer"]
    assert set(body["models"][0]["parts"]) == {"h", "c", "gates"}
    assert set(body["models"][1]["parts"]) == {"attention", "resid"}


def test_compare_four_models_states_the_shared_tokenisation_once(client, lms):
    body = compare(client, models=list(ARCHS), text=TEXT)
    assert len(body["models"]) == 4
    assert len(body["tokenizations"]) == 1
    ((key, tokens),) = body["tokenizations"].items()
    expected = lms["transformer"].tokenizer.encode(TEXT)
    assert tokens["ids"] == list(expected.ids)
    assert tokens["strings"] == list(expected.strings)
    assert tokens["n_tokens"] == len(expected)
    assert all(m["tokenizer"] == key for m in body["models"])
    assert all("tokens" not in m for m in body["models"])


def test_compare_entries_match_single_traces(client, decode):
    body = compare(client, models=["transformer", "gru"], text=TEXT, parts=["attention", "h"])
    single_t = client.post(
        "/api/v1/trace", json={"model": "transformer", "text": TEXT, "parts": ["attention"]}
    )
    single_g = client.post("/api/v1/trace", json={"model": "gru", "text": TEXT, "parts": ["h"]})
    t_entry, g_entry = body["models"]
    assert (
        decode(t_entry["parts"]["attention"]["self"]) == decode(single_t.json()["parts"]["attention"]["self"])
    ).all()
    assert (decode(g_entry["parts"]["h"]) == decode(single_g.json()["parts"]["h"])).all()


def test_compare_parts_keep_what_each_model_has(client):
    body = compare(client, models=["transformer", "lstm", "rnn"], text=TEXT, parts=["attention", "c"])
    assert [set(m["parts"]) for m in body["models"]] == [{"attention"}, {"c"}, set()]


def test_compare_recurrent_models_ignore_heads(client):
    body = compare(client, models=["transformer", "gru"], text=TEXT, heads=[1], parts=["attention", "h"])
    t_entry, g_entry = body["models"]
    assert t_entry["heads"] == [1]
    assert t_entry["parts"]["attention"]["self"]["shape"][1] == 1
    assert g_entry["heads"] is None
    assert g_entry["parts"]["h"]["shape"][0] == 2


def test_compare_layers_apply_to_every_model(client):
    body = compare(client, models=["transformer", "lstm"], text=TEXT, layers=[0])
    assert [m["layers"] for m in body["models"]] == [[0], [0]]
    assert body["models"][1]["parts"]["gates"]["f"]["shape"][0] == 1


def test_compare_predictions_for_each_model(client):
    body = compare(client, models=["rnn", "lstm"], text=TEXT, top_k=2)
    n = body["tokenizations"][body["models"][0]["tokenizer"]]["n_tokens"]
    for m in body["models"]:
        assert len(m["predictions"]["top_ids"]) == n
        assert all(len(r) == 2 for r in m["predictions"]["top_ids"])


def test_compare_states_encoding_and_decimals(client):
    body = compare(client, models=["gru", "rnn"], text=TEXT, encoding="f16", decimals=2)
    assert (body["encoding"], body["decimals"]) == ("f16", 2)
    assert body["models"][0]["parts"]["h"]["encoding"] == "f16"


@pytest.mark.parametrize(
    "models", [["transformer"], ["transformer", "lstm", "gru", "rnn", "transformer"], []]
)
def test_compare_needs_two_to_four_models(client, problem, models):
    body = problem(client.post(COMPARE, json={"models": models, "text": TEXT}), 422)
    assert body["errors"][0]["field"] == "models"


def test_compare_five_distinct_names_is_422(client, problem):
    models = ["transformer", "lstm", "gru", "rnn", "bert"]
    problem(client.post(COMPARE, json={"models": models, "text": TEXT}), 422)


def test_compare_duplicate_models_is_422(client, problem):
    body = problem(client.post(COMPARE, json={"models": ["lstm", "lstm"], "text": TEXT}), 422)
    assert "distinct" in body["detail"]


@pytest.mark.parametrize("encoding", ["json", "f16", "u8"])
def test_head_selection_on_a_one_token_text(client, encoding):
    """Found by the fuzz test: selected heads of a 1 x 1 attention map came out of numpy
    Fortran-ordered and the JSON writer failed with a 500."""
    body = compare(client, models=["transformer", "lstm"], text="0", heads=[0, 1], encoding=encoding)
    attention = body["models"][0]["parts"]["attention"]["self"]
    assert attention["shape"][1:] == [2, 1, 1]
    if encoding == "json":
        assert all(row == [[1.0]] for layer in attention["data"] for row in layer)
