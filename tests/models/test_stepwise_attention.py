"""``attention_steps`` against an independent float64 forward pass written here from the weights
(no code shared with ``models.transformer`` or ``models.stepwise``), with plain and smeared keys:
every step, and the two identities (weights = the trace's attention row, resid_post = the
trace's next residual state) to 1e-5; and the what-if temperature."""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
import pytest
import torch

from models.checkpoint import CHECKPOINT_DIR
from models.errors import EmptyTextError, MissingPartError, OptionError, TemperatureError
from models.lm import LanguageModel, load_model
from models.stepwise import AttentionSteps, attention_steps, softmax_with_temperature
from models.tokenizer import Tokenizer
from tests.tiny import tiny_net

TEXT = "The quick brown fox jumps over the lazy dog, and the dog, being lazy, lets it."
TOL = {"atol": 1e-5, "rtol": 1e-5}
LONG_TEXT = (
    "Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my "
    "purse, and nothing particular to interest me on shore, I thought I would sail about a little and "
    "see the watery part of the world. "
) * 8


@pytest.fixture(scope="module", params=["plain", "smeared"])
def transformer(
    request: pytest.FixtureRequest, tiny_models: dict[str, LanguageModel], tokenizer: Tokenizer
) -> LanguageModel:
    plain = tiny_models["transformer"]
    if request.param == "plain":
        return plain
    net = tiny_net("transformer", {**dataclasses.asdict(plain.net.cfg), "smear_keys": True}, seed=7)
    return LanguageModel("tiny-smeared", net, tokenizer)


def _f64(x: torch.Tensor) -> np.ndarray:
    return x.detach().double().numpy()


def _layer_norm(x: np.ndarray, ln: torch.nn.LayerNorm) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + ln.eps) * _f64(ln.weight) + _f64(ln.bias)


def _reference(lm: LanguageModel, text: str) -> list[dict[str, np.ndarray]]:
    """Per layer, every quantity of the block for every head and position, in float64."""
    net, ids = lm.net, lm.tokenizer.encode(text).ids
    n, d, nh = len(ids), net.cfg.d_model, net.cfg.n_heads
    dh = d // nh
    x = _f64(net.wte.weight)[list(ids)] + _f64(net.wpe.weight)[:n]
    layers = []
    for block in net.blocks:
        h = _layer_norm(x, block.ln_1)
        w, b = _f64(block.attn.qkv.weight), _f64(block.attn.qkv.bias)  # [3d, d], [3d]
        q, k_raw, v = (
            (h @ w[p * d : (p + 1) * d].T + b[p * d : (p + 1) * d]).reshape(n, nh, dh) for p in range(3)
        )
        k = k_raw.copy()
        if block.attn.smear is not None:
            keep = 1 / (1 + np.exp(-_f64(block.attn.smear)))  # [nh]
            for j in range(n):
                k[j] = keep[:, None] * k_raw[j] + (1 - keep[:, None]) * k_raw[max(j - 1, 0)]
        scores = np.einsum("qhe,khe->hqk", q, k)  # [nh, T(query), T(key)]
        scaled = scores / math.sqrt(dh)
        future = np.triu(np.ones((n, n), dtype=bool), 1)
        e = np.where(future, 0.0, np.exp(scaled - np.where(future, -np.inf, scaled).max(-1, keepdims=True)))
        weights = e / e.sum(-1, keepdims=True)
        z = np.einsum("hqk,khe->qhe", weights, v)  # [T, nh, dh]
        w_o = _f64(block.attn.proj.weight).T  # [d (concat), d]
        attn_out = z.reshape(n, d) @ w_o + _f64(block.attn.proj.bias)
        mid = x + attn_out
        fc, out = block.mlp[0], block.mlp[2]
        pre = _layer_norm(mid, block.ln_2) @ _f64(fc.weight).T + _f64(fc.bias)
        mlp = (0.5 * pre * (1 + np.vectorize(math.erf)(pre / math.sqrt(2)))) @ _f64(out.weight).T + _f64(
            out.bias
        )
        layers.append(
            {"resid_pre": x, "x_ln": h, "q": q, "k_raw": k_raw, "k": k, "v": v, "scores": scores,
             "scaled": scaled, "weights": weights, "z": z, "w_o": w_o, "attn_out": attn_out,
             "resid_mid": mid, "mlp_out": mlp, "resid_post": mid + mlp, "w": w, "b": b}
        )  # fmt: skip
        x = mid + mlp
    return layers


def _cases(lm: LanguageModel) -> list[tuple[int, int, int]]:
    n = len(lm.tokenizer.encode(TEXT))
    cfg = lm.net.cfg
    return [
        (layer, head, q)
        for layer in range(cfg.n_layers)
        for head in range(cfg.n_heads)
        for q in (0, 5, n - 1)
    ]


def _close(got: np.ndarray, want: np.ndarray, name: str) -> None:
    np.testing.assert_allclose(np.asarray(got, np.float64), want, **TOL, err_msg=name)


def test_every_step_equals_an_independent_float64_recomputation(transformer: LanguageModel) -> None:
    ref = _reference(transformer, TEXT)
    d, dh = transformer.net.cfg.d_model, transformer.net.cfg.d_head
    for layer, head, q in _cases(transformer):
        s = attention_steps(transformer, TEXT, layer, head, q)
        r = ref[layer]
        cols = slice(head * dh, (head + 1) * dh)
        _close(s.resid_pre, r["resid_pre"][q], "resid_pre")
        _close(s.x_ln, r["x_ln"], "x_ln")
        for p, (w, b) in enumerate(((s.w_q, s.b_q), (s.w_k, s.b_k), (s.w_v, s.b_v))):
            _close(w, r["w"][p * d : (p + 1) * d][cols].T, f"w part {p}")
            _close(b, r["b"][p * d : (p + 1) * d][cols], f"b part {p}")
        _close(s.q, r["q"][q, head], "q")
        _close(s.k_raw, r["k_raw"][:, head], "k_raw")
        _close(s.k, r["k"][:, head], "k")
        _close(s.v, r["v"][:, head], "v")
        np.testing.assert_array_equal(s.visible, np.arange(len(s.tokens)) <= q)
        _close(s.scores[s.visible], r["scores"][head, q][s.visible], "scores")
        _close(s.scaled_scores[s.visible], r["scaled"][head, q][s.visible], "scaled scores")
        _close(s.weights, r["weights"][head, q], "weights")
        _close(s.z, r["z"][q], "z")
        _close(s.concat, r["z"][q].reshape(d), "concat")
        _close(s.w_o, r["w_o"], "w_o")
        _close(s.attn_out, r["attn_out"][q], "attn_out")
        _close(s.resid_mid, r["resid_mid"][q], "resid_mid")
        _close(s.mlp_out, r["mlp_out"][q], "mlp_out")
        _close(s.resid_post, r["resid_post"][q], "resid_post")


def test_weights_are_the_trace_row_and_the_result_is_the_next_residual_state(
    transformer: LanguageModel,
) -> None:
    trace = transformer.trace(TEXT)
    for layer, head, q in _cases(transformer):
        s = attention_steps(transformer, TEXT, layer, head, q)
        np.testing.assert_allclose(s.weights, trace.attention["self"][layer, head, q], atol=1e-5, rtol=0)
        np.testing.assert_allclose(s.resid_post, trace.states["resid"][layer, q], **TOL)
        np.testing.assert_array_equal(s.trace_weights, trace.attention["self"][layer, head, q])
        np.testing.assert_array_equal(s.trace_resid_post, trace.states["resid"][layer, q])
        assert s.weights_error <= 1e-5 and s.resid_error <= 1e-5
        if layer > 0:  # the block input is the model's previous residual state
            np.testing.assert_array_equal(s.resid_pre, trace.states["resid"][layer - 1, q])


def test_steps_are_consistent_with_each_other(transformer: LanguageModel) -> None:
    """The arithmetic a reader follows on the page adds up, to float32 precision."""
    for layer, head, q in _cases(transformer):
        s = attention_steps(transformer, TEXT, layer, head, q)
        x = s.resid_pre.astype(np.float64)
        assert math.isclose(s.ln_mean, x.mean(), abs_tol=1e-5)
        assert math.isclose(s.ln_std**2, x.var() + 1e-5, rel_tol=1e-4)
        np.testing.assert_allclose(s.q, s.x_ln[q] @ s.w_q + s.b_q, **TOL)
        np.testing.assert_allclose(s.k_raw, s.x_ln @ s.w_k + s.b_k, **TOL)
        np.testing.assert_allclose(s.v, s.x_ln @ s.w_v + s.b_v, **TOL)
        np.testing.assert_allclose(s.scores, s.k @ s.q, **TOL)
        assert s.scale == 1 / math.sqrt(s.d_head)
        np.testing.assert_allclose(s.scaled_scores, s.scores * s.scale, **TOL)
        assert (s.weights[~s.visible] == 0).all() and (s.weights[s.visible] > 0).all()
        assert math.isclose(float(s.weights.sum()), 1.0, abs_tol=1e-6)
        np.testing.assert_allclose(s.z[head], s.weights @ s.v, **TOL)
        np.testing.assert_array_equal(s.concat, s.z.reshape(-1))
        np.testing.assert_allclose(s.head_out.sum(0) + s.b_o, s.attn_out, **TOL)
        np.testing.assert_allclose(s.concat @ s.w_o + s.b_o, s.attn_out, **TOL)
        np.testing.assert_allclose(s.resid_mid, s.resid_pre + s.attn_out, **TOL)
        np.testing.assert_allclose(s.resid_post, s.resid_mid + s.mlp_out, **TOL)


def test_smeared_keys_are_shown_mixed_with_their_predecessor(transformer: LanguageModel) -> None:
    s = attention_steps(transformer, TEXT, 1, 1, 9)
    if transformer.net.cfg.smear_keys:
        assert s.smear_keep is not None and 0 < s.smear_keep < 1
        prev = np.concatenate([s.k_raw[:1], s.k_raw[:-1]])
        np.testing.assert_allclose(s.k, s.smear_keep * s.k_raw + (1 - s.smear_keep) * prev, **TOL)
        assert np.abs(s.k - s.k_raw).max() > 0.01  # so the check above is not vacuous
    else:
        assert s.smear_keep is None
        np.testing.assert_array_equal(s.k, s.k_raw)


def test_the_row_is_not_uniform_so_a_wrong_scale_would_show(transformer: LanguageModel) -> None:
    s = attention_steps(transformer, TEXT, 0, 0, 12)
    seen = s.weights[s.visible]
    assert float(seen.max() - seen.min()) > 0.05


def test_every_array_is_read_only_float32_with_the_documented_shape(transformer: LanguageModel) -> None:
    s = attention_steps(transformer, TEXT, 1, 0, 3)
    n, cfg = len(s.tokens), transformer.net.cfg
    d, nh, dh = cfg.d_model, cfg.n_heads, cfg.d_head
    shapes = {
        "resid_pre": (d,), "x_ln": (n, d), "w_q": (d, dh), "b_q": (dh,), "w_k": (d, dh), "b_k": (dh,),
        "w_v": (d, dh), "b_v": (dh,), "q": (dh,), "k_raw": (n, dh), "k": (n, dh), "v": (n, dh),
        "scores": (n,), "scaled_scores": (n,), "visible": (n,), "weights": (n,), "z": (nh, dh),
        "concat": (d,), "w_o": (d, d), "b_o": (d,), "head_out": (nh, d), "attn_out": (d,),
        "resid_mid": (d,), "mlp_out": (d,), "resid_post": (d,), "trace_weights": (n,),
        "trace_resid_post": (d,),
    }  # fmt: skip
    arrays = {f.name: getattr(s, f.name) for f in dataclasses.fields(AttentionSteps)}
    arrays = {k: v for k, v in arrays.items() if isinstance(v, np.ndarray)}
    assert set(arrays) == set(shapes)
    for name, arr in arrays.items():
        assert arr.shape == shapes[name], name
        assert arr.dtype == (np.bool_ if name == "visible" else np.float32), name
        assert not arr.flags.writeable, name
    assert (s.layer, s.head, s.query, s.n_heads, s.d_head) == (1, 0, 3, nh, dh)


def test_temperature_one_gives_the_model_weights(transformer: LanguageModel) -> None:
    s = attention_steps(transformer, TEXT, 1, 1, 10)
    np.testing.assert_allclose(s.with_temperature(1.0), s.weights, atol=1e-6, rtol=0)


def test_temperature_sharpens_towards_the_top_score_and_flattens_towards_uniform() -> None:
    scaled = np.array([1.0, 3.0, 2.0, 50.0], dtype=np.float32)  # the last key is masked
    visible = np.array([True, True, True, False])
    cold = softmax_with_temperature(scaled, visible, 1e-3)
    np.testing.assert_array_equal(cold, [0, 1, 0, 0])
    hot = softmax_with_temperature(scaled, visible, 1e6)
    np.testing.assert_allclose(hot, [1 / 3, 1 / 3, 1 / 3, 0], atol=1e-5)
    mid = softmax_with_temperature(scaled, visible, 2.0)
    e = np.exp(np.array([1.0, 3.0, 2.0]) / 2.0)
    np.testing.assert_allclose(mid[:3], e / e.sum(), rtol=1e-6)
    assert mid[3] == 0.0
    assert softmax_with_temperature(scaled, visible, 1e-300)[1] == 1.0  # no overflow, no NaN


def test_temperature_works_on_a_whole_map() -> None:
    scaled = np.random.default_rng(0).normal(size=(3, 4, 4))
    visible = np.tril(np.ones((4, 4), dtype=bool))
    w = softmax_with_temperature(scaled, visible, 0.5)
    assert w.shape == (3, 4, 4)
    np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-6)
    assert (w[..., ~visible] == 0).all()


@pytest.mark.parametrize("tau", [0.0, -1.0, math.nan, math.inf])
def test_temperature_that_is_not_positive_and_finite_is_refused(tau: float) -> None:
    with pytest.raises(TemperatureError, match="above 0"):
        softmax_with_temperature(np.zeros(3), np.ones(3, dtype=bool), tau)


@pytest.mark.parametrize(
    ("layer", "head", "query", "field", "top"),
    [(2, 0, 0, "layer", 1), (-1, 0, 0, "layer", 1), (0, 2, 0, "head", 1), (0, 0, 2, "query", 1)],
)
def test_out_of_range_indices_name_the_range(
    tiny_models: dict[str, LanguageModel], layer: int, head: int, query: int, field: str, top: int
) -> None:
    with pytest.raises(OptionError, match=rf"^{field} is .*; choose a value from 0 to {top}$"):
        attention_steps(tiny_models["transformer"], "The cat", layer, head, query)


@pytest.mark.parametrize("arch", ["lstm", "gru", "rnn"])
def test_a_model_without_attention_is_refused_with_what_to_choose(
    tiny_models: dict[str, LanguageModel], arch: str
) -> None:
    with pytest.raises(MissingPartError, match="choose a Transformer"):
        attention_steps(tiny_models[arch], "The cat", 0, 0, 0)


def test_empty_text_is_refused(tiny_models: dict[str, LanguageModel]) -> None:
    with pytest.raises(EmptyTextError):
        attention_steps(tiny_models["transformer"], "", 0, 0, 0)


def test_nothing_is_written_on_the_model(tiny_models: dict[str, LanguageModel]) -> None:
    lm = tiny_models["transformer"]
    before = {k: v.clone() for k, v in lm.net.state_dict().items()}
    attributes = set(vars(lm.net)) | {k for m in lm.net.modules() for k in vars(m)}
    attention_steps(lm, TEXT, 1, 1, 4)
    assert not lm.net.training
    assert attributes == set(vars(lm.net)) | {k for m in lm.net.modules() for k in vars(m)}
    for k, v in lm.net.state_dict().items():
        assert torch.equal(v, before[k]), k


@pytest.mark.parametrize(("layer", "head"), [(0, 0), (1, 3), (3, 2)])
def test_shipped_transformer_identities_hold_over_its_whole_context(layer: int, head: int) -> None:
    if not (CHECKPOINT_DIR / "transformer.safetensors").is_file():
        pytest.skip("shipped transformer not trained yet")
    lm = _shipped()
    text = lm.tokenizer.decode(lm.tokenizer.encode(LONG_TEXT).ids[: lm.n_ctx])
    assert len(lm.tokenizer.encode(text)) >= lm.n_ctx - 2
    for query in (1, len(lm.tokenizer.encode(text)) - 1):
        s = attention_steps(lm, text, layer, head, query)
        assert s.weights_error <= 1e-5
        np.testing.assert_allclose(s.resid_post, s.trace_resid_post, **TOL)


@functools.cache
def _shipped() -> LanguageModel:
    return load_model("transformer")
