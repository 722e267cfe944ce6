"""Serialisation follows the spec: an attention kind declared causal is sent as its lower
triangle in f16/u8, a bidirectional one (a test-only model) whole, in every encoding."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.registry import Entry
from app.serialize import dumps, encode_array
from models.lm import LanguageModel
from tests.bidirectional import BidirectionalNet

TEXT = "Attention that looks both ways, forwards and backwards."


@pytest.fixture
def bidi_client(make_client, checkpoint_dir):
    client = make_client(checkpoint_dir, cache_size=0)
    registry = client.app.state.registry
    tokenizer = registry.entries["transformer"].model.tokenizer
    net = BidirectionalNet(tokenizer.vocab_size)
    model = LanguageModel("bidirectional", net, tokenizer)
    registry.entries["bidirectional"] = Entry("bidirectional", model)
    return client, model


@pytest.mark.parametrize("encoding", ["json", "f16", "u8"])
def test_bidirectional_attention_comes_back_whole_in_every_encoding(bidi_client, decode, encoding):
    client, model = bidi_client
    r = client.post("/api/v1/trace", json={"model": "bidirectional", "text": TEXT, "encoding": encoding})
    assert r.status_code == 200, r.text
    wire = r.json()["parts"]["attention"]["self"]
    if encoding != "json":
        assert wire["layout"] == "dense"
    got = decode(wire)
    want = model.trace(TEXT).attention["self"]
    assert got.shape == want.shape and got.shape[-1] == got.shape[-2] > 5
    assert (np.triu(want, 1) > 1e-3).any(), "the fixture must attend to later tokens"
    tolerance = {"json": 1e-4, "f16": 1e-3, "u8": 1 / 255}[encoding]
    np.testing.assert_allclose(got, want, atol=tolerance)


def test_models_endpoint_declares_the_fixture_non_causal(bidi_client):
    client, _ = bidi_client
    info = {m["name"]: m for m in client.get("/api/v1/models").json()["models"]}
    kinds = info["bidirectional"]["spec"]["attention"]
    assert kinds == [
        {
            "name": "self",
            "causal": False,
            "query_role": "input",
            "key_role": "input",
            "n_layers": 1,
            "n_heads": 2,
        }
    ]
    assert info["transformer"]["spec"]["attention"][0]["causal"] is True


@pytest.mark.parametrize("encoding", ["f16", "u8"])
def test_causal_layout_only_where_declared(encoding):
    x = np.tril(np.random.default_rng(0).random((1, 2, 6, 6))).astype(np.float32)
    assert encode_array(x, encoding, 4, causal=True)["layout"] == "causal_lower"
    assert encode_array(x, encoding, 4, causal=False)["layout"] == "dense"


def test_json_arrays_join_the_response_as_written():
    big = np.linspace(-2, 2, 600, dtype=np.float32).reshape(3, 200)
    out = json.loads(dumps({"a": encode_array(big, "json", 3), "s": "after"}))
    np.testing.assert_array_equal(np.array(out["a"]["data"]), np.round(big.astype(np.float64), 3))
    assert out["s"] == "after" and out["a"]["shape"] == [3, 200]
