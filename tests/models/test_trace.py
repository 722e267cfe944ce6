"""``LanguageModel.trace`` on every architecture: agreement with the training forward,
prefix consistency, declared parts, predictions, odd text, length errors and thread safety."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from models.errors import EmptyTextError, TooLongError
from models.lm import LanguageModel
from models.tokenizer import Tokenizer
from models.trace import Trace

TEXT = "It was the best of times, it was the worst of times; it was the age of wisdom."
ODD_TEXTS = {
    "control": "tab\there\x00nul\x07bell\r\nline\x1bescape\x7f",
    "emoji": "I 😀 love 👍🏽 family 👨‍👩‍👧 flags 🇮🇹!",
    "rtl": "مرحبا بالعالم and שלום עולם",
    "combining": "e\u0301 n\u0303 a\u0308\u0304 Z\u0351\u0352\u0353 \u0301",
    "mixed": "naïve café — “quotes” 日本語 \u200b\ufeff end",
}


def _as_tensor(x: np.ndarray) -> torch.Tensor:
    return torch.tensor(np.asarray(x))


def test_trace_logits_equal_training_forward(lm: LanguageModel) -> None:
    trace = lm.trace(TEXT)
    assert not lm.net.training
    with torch.no_grad():
        expected = lm.net(torch.tensor([trace.tokens["input"].ids]))[0]
    torch.testing.assert_close(_as_tensor(trace.logits), expected, atol=1e-4, rtol=0)


def _prefix_of(tokenizer: Tokenizer, text: str, k: int) -> str:
    ids = tokenizer.encode_ids(text)
    prefix = tokenizer.decode(ids[:k])
    assert tokenizer.encode_ids(prefix) == ids[:k], "prefix must end on a token boundary"
    assert text.startswith(prefix)
    return prefix


def test_trace_of_prefix_equals_first_rows_of_full_trace(lm: LanguageModel) -> None:
    k = 9
    prefix = _prefix_of(lm.tokenizer, TEXT, k)
    full, part = lm.trace(TEXT), lm.trace(prefix)
    assert len(part.tokens["input"]) == k < len(full.tokens["input"])
    assert (
        part.tokens["input"].ids == full.tokens["input"].ids[:k]
        and part.tokens["input"].spans == full.tokens["input"].spans[:k]
    )
    close = {"atol": 1e-5, "rtol": 1e-5}
    for kind, pattern in part.attention.items():
        np.testing.assert_allclose(pattern, full.attention[kind][:, :, :k, :k], **close)
    for group in ("states", "gates"):
        got, want = getattr(part, group), getattr(full, group)
        assert got.keys() == want.keys()
        for name in got:
            np.testing.assert_allclose(got[name], want[name][:, :k], **close, err_msg=f"{group}.{name}")
    np.testing.assert_allclose(part.logits, full.logits[:k], atol=1e-4, rtol=0)
    p, f = part.predictions, full.predictions
    np.testing.assert_array_equal(p.top_ids, f.top_ids[:k])
    np.testing.assert_allclose(p.top_probs, f.top_probs[:k], **close)
    np.testing.assert_allclose(p.entropy, f.entropy[:k], **close)
    np.testing.assert_allclose(p.surprisal[:-1], f.surprisal[: k - 1], **close)
    assert math.isnan(p.surprisal[-1]) and not math.isnan(f.surprisal[k - 1])


EXPECTED_PARTS = {
    "transformer": {"attention", "resid", "predictions", "logits"},
    "lstm": {"h", "c", "gates", "predictions", "logits"},
    "gru": {"h", "gates", "predictions", "logits"},
    "rnn": {"h", "predictions", "logits"},
}
EXPECTED_GATES = {"transformer": set(), "lstm": {"i", "f", "g", "o"}, "gru": {"r", "z", "n"}, "rnn": set()}


def test_trace_declares_exactly_the_parts_it_has(arch: str, lm: LanguageModel) -> None:
    trace = lm.trace(TEXT)
    assert set(trace.parts) == EXPECTED_PARTS[arch] == set(lm.spec.parts)
    assert set(trace.gates) == EXPECTED_GATES[arch]
    assert ("h" in trace.states) == (arch != "transformer")
    assert ("c" in trace.states) == (arch == "lstm")
    assert bool(trace.attention) == (arch == "transformer")
    assert trace.family == lm.spec.architecture == arch


def test_trace_shapes_follow_the_documented_layout(lm: LanguageModel) -> None:
    trace = lm.trace(TEXT)
    n_tokens, cfg = len(trace.tokens["input"]), lm.net.cfg
    assert trace.logits.shape == (n_tokens, lm.tokenizer.vocab_size)
    for pattern in trace.attention.values():
        assert pattern.shape == (cfg.n_layers, cfg.n_heads, n_tokens, n_tokens)
    width = getattr(cfg, "d_hidden", None) or cfg.d_model
    for arr in (*trace.states.values(), *trace.gates.values()):
        assert arr.shape == (cfg.n_layers, n_tokens, width)
        assert arr.dtype == np.float32


def test_top_predictions_are_sorted_probabilities_of_the_logits(lm: LanguageModel) -> None:
    trace = lm.trace(TEXT, top_k=7)
    pred = trace.predictions
    assert pred.top_ids.shape == pred.top_probs.shape == (len(trace.tokens["input"]), 7)
    assert (np.diff(pred.top_probs, axis=1) <= 0).all()
    assert ((pred.top_probs > 0) & (pred.top_probs <= 1)).all()
    probs = torch.softmax(_as_tensor(trace.logits).double(), dim=-1)
    np.testing.assert_allclose(pred.top_probs, np.take_along_axis(probs.numpy(), pred.top_ids, 1), atol=1e-6)
    np.testing.assert_array_equal(pred.top_ids[:, 0], probs.argmax(-1).numpy())


def test_surprisal_is_bits_of_the_actual_next_token(lm: LanguageModel) -> None:
    trace = lm.trace(TEXT)
    logp = torch.log_softmax(_as_tensor(trace.logits).double(), dim=-1)
    ids = trace.tokens["input"].ids
    expected = [-float(logp[t, ids[t + 1]]) / math.log(2) for t in range(len(ids) - 1)]
    np.testing.assert_allclose(trace.predictions.surprisal[:-1], expected, rtol=1e-5, atol=1e-5)
    assert math.isnan(trace.predictions.surprisal[-1])


def test_entropy_is_bits_of_the_predicted_distribution(lm: LanguageModel) -> None:
    trace = lm.trace(TEXT)
    logp = torch.log_softmax(_as_tensor(trace.logits).double(), dim=-1)
    expected = -(logp.exp() * logp).sum(-1) / math.log(2)
    np.testing.assert_allclose(trace.predictions.entropy, expected.numpy(), rtol=1e-5, atol=1e-5)
    assert (trace.predictions.entropy <= math.log2(lm.tokenizer.vocab_size) + 1e-4).all()


def test_single_token_trace_has_only_a_nan_surprisal(lm: LanguageModel) -> None:
    trace = lm.trace("a")
    assert len(trace.tokens["input"]) == 1
    assert math.isnan(trace.predictions.surprisal[0])
    assert np.isfinite(trace.logits).all()


@pytest.mark.parametrize("text", ODD_TEXTS.values(), ids=ODD_TEXTS.keys())
def test_trace_handles_unusual_unicode(lm: LanguageModel, text: str) -> None:
    trace = lm.trace(text)
    tokens = lm.tokenizer.encode(text)
    assert trace.tokens["input"] == tokens and len(trace.tokens["input"]) == len(tokens.ids) > 0
    assert lm.tokenizer.decode(trace.tokens["input"].ids) == text
    assert trace.logits.shape[0] == len(tokens)
    for arr in (trace.logits, *trace.attention.values(), *trace.states.values(), *trace.gates.values()):
        assert np.isfinite(arr).all()
    assert np.isfinite(trace.predictions.surprisal[:-1]).all()
    assert np.isfinite(trace.predictions.entropy).all()


def test_empty_text_raises_empty_text_error(lm: LanguageModel) -> None:
    with pytest.raises(EmptyTextError):
        lm.trace("")


def _text_of_n_tokens(tokenizer: Tokenizer, n: int) -> str:
    text = "the" + " the" * (n - 1)
    assert len(tokenizer.encode(text)) == n
    return text


def test_text_of_exactly_n_ctx_tokens_is_traced(lm: LanguageModel) -> None:
    trace = lm.trace(_text_of_n_tokens(lm.tokenizer, lm.n_ctx))
    assert len(trace.tokens["input"]) == lm.n_ctx


def test_too_long_text_raises_error_naming_limit_and_count(lm: LanguageModel) -> None:
    n_tokens = lm.n_ctx + 3
    with pytest.raises(TooLongError) as info:
        lm.trace(_text_of_n_tokens(lm.tokenizer, n_tokens))
    message = str(info.value)
    assert str(lm.n_ctx) in message and "n_ctx" in message
    assert str(n_tokens) in message
    assert (info.value.n_tokens, info.value.n_ctx) == (n_tokens, lm.n_ctx)


def _assert_same_trace(got: Trace, want: Trace) -> None:
    assert got.text == want.text and got.tokens["input"] == want.tokens["input"]
    np.testing.assert_array_equal(got.logits, want.logits)
    for group in ("attention", "states", "gates"):
        g, w = getattr(got, group), getattr(want, group)
        assert g.keys() == w.keys()
        for name in g:
            np.testing.assert_array_equal(g[name], w[name])
    np.testing.assert_array_equal(got.predictions.top_ids, want.predictions.top_ids)
    np.testing.assert_array_equal(got.predictions.surprisal, want.predictions.surprisal)


def test_concurrent_traces_equal_sequential_traces(lm: LanguageModel) -> None:
    texts = [f"{TEXT[: 10 + 7 * i]} number {i}" for i in range(8)] * 2
    sequential = [lm.trace(t) for t in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(lm.trace, texts))
    for got, want in zip(concurrent, sequential, strict=True):
        _assert_same_trace(got, want)


def _hook_snapshot(net: torch.nn.Module) -> dict[str, object]:
    """Attribute names, hook counts and train/eval flag of every submodule, plus global hooks."""
    from torch.nn.modules import module as torch_module

    snap: dict[str, object] = {
        f"<global {k}>": len(v)
        for k, v in vars(torch_module).items()
        if k.startswith("_global_") and "hook" in k and hasattr(v, "__len__")
    }
    for name, module in net.named_modules():
        snap[name] = (
            sorted(vars(module)),
            {k: len(v) for k, v in vars(module).items() if k.endswith("hooks") and hasattr(v, "__len__")},
            module.training,
        )
    return snap


def test_trace_leaves_no_attributes_hooks_or_weight_changes_on_the_net(fresh_lm: LanguageModel) -> None:
    lm, net = fresh_lm, fresh_lm.net
    before = _hook_snapshot(net)
    weights = {k: v.clone() for k, v in net.state_dict().items()}
    lm.trace(TEXT)
    assert _hook_snapshot(net) == before
    for name, value in net.state_dict().items():
        assert torch.equal(value, weights[name]), name
    assert all(p.grad is None for p in net.parameters())


def test_trace_arrays_are_read_only(lm: LanguageModel) -> None:
    trace = lm.trace(TEXT)
    arrays = [
        trace.logits,
        *trace.attention.values(),
        *trace.states.values(),
        *trace.gates.values(),
        trace.predictions.top_ids,
        trace.predictions.top_probs,
        trace.predictions.surprisal,
        trace.predictions.entropy,
    ]
    for arr in arrays:
        assert not arr.flags.writeable
        with pytest.raises(ValueError):
            arr[(0,) * arr.ndim] = 0
    with pytest.raises(TypeError):
        trace.states["extra"] = trace.logits  # type: ignore[index]
