"""The compact encodings decode, by the documented format alone, to the same numbers as
the JSON encoding: f16 (base64, little-endian float16) and u8 (offset + scale * code), with
causal attention sent as its lower triangle."""

from __future__ import annotations

import base64

import numpy as np
import pytest

TEXT = "A tale of two cities, and of two more."
DECIMALS = 6
ROUNDING = 0.5 * 10**-DECIMALS + 1e-9
F16_RELATIVE = 1e-3  # float16 has an 11-bit significand: relative error <= 2**-11


def arrays(body):
    """Every wire array of a trace response, by a path name."""
    out = {}
    for part, value in body["parts"].items():
        if "shape" in value:
            out[part] = value
        else:
            out.update({f"{part}.{k}": v for k, v in value.items()})
    return out


def fetch(client, model, encoding, **extra):
    r = client.post(
        "/api/v1/trace",
        json={"model": model, "text": TEXT, "encoding": encoding, "decimals": DECIMALS, **extra},
    )
    assert r.status_code == 200, r.text
    return arrays(r.json())


@pytest.mark.parametrize("model", ["transformer", "lstm", "gru"])
def test_f16_decodes_to_the_json_values_within_float16_precision(client, decode, model):
    ref, f16 = fetch(client, model, "json"), fetch(client, model, "f16")
    assert ref.keys() == f16.keys()
    for name, arr in f16.items():
        assert arr["dtype"] == "float16"
        x, y = decode(arr), decode(ref[name])
        assert x.shape == y.shape == tuple(arr["shape"])
        assert np.all(np.abs(x - y) <= F16_RELATIVE * np.abs(y) + ROUNDING), name


@pytest.mark.parametrize("model", ["transformer", "lstm", "gru"])
def test_u8_decodes_to_the_json_values_within_half_a_step(client, decode, model):
    ref, u8 = fetch(client, model, "json"), fetch(client, model, "u8")
    assert ref.keys() == u8.keys()
    for name, arr in u8.items():
        assert arr["dtype"] == "uint8" and arr["scale"] > 0
        x, y = decode(arr), decode(ref[name])
        assert x.shape == y.shape
        assert np.all(np.abs(x - y) <= arr["scale"] / 2 + ROUNDING + 1e-12), name


@pytest.mark.parametrize("encoding", ["f16", "u8"])
def test_causal_attention_is_sent_as_its_lower_triangle(client, encoding):
    att = fetch(client, "transformer", encoding, parts=["attention"])["attention.self"]
    n_layers, n_heads, t, t2 = att["shape"]
    assert t == t2
    assert att["layout"] == "causal_lower"
    width = 2 if encoding == "f16" else 1
    assert len(base64.b64decode(att["data"])) == n_layers * n_heads * t * (t + 1) // 2 * width


def test_f16_attention_upper_triangle_reconstructs_as_zeros(client, decode):
    att = decode(fetch(client, "transformer", "f16", parts=["attention"])["attention.self"])
    t = att.shape[-1]
    upper = np.triu(np.ones((t, t), dtype=bool), k=1)
    assert np.all(att[..., upper] == 0)
    assert np.allclose(att.sum(-1), 1, atol=t * 1e-3)  # rows still sum to 1


def test_u8_attention_uses_the_fixed_zero_to_one_scale(client):
    att = fetch(client, "transformer", "u8", parts=["attention"])["attention.self"]
    assert att["offset"] == 0.0
    assert att["scale"] == pytest.approx(1 / 255)


def test_f16_data_is_little_endian(client, decode):
    arr = fetch(client, "lstm", "f16", parts=["h"])["h"]
    raw = base64.b64decode(arr["data"])
    big = np.frombuffer(raw, dtype=">f2").astype(np.float64)
    little = decode(arr).ravel()
    ref = decode(fetch(client, "lstm", "json", parts=["h"])["h"]).ravel()
    assert np.abs(little - ref).max() < 1e-2
    with np.errstate(invalid="ignore", over="ignore"):  # byte-swapped halves include inf/NaN
        assert not np.allclose(big, ref, atol=1e-2)


def test_dense_states_are_dense_in_compact_encodings(client):
    for encoding in ("f16", "u8"):
        arrays_ = fetch(client, "transformer", encoding, parts=["resid"])
        assert arrays_["resid"]["layout"] == "dense"


def test_compact_encodings_leave_predictions_in_json(client):
    r = client.post("/api/v1/trace", json={"model": "rnn", "text": TEXT, "encoding": "u8"})
    p = r.json()["predictions"]
    assert isinstance(p["top_probs"][0][0], float)
