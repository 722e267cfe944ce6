"""POST /api/v1/trace on valid requests: tokens, parts and their shapes, predictions, and
the options that cut the payload down (layers, heads, parts, top_k, decimals)."""

from __future__ import annotations

import pytest

from models.checkpoint import ARCHS

TEXT = "The cat sat on the mat. The cat sat."
N_LAYERS = 2
N_HEADS = 2
WIDTH = {"transformer": 32, "lstm": 24, "gru": 24, "rnn": 24}
DEFAULT_PARTS = {
    "transformer": {"attention", "resid"},
    "lstm": {"h", "c", "gates"},
    "gru": {"h", "gates"},
    "rnn": {"h"},
}
GATES = {"lstm": ["i", "f", "g", "o"], "gru": ["r", "z", "n"]}


def trace(client, **body):
    r = client.post("/api/v1/trace", json=body)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    return r


@pytest.fixture(params=ARCHS)
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_trace_returns_tokens_with_ids_strings_and_spans(client, name, lms):
    body = trace(client, model=name, text=TEXT).json()
    expected = lms[name].tokenizer.encode(TEXT)
    assert body["api_version"] == "v1"
    assert body["text"] == TEXT
    assert body["n_tokens"] == len(expected)
    assert body["tokens"]["ids"] == list(expected.ids)
    assert body["tokens"]["strings"] == list(expected.strings)
    assert body["tokens"]["spans"] == [list(s) for s in expected.spans]
    assert "".join(TEXT[a:b] for a, b in body["tokens"]["spans"]) == TEXT


def test_trace_keeps_repeated_tokens_apart(client):
    body = trace(client, model="transformer", text="the the the").json()
    assert body["n_tokens"] == 3
    assert body["tokens"]["strings"] == ["the", "␣the", "␣the"]


def test_trace_returns_every_part_but_logits_by_default_with_their_shapes(client, name):
    body = trace(client, model=name, text=TEXT).json()
    t = body["n_tokens"]
    parts = body["parts"]
    assert set(parts) == DEFAULT_PARTS[name]
    assert body["layers"] == [0, 1]
    if name == "transformer":
        assert body["heads"] is None
        assert parts["attention"]["self"]["shape"] == [N_LAYERS, N_HEADS, t, t]
        assert parts["resid"]["shape"] == [N_LAYERS, t, WIDTH[name]]
    for state in ("h", "c"):
        if state in parts:
            assert parts[state]["shape"] == [N_LAYERS, t, WIDTH[name]]
    if "gates" in parts:
        assert list(parts["gates"]) == GATES[name]
        assert all(g["shape"] == [N_LAYERS, t, WIDTH[name]] for g in parts["gates"].values())


def test_trace_returns_predictions_for_every_position(client, name):
    body = trace(client, model=name, text=TEXT, top_k=3).json()
    t = body["n_tokens"]
    p = body["predictions"]
    assert len(p["top_ids"]) == len(p["top_strings"]) == len(p["top_probs"]) == t
    assert all(len(row) == 3 for row in p["top_ids"])
    assert all(row == sorted(row, reverse=True) for row in p["top_probs"])
    assert len(p["surprisal_bits"]) == len(p["entropy_bits"]) == t
    assert p["surprisal_bits"][-1] is None  # nothing follows the last token
    assert all(s >= 0 for s in p["surprisal_bits"][:-1])
    assert p["mean_surprisal_bits"] == pytest.approx(sum(p["surprisal_bits"][:-1]) / (t - 1), abs=1e-3)


def test_trace_of_one_token_has_no_mean_surprisal(client):
    p = trace(client, model="lstm", text="a").json()["predictions"]
    assert p["surprisal_bits"] == [None]
    assert p["mean_surprisal_bits"] is None


def test_trace_top_k_sets_the_number_of_candidates(client, lms):
    body = trace(client, model="gru", text=TEXT, top_k=7, parts=["predictions"]).json()
    p = body["predictions"]
    assert all(len(r) == 7 for r in (*p["top_ids"], *p["top_strings"], *p["top_probs"]))
    tok = lms["gru"].tokenizer
    assert p["top_strings"][0] == [tok.display(i) for i in p["top_ids"][0]]


def test_trace_selecting_layers_shrinks_shapes_and_payload(client, name):
    full = trace(client, model=name, text=TEXT)
    one = trace(client, model=name, text=TEXT, layers=[1])
    assert one.json()["layers"] == [1]
    for value in one.json()["parts"].values():
        arrays = value.values() if "shape" not in value else [value]
        assert all(a["shape"][0] == 1 for a in arrays)
    assert len(one.content) < len(full.content)


def test_trace_selecting_heads_shrinks_attention_and_payload(client):
    full = trace(client, model="transformer", text=TEXT, parts=["attention"])
    one = trace(client, model="transformer", text=TEXT, parts=["attention"], heads=[1])
    body = one.json()
    t = body["n_tokens"]
    assert body["heads"] == [1]
    assert body["parts"]["attention"]["self"]["shape"] == [N_LAYERS, 1, t, t]
    assert len(one.content) < len(full.content) * 0.6


def test_trace_selected_layer_and_head_are_the_same_numbers_as_in_the_full_trace(client, decode):
    full = trace(client, model="transformer", text=TEXT, parts=["attention"]).json()
    cut = trace(client, model="transformer", text=TEXT, parts=["attention"], layers=[1], heads=[0]).json()
    a_full = decode(full["parts"]["attention"]["self"])
    a_cut = decode(cut["parts"]["attention"]["self"])
    assert (a_cut[0, 0] == a_full[1, 0]).all()


def test_trace_layers_are_returned_in_the_order_asked_without_duplicates(client, decode):
    full = trace(client, model="lstm", text=TEXT, parts=["h"]).json()
    body = trace(client, model="lstm", text=TEXT, parts=["h"], layers=[1, 0, 1]).json()
    assert body["layers"] == [1, 0]
    h_full, h = decode(full["parts"]["h"]), decode(body["parts"]["h"])
    assert (h[0] == h_full[1]).all() and (h[1] == h_full[0]).all()


def test_trace_parts_filter_returns_only_the_parts_asked(client):
    body = trace(client, model="lstm", text=TEXT, parts=["c"]).json()
    assert list(body["parts"]) == ["c"]
    assert body["predictions"] is None


def test_trace_parts_predictions_only_has_no_arrays(client):
    body = trace(client, model="transformer", text=TEXT, parts=["predictions"]).json()
    assert body["parts"] == {}
    assert body["predictions"]["top_ids"]


def test_trace_logits_come_only_when_asked(client):
    body = trace(client, model="rnn", text=TEXT, parts=["logits"]).json()
    assert body["parts"]["logits"]["shape"] == [body["n_tokens"], 4096]


def test_trace_heads_are_ignored_by_recurrent_models(client):
    body = trace(client, model="lstm", text=TEXT, heads=[0]).json()
    assert body["heads"] is None
    assert "attention" not in body["parts"]


@pytest.mark.parametrize("decimals", [0, 2, 6])
def test_trace_decimals_round_json_floats(client, decimals):
    body = trace(client, model="transformer", text=TEXT, parts=["resid"], decimals=decimals).json()
    assert body["decimals"] == decimals
    flat = [x for layer in body["parts"]["resid"]["data"] for row in layer for x in row]
    assert all(round(x, decimals) == x for x in flat)
    assert any(round(x, decimals - 1) != x for x in flat) if decimals else True


def test_trace_uses_four_decimals_by_default(client):
    body = trace(client, model="gru", text=TEXT, parts=["h", "predictions"]).json()
    assert body["decimals"] == 4
    assert body["encoding"] == "json"
    assert all(round(x, 4) == x for row in body["parts"]["h"]["data"][0] for x in row)
    assert all(round(x, 4) == x for x in body["predictions"]["entropy_bits"])


def test_trace_reports_inference_time_and_cache_status_in_headers(client):
    r = trace(client, model="transformer", text=TEXT)
    assert r.headers["x-cache"] == "miss"
    assert r.headers["server-timing"].startswith("infer;dur=")


@pytest.mark.parametrize(
    "text",
    ["  leading and trailing  ", "tab\tand\nnewline", "emoji 😀 and accents é à", "\x00\x01 control", "中文"],
)
def test_trace_accepts_unusual_text(client, text):
    body = trace(client, model="transformer", text=text).json()
    assert body["text"] == text
    assert body["tokens"]["spans"][-1][1] == len(text)
