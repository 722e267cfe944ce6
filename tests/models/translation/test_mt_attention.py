"""Every attention map, state and gate of a translation trace equals a float64 recomputation
from the weights that shares no code with ``models.translation``; rows are distributions,
the decoder's self-attention is causal, and the maps are not vacuous."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from models.translation.model import Translation, TranslationModel

from .conftest import SENTENCES

FRENCH = "Le chat s'est assis sur le tapis\u202f!"


def _f64(x: torch.Tensor) -> torch.Tensor:
    return x.detach().to(torch.float64)


def _lin(x: torch.Tensor, m: torch.nn.Linear) -> torch.Tensor:
    out = x @ _f64(m.weight).T
    return out + _f64(m.bias) if m.bias is not None else out


def _softmax_rows(scores: torch.Tensor) -> torch.Tensor:
    shifted = scores - scores.max(dim=-1, keepdim=True).values
    e = torch.exp(shifted)
    return e / e.sum(dim=-1, keepdim=True)


def _traces(mt: TranslationModel) -> list[Translation]:
    return [mt.translate(SENTENCES[0], max_len=12), mt.translate(SENTENCES[1], beam=3, max_len=9),
            mt.force(SENTENCES[1], FRENCH)]  # fmt: skip


def test_every_attention_row_is_a_distribution(mt: TranslationModel) -> None:
    for result in _traces(mt):
        assert set(result.trace.attention) == {k.name for k in mt.spec.attention}
        for name, pattern in result.trace.attention.items():
            np.testing.assert_allclose(pattern.sum(axis=-1), 1.0, atol=1e-5, err_msg=name)
            assert (pattern >= 0).all()


def test_cross_attention_runs_from_every_target_token_to_every_source_token(mt: TranslationModel) -> None:
    result = mt.force(SENTENCES[1], FRENCH)
    kind = mt.spec.attention_kind("cross")
    cross = result.trace.attention["cross"]
    n_src, n_tgt = len(result.trace.tokens["source"]), len(result.trace.tokens["target"])
    assert cross.shape == (kind.n_layers, kind.n_heads, n_tgt, n_src)
    assert (kind.query_role, kind.key_role, kind.causal) == ("target", "source", False)
    assert (cross > 0).all(), "every source token gets some weight (the rows are not one-hot or masked)"


def test_transformer_decoder_self_attention_is_causal(tiny_mts: dict[str, TranslationModel]) -> None:
    pattern = tiny_mts["transformer"].force(SENTENCES[1], FRENCH).trace.attention["decoder_self"]
    t = pattern.shape[-1]
    future = np.triu(np.ones((t, t), dtype=bool), k=1)
    assert (pattern[..., future] == 0.0).all()
    assert (pattern[..., ~future] > 0.0).all()


def _sinusoids(n: int, d: int) -> torch.Tensor:
    pe = torch.zeros(n, d, dtype=torch.float64)
    for pos in range(n):
        for i in range(0, d, 2):
            angle = pos / 10_000 ** (i / d)
            pe[pos, i], pe[pos, i + 1] = math.sin(angle), math.cos(angle)
    return pe


def _mha(x_q: torch.Tensor, x_kv: torch.Tensor, m: torch.nn.Module, n_heads: int, causal: bool):
    """Multi-head attention by hand -> (output [Q, d], pattern [H, Q, K])."""
    d = x_q.shape[-1]
    dh = d // n_heads
    q = _lin(x_q, m.q)
    kv = _lin(x_kv, m.kv)
    k, v = kv[:, :d], kv[:, d:]
    heads, patterns = [], []
    for h in range(n_heads):
        cols = slice(h * dh, (h + 1) * dh)
        scores = q[:, cols] @ k[:, cols].T / math.sqrt(dh)
        if causal:
            scores = scores.masked_fill(torch.ones_like(scores, dtype=torch.bool).triu(1), -math.inf)
        p = _softmax_rows(scores)
        patterns.append(p)
        heads.append(p @ v[:, cols])
    return _lin(torch.cat(heads, dim=-1), m.proj), torch.stack(patterns)


def _ln(x: torch.Tensor, m: torch.nn.LayerNorm) -> torch.Tensor:
    return F.layer_norm(x, x.shape[-1:], _f64(m.weight), _f64(m.bias), m.eps)


def _mlp(x: torch.Tensor, m: torch.nn.Sequential) -> torch.Tensor:
    h = _lin(x, m[0])
    return _lin(0.5 * h * (1 + torch.erf(h / math.sqrt(2))), m[2])


def test_transformer_trace_equals_independent_recomputation(tiny_mts: dict[str, TranslationModel]) -> None:
    mt = tiny_mts["transformer"]
    net, cfg = mt.net, mt.net.cfg
    result = mt.force(SENTENCES[3], FRENCH)
    src = torch.tensor(result.trace.tokens["source"].ids)
    tgt = torch.tensor(result.trace.tokens["target"].ids)
    emb, d = _f64(net.wte.weight), cfg.d_model
    pe = _sinusoids(max(len(src), len(tgt)), d)
    x = emb[src] * math.sqrt(d) + pe[: len(src)]
    for layer, block in enumerate(net.encoder):
        a, pattern = _mha(_ln(x, block.ln_1), _ln(x, block.ln_1), block.attn, cfg.n_heads, causal=False)
        np.testing.assert_allclose(result.trace.attention["encoder_self"][layer], pattern, atol=2e-5)
        x = x + a
        x = x + _mlp(_ln(x, block.ln_2), block.mlp)
    memory = _ln(x, net.ln_enc)
    y = emb[tgt] * math.sqrt(d) + pe[: len(tgt)]
    for layer, block in enumerate(net.decoder):
        h = _ln(y, block.ln_1)
        a, self_pattern = _mha(h, h, block.self_attn, cfg.n_heads, causal=True)
        y = y + a
        a, cross_pattern = _mha(_ln(y, block.ln_2), memory, block.cross_attn, cfg.n_heads, causal=False)
        y = y + a
        y = y + _mlp(_ln(y, block.ln_3), block.mlp)
        np.testing.assert_allclose(result.trace.attention["decoder_self"][layer], self_pattern, atol=2e-5)
        np.testing.assert_allclose(result.trace.attention["cross"][layer], cross_pattern, atol=2e-5)
        np.testing.assert_allclose(result.trace.states["resid"][layer], y, atol=1e-4, rtol=1e-4)
    logits = _ln(y, net.ln_dec) @ emb.T
    np.testing.assert_allclose(result.trace.logits, logits, atol=1e-3, rtol=1e-4)


def _lstm_scan(x: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """h of every step of one LSTM direction over x [T, d_in], from zero state."""
    d = w_hh.shape[1]
    h, c, out = torch.zeros(d, dtype=x.dtype), torch.zeros(d, dtype=x.dtype), []
    for x_t in x:
        pre = w_ih @ x_t + w_hh @ h + b
        i, f, g, o = (
            pre[:d].sigmoid(),
            pre[d : 2 * d].sigmoid(),
            pre[2 * d : 3 * d].tanh(),
            pre[3 * d :].sigmoid(),
        )
        c = f * c + i * g
        h = o * c.tanh()
        out.append(h)
    return torch.stack(out)


def test_lstm_trace_equals_step_by_step_recomputation(tiny_mts: dict[str, TranslationModel]) -> None:
    mt = tiny_mts["lstm"]
    net = mt.net
    result = mt.force(SENTENCES[3], FRENCH)
    trace = result.trace
    src = torch.tensor(trace.tokens["source"].ids)
    tgt = torch.tensor(trace.tokens["target"].ids)
    emb = _f64(net.wte.weight)
    enc = net.encoder
    p = {name: _f64(value) for name, value in enc.named_parameters()}
    fwd = _lstm_scan(emb[src], p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"] + p["bias_hh_l0"])
    bwd = _lstm_scan(emb[src].flip(0), p["weight_ih_l0_reverse"], p["weight_hh_l0_reverse"],
                     p["bias_ih_l0_reverse"] + p["bias_hh_l0_reverse"]).flip(0)  # fmt: skip
    ann = torch.cat([fwd, bwd], dim=-1)  # [S, 2·d_encoder]
    s = torch.tanh(_lin(torch.cat([fwd[-1], bwd[0]]), net.bridge))
    c = torch.zeros_like(s)
    w_ih, w_hh = _f64(net.cell.weight_ih), _f64(net.cell.weight_hh)
    b, d = _f64(net.cell.bias_ih) + _f64(net.cell.bias_hh), net.cfg.d_hidden
    v = _f64(net.att_v.weight)[0]
    for t, y in enumerate(tgt):
        energy = torch.tanh(_lin(ann, net.att_key) + _f64(net.att_query.weight) @ s) @ v  # [S]
        align = _softmax_rows(energy)
        ctx = align @ ann
        x = torch.cat([emb[y], ctx])
        pre = w_ih @ x + w_hh @ s + b
        i, f, g, o = (
            pre[:d].sigmoid(),
            pre[d : 2 * d].sigmoid(),
            pre[2 * d : 3 * d].tanh(),
            pre[3 * d :].sigmoid(),
        )
        c = f * c + i * g
        s = o * c.tanh()
        logits = torch.tanh(_lin(torch.cat([s, ctx, emb[y]]), net.out)) @ emb.T
        np.testing.assert_allclose(trace.attention["cross"][0, 0, t], align, atol=2e-5)
        for name, want in {"i": i, "f": f, "g": g, "o": o}.items():
            np.testing.assert_allclose(trace.gates[name][0, t], want, atol=2e-5, err_msg=name)
        np.testing.assert_allclose(trace.states["c"][0, t], c, atol=2e-5)
        np.testing.assert_allclose(trace.states["h"][0, t], s, atol=2e-5)
        np.testing.assert_allclose(trace.logits[t], logits, atol=2e-4, rtol=1e-4)


def test_lstm_cell_equations_hold_in_the_trace(tiny_mts: dict[str, TranslationModel]) -> None:
    trace = tiny_mts["lstm"].translate(SENTENCES[2], beam=2, max_len=10).trace
    i, f, g, o = (trace.gates[k][0].astype(np.float64) for k in "ifgo")
    c, h = trace.states["c"][0].astype(np.float64), trace.states["h"][0].astype(np.float64)
    c_prev = np.vstack([np.zeros_like(c[:1]), c[:-1]])
    np.testing.assert_allclose(c, f * c_prev + i * g, atol=1e-5)
    np.testing.assert_allclose(h, o * np.tanh(c), atol=1e-5)


@pytest.mark.parametrize("arch", ["transformer", "lstm"])
def test_training_path_equals_trace_path_with_padding(
    arch: str, tiny_mts: dict[str, TranslationModel]
) -> None:
    """``forward`` (fused kernels, padded batch) gives the trace's logits for every sentence."""
    mt = tiny_mts[arch]
    pairs = [(SENTENCES[k], FRENCH[: 10 + 7 * k]) for k in range(4)]
    srcs = [torch.tensor(mt.source_tokens(en).ids) for en, _ in pairs]
    tgts = [torch.tensor([mt.bos, *mt.tokenizer.encode_ids(fr)]) for _, fr in pairs]
    src = torch.nn.utils.rnn.pad_sequence(srcs, batch_first=True)
    tgt = torch.nn.utils.rnn.pad_sequence(tgts, batch_first=True)
    with torch.no_grad():
        logits = mt.net(src, torch.tensor([len(s) for s in srcs]), tgt)
        for row, (s, t) in enumerate(zip(srcs, tgts, strict=True)):
            want, _ = mt.net.forward_trace(s[None], t[None])
            np.testing.assert_allclose(logits[row, : len(t)], want, atol=1e-4, rtol=1e-4)
