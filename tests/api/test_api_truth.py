"""What the API sends is the models' own trace (``LanguageModel.trace``), to within the
rounding it states: attention, residual stream, h, c, gates and surprisal."""

from __future__ import annotations

import base64

import numpy as np
import pytest

TEXT = "Whether I shall turn out to be the hero of my own life, these pages must show."


def tolerance(decimals: int) -> float:
    return 10**-decimals / 2 + 1e-6


def api_trace(client, model, decimals, parts=None):
    body = {"model": model, "text": TEXT, "decimals": decimals}
    if parts:
        body["parts"] = parts
    r = client.post("/api/v1/trace", json=body)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("decimals", [2, 4, 6])
def test_api_attention_equals_the_models_trace(client, lms, decode, decimals):
    body = api_trace(client, "transformer", decimals, ["attention"])
    ref = lms["transformer"].trace(TEXT).attention["self"]
    got = decode(body["parts"]["attention"]["self"])
    assert got.shape == ref.shape
    assert np.abs(got - ref).max() <= tolerance(decimals)


def test_api_residual_stream_equals_the_models_trace(client, lms, decode):
    body = api_trace(client, "transformer", 4, ["resid"])
    ref = lms["transformer"].trace(TEXT).states["resid"]
    assert np.abs(decode(body["parts"]["resid"]) - ref).max() <= tolerance(4)


@pytest.mark.parametrize("model", ["lstm", "gru", "rnn"])
def test_api_recurrent_states_and_gates_equal_the_models_trace(client, lms, decode, model):
    body = api_trace(client, model, 5)
    ref = lms[model].trace(TEXT)
    parts = body["parts"]
    for name, state in ref.states.items():
        assert np.abs(decode(parts[name]) - state).max() <= tolerance(5), name
    assert set(parts.get("gates", {})) == set(ref.gates)
    for name, gate in ref.gates.items():
        assert np.abs(decode(parts["gates"][name]) - gate).max() <= tolerance(5), name


@pytest.mark.parametrize("decimals", [1, 4, 6])
@pytest.mark.parametrize("model", ["transformer", "lstm", "gru", "rnn"])
def test_api_predictions_equal_the_models_trace(client, lms, model, decimals):
    p = api_trace(client, model, decimals, ["predictions"])["predictions"]
    lm = lms[model]
    ref = lm.trace(TEXT, top_k=5).predictions
    assert p["top_ids"] == ref.top_ids.tolist()
    assert p["top_strings"] == [[lm.tokenizer.display(i) for i in row] for row in ref.top_ids.tolist()]
    surprisal = np.array(p["surprisal_bits"], dtype=np.float64)
    assert np.isnan(surprisal[-1]) and np.isnan(ref.surprisal[-1])
    assert np.abs(surprisal[:-1] - ref.surprisal[:-1]).max() <= tolerance(decimals)
    assert np.abs(np.array(p["entropy_bits"]) - ref.entropy).max() <= tolerance(decimals)
    # probabilities keep at least 4 decimals, so small ones do not all show as 0
    assert np.abs(np.array(p["top_probs"]) - ref.top_probs).max() <= tolerance(max(decimals, 4))
    assert p["mean_surprisal_bits"] == pytest.approx(
        float(np.nanmean(ref.surprisal.astype(np.float64))), abs=tolerance(decimals)
    )


def test_api_attention_rows_sum_to_one_and_upper_triangle_is_zero(client, decode):
    att = decode(api_trace(client, "transformer", 6, ["attention"])["parts"]["attention"]["self"])
    t = att.shape[-1]
    assert np.allclose(att.sum(-1), 1, atol=t * tolerance(6))
    assert np.all(att[..., np.triu_indices(t, k=1)[0], np.triu_indices(t, k=1)[1]] == 0)


def test_api_f16_is_exactly_the_float16_of_the_models_values(client, lms):
    """Bit for bit: the lower triangle of each attention map, then the residual stream."""
    body = {"model": "transformer", "text": TEXT, "encoding": "f16", "parts": ["attention", "resid"]}
    parts = client.post("/api/v1/trace", json=body).json()["parts"]
    ref = lms["transformer"].trace(TEXT)
    att = ref.attention["self"]
    t = att.shape[-1]
    rows, cols = np.tril_indices(t)
    expected = {
        "attention": att[..., rows, cols].astype("<f2").tobytes(),
        "resid": ref.states["resid"].astype("<f2").tobytes(),
    }
    got = {
        "attention": base64.b64decode(parts["attention"]["self"]["data"]),
        "resid": base64.b64decode(parts["resid"]["data"]),
    }
    assert got == expected
