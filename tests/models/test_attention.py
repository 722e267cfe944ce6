"""Transformer attention in the trace: a distribution per row, causal, and equal to a
recomputation from the weights that shares no code with ``models.transformer``, with plain
and with smeared keys."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, NamedTuple

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from models.lm import LanguageModel
from models.tokenizer import Tokenizer
from models.trace import Trace
from tests.tiny import tiny_net

TEXT = "The quick brown fox jumps over the lazy dog, and the dog, being lazy, lets it."


def _f64(x: torch.Tensor | np.ndarray) -> torch.Tensor:
    return torch.tensor(np.asarray(x.detach() if isinstance(x, torch.Tensor) else x), dtype=torch.float64)


def _softmax_rows(scores: torch.Tensor) -> torch.Tensor:
    """Row softmax by hand; -inf entries become exact zeros."""
    shifted = scores - scores.max(dim=-1, keepdim=True).values
    e = torch.exp(shifted)
    return e / e.sum(dim=-1, keepdim=True)


def _layer_norm(x: torch.Tensor, ln: torch.nn.LayerNorm) -> torch.Tensor:
    return F.layer_norm(x, x.shape[-1:], _f64(ln.weight), _f64(ln.bias), ln.eps)


class Setup(NamedTuple):
    net: Any
    trace: Trace
    embedded: torch.Tensor  # [T, d_model] token + position embeddings, float64
    d_model: int
    n_heads: int
    d_head: int


@pytest.fixture(scope="module", params=["plain", "smeared"])
def transformer(
    request: pytest.FixtureRequest, tiny_models: dict[str, LanguageModel], tokenizer: Tokenizer
) -> LanguageModel:
    """The tiny Transformer, and the same architecture with smeared keys."""
    plain = tiny_models["transformer"]
    if request.param == "plain":
        return plain
    net = tiny_net("transformer", {**dataclasses.asdict(plain.net.cfg), "smear_keys": True}, seed=7)
    return LanguageModel("tiny-smeared", net, tokenizer)


def _keys(h: torch.Tensor, wk: torch.Tensor, bk: torch.Tensor, attn: Any, head: int) -> torch.Tensor:
    """A head's keys [T, d_head]; smeared: σ(α)·k_j + (1 − σ(α))·k_{j−1}, with k_{−1} = k_0."""
    k = h @ wk.T + bk
    if attn.smear is None:
        return k
    keep = 1.0 / (1.0 + math.exp(-float(attn.smear[head].detach())))
    smeared = k.clone()
    for j in range(len(k)):
        smeared[j] = keep * k[j] + (1.0 - keep) * k[max(j - 1, 0)]
    return smeared


def _setup(transformer: LanguageModel) -> Setup:
    """The tiny Transformer's trace of TEXT, and the input to its first block."""
    lm = transformer
    net, trace = lm.net, lm.trace(TEXT)
    ids = torch.tensor(trace.tokens["input"].ids)
    embedded = _f64(net.wte.weight)[ids] + _f64(net.wpe.weight)[: len(ids)]
    d_model, n_heads = net.cfg.d_model, net.cfg.n_heads
    return Setup(net, trace, embedded, d_model, n_heads, d_model // n_heads)


def test_attention_rows_sum_to_one_in_every_layer_and_head(transformer: LanguageModel) -> None:
    pattern = transformer.trace(TEXT).attention["self"]  # [L, H, T, T]
    assert pattern.ndim == 4 and pattern.shape[-1] == pattern.shape[-2]
    np.testing.assert_allclose(pattern.sum(axis=-1), 1.0, atol=1e-5)
    assert (pattern >= 0).all()


def test_attention_upper_triangle_is_exactly_zero(transformer: LanguageModel) -> None:
    pattern = transformer.trace(TEXT).attention["self"]
    t = pattern.shape[-1]
    future = np.triu(np.ones((t, t), dtype=bool), k=1)
    assert (pattern[..., future] == 0.0).all()
    # and the past is really attended to, so the check above is not vacuous
    assert (pattern[..., ~future] > 0.0).all()


def test_attention_equals_independent_recomputation_from_weights(transformer: LanguageModel) -> None:
    net, trace, embedded, d_model, n_heads, d_head = _setup(transformer)
    n_tokens = len(embedded)
    future = torch.ones(n_tokens, n_tokens, dtype=torch.bool).triu(1)
    for layer, block in enumerate(net.blocks):
        x = embedded if layer == 0 else _f64(trace.states["resid"][layer - 1])
        h = _layer_norm(x, block.ln_1)
        w, b = _f64(block.attn.qkv.weight), _f64(block.attn.qkv.bias)  # [3d, d], [3d]
        for head in range(n_heads):
            rows = [part * d_model + head * d_head + j for part in range(3) for j in range(d_head)]
            wq, wk = w[rows[:d_head]], w[rows[d_head : 2 * d_head]]
            bq, bk = b[rows[:d_head]], b[rows[d_head : 2 * d_head]]
            q, k = h @ wq.T + bq, _keys(h, wk, bk, block.attn, head)  # [T, d_head]
            scores = (q @ k.T / math.sqrt(d_head)).masked_fill(future, -math.inf)
            expected = _softmax_rows(scores)
            got = _f64(trace.attention["self"][layer, head])
            torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
        # the pattern must not be near-uniform, or a wrong scale would go unnoticed
        assert float(expected[-1].max() - expected[-1][expected[-1] > 0].min()) > 0.05


def test_block_output_equals_recomputation_from_the_traced_pattern(transformer: LanguageModel) -> None:
    net, trace, x, d_model, n_heads, d_head = _setup(transformer)
    for layer, block in enumerate(net.blocks):
        h = _layer_norm(x, block.ln_1)
        w, b = _f64(block.attn.qkv.weight), _f64(block.attn.qkv.bias)
        w_v, b_v = w[2 * d_model :], b[2 * d_model :]
        heads = []
        for head in range(n_heads):
            cols = slice(head * d_head, (head + 1) * d_head)
            v = h @ w_v[cols].T + b_v[cols]  # [T, d_head]
            heads.append(_f64(trace.attention["self"][layer, head]) @ v)
        z = torch.cat(heads, dim=-1)  # [T, d_model], heads side by side
        resid_mid = x + z @ _f64(block.attn.proj.weight).T + _f64(block.attn.proj.bias)
        fc, out = block.mlp[0], block.mlp[2]
        pre = _layer_norm(resid_mid, block.ln_2) @ _f64(fc.weight).T + _f64(fc.bias)
        gelu = 0.5 * pre * (1.0 + torch.erf(pre / math.sqrt(2.0)))
        resid_post = resid_mid + gelu @ _f64(out.weight).T + _f64(out.bias)
        torch.testing.assert_close(_f64(trace.states["resid"][layer]), resid_post, atol=1e-5, rtol=1e-5)
        x = resid_post


def test_smeared_keys_change_the_pattern(transformer: LanguageModel) -> None:
    """Without the smear the recomputation would differ, so the test above checks it."""
    if transformer.net.blocks[0].attn.smear is None:
        pytest.skip("plain keys")
    net = transformer.net
    trace = transformer.trace(TEXT)
    unsmeared = tiny_net(
        "transformer", {**dataclasses.asdict(transformer.net.cfg), "smear_keys": False}, seed=0
    )
    state = {k: v for k, v in net.state_dict().items() if not k.endswith("attn.smear")}
    unsmeared.load_state_dict(state)
    unsmeared.eval()
    with torch.no_grad():
        _, internals = unsmeared.forward_trace(torch.tensor([trace.tokens["input"].ids]))
    diff = (internals["attention"]["self"] - torch.tensor(np.asarray(trace.attention["self"]))).abs().max()
    assert float(diff) > 0.01


def test_smeared_trace_equals_training_forward_and_its_prefix_rows(transformer: LanguageModel) -> None:
    trace = transformer.trace(TEXT)
    with torch.no_grad():
        expected = transformer.net(torch.tensor([trace.tokens["input"].ids]))[0]
    torch.testing.assert_close(torch.tensor(np.asarray(trace.logits)), expected, atol=1e-4, rtol=0)
    k = 7
    part = transformer.net.forward_trace(torch.tensor([trace.tokens["input"].ids[:k]]))[1]["attention"][
        "self"
    ]
    np.testing.assert_allclose(part.detach().numpy(), trace.attention["self"][:, :, :k, :k], atol=1e-6)
