"""POST /api/v1/influence: influence maps of 1-4 models on one text, as the models compute them."""

from __future__ import annotations

import numpy as np
import pytest

from models.influence import MAX_INFLUENCE_TOKENS, influence
from tests.tiny import RECURRENT, TRANSFORMER, write_tiny_checkpoints

INFLUENCE = "/api/v1/influence"
TEXT = "The keys to the old cabinet are on the table, and the key"


def post(client, **body):
    r = client.post(INFLUENCE, json=body)
    assert r.status_code == 200, r.text
    return r


@pytest.mark.parametrize("method", ["gradient", "occlusion"])
def test_maps_are_the_models_own_at_full_precision(client, lms, decode, method):
    body = post(client, models=["transformer", "lstm"], text=TEXT, method=method, decimals=8).json()
    assert body["method"] == method and body["max_tokens"] == MAX_INFLUENCE_TOKENS
    ((key, tokens),) = body["tokenizations"].items()
    for entry in body["models"]:
        want = influence(lms[entry["model"]], TEXT, method)
        assert entry["tokenizer"] == key and tokens["ids"] == list(want.tokens.ids)
        got = decode(entry["influence"])
        assert got.shape == (len(want.tokens), len(want.tokens))
        np.testing.assert_allclose(got, want.values, atol=1e-8, equal_nan=True)
        np.testing.assert_allclose(np.array(entry["logp"], dtype=float), want.logp, atol=1e-8, equal_nan=True)
        if method == "gradient":
            np.testing.assert_allclose(decode(entry["grad_norm"]), want.grad_norm, atol=1e-8, equal_nan=True)
            assert entry["neutral_token"] is None
        else:
            assert entry["grad_norm"] is None and isinstance(entry["neutral_token"], int)


@pytest.mark.parametrize("encoding", ["json", "f16", "u8"])
def test_every_encoding_is_causal_with_an_empty_last_row(client, lms, decode, encoding):
    (entry,) = post(client, models=["gru"], text=TEXT, encoding=encoding).json()["models"]
    got = decode(entry["influence"])
    want = influence(lms["gru"], TEXT, "gradient").values
    t = want.shape[0]
    assert np.all(got[np.triu_indices(t, 1)] == 0)  # no prediction sees a later token
    if encoding != "json":
        assert entry["influence"]["layout"] == "causal_lower"
    if encoding == "u8":  # no NaN in u8: the values' own range in 255 steps
        scale = entry["influence"]["scale"]
        np.testing.assert_allclose(got[:-1], want[:-1], atol=scale / 2 + 1e-9)
    else:
        assert np.isnan(got[-1]).all()  # the last position predicts nothing
        tol = 1e-4 if encoding == "json" else 2e-3 * np.abs(want[:-1]).max()
        np.testing.assert_allclose(got[:-1], want[:-1], atol=tol)


def test_a_model_that_refuses_the_text_says_why_and_the_others_answer(make_client, tmp_path):
    write_tiny_checkpoints(tmp_path, {"transformer": {**TRANSFORMER, "n_ctx": 16}, "rnn": RECURRENT})
    text = "one two three four five six seven eight nine ten " * 2  # over this Transformer's n_ctx
    body = post(make_client(tmp_path), models=["transformer", "rnn"], text=text).json()
    refused, answered = body["models"]
    assert refused["error"]["status"] == 422 and "n_ctx" in refused["error"]["detail"]
    assert "influence" not in refused
    assert answered["model"] == "rnn" and answered["influence"]["shape"][0] > 16


def test_results_are_cached_like_traces(make_client, checkpoint_dir):
    client = make_client(checkpoint_dir, cache_size=8)  # the shared client computes every answer afresh
    body = {"models": ["lstm"], "text": "A text measured twice.", "method": "occlusion"}
    first, second = post(client, **body), post(client, **body)
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("miss", "hit")
    assert first.content == second.content


def test_the_limit_is_stated_in_the_models_listing(client):
    listed = client.get("/api/v1/models").json()["influence"]
    assert listed == {"methods": ["gradient", "occlusion"], "max_tokens": MAX_INFLUENCE_TOKENS}


@pytest.mark.parametrize(
    ("body", "status", "word"),
    [
        ({"models": ["lstm"], "text": TEXT, "method": "saliency"}, 422, "gradient"),
        ({"models": ["nope"], "text": TEXT}, 404, "valid names"),
        ({"models": ["lstm"], "text": "   "}, 422, "text"),
        # over the tiny LSTM's n_ctx (128) and the influence limit: either says how much to cut
        ({"models": ["lstm"], "text": "word " * (MAX_INFLUENCE_TOKENS + 1)}, 422, "shorten it by"),
        ({"models": [], "text": TEXT}, 422, "at least 1"),
        ({"models": ["lstm", "lstm"], "text": TEXT}, 422, "distinct"),
        ({"models": ["a", "b", "c", "d", "e"], "text": TEXT}, 422, "at most 4 items"),
    ],
)
def test_bad_input_is_a_clear_4xx(client, problem, body, status, word):
    assert word in problem(client.post(INFLUENCE, json=body), status)["detail"]


def test_texts_over_the_influence_limit_are_refused_naming_it(make_client, tmp_path, problem):
    # an RNN that reads 1,024 tokens: the influence limit, not its n_ctx, refuses the text
    write_tiny_checkpoints(tmp_path, {"rnn": {**RECURRENT, "n_ctx": 1024}})
    client = make_client(tmp_path)
    text = "word " * (MAX_INFLUENCE_TOKENS + 5)
    detail = problem(client.post(INFLUENCE, json={"models": ["rnn"], "text": text}), 422)["detail"]
    assert f"at most {MAX_INFLUENCE_TOKENS} tokens" in detail and "shorten it" in detail
    assert client.post("/api/v1/trace", json={"model": "rnn", "text": text}).status_code == 200


def test_a_translation_model_is_refused_with_the_right_endpoint(make_client, translation_dir, problem):
    client = make_client(translation_dir)
    body = problem(client.post(INFLUENCE, json={"models": ["transformer-enfr"], "text": "I am cold."}), 422)
    assert "/api/v1/translate" in body["detail"]
