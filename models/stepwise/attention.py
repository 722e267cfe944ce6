"""One Transformer attention step written out for a chosen layer, head and query token, with the
model's own weights and modules: LayerNorm, q·W_Q, the keys (smeared if the model smears them),
the scores, the scale, the causal mask, the softmax, the weighted sum of v, every head
concatenated, ·W_O, the residual add and the MLP. Beside the result it keeps what the trace
computed, so a reader sees that the weights are the attention map's row and the result is the
next residual state.

Shapes: T tokens, d_model residual width, n_heads heads of d_head each. Weight matrices are
stored the way they multiply a row vector: q = x_ln · w_q + b_q with w_q [d_model, d_head].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import MissingPartError, TemperatureError
from ..lm import LanguageModel
from ..tokenizer import Tokens
from ..transformer import Block, Transformer, smear
from .common import check_index, frozen


@dataclass(frozen=True)
class AttentionSteps:
    """Layer ``layer``, head ``head``, query position ``query`` of one text, step by step.

    Every array is float32 and read-only unless its comment says otherwise.
    """

    model: str
    tokens: Tokens
    layer: int
    head: int
    query: int
    n_heads: int
    d_head: int
    # the block input and its first LayerNorm
    resid_pre: np.ndarray  # [d_model], the query's residual stream entering the block
    ln_mean: float  # mean of resid_pre over d_model
    ln_std: float  # sqrt(var + eps) of resid_pre: x_ln = (resid_pre − mean) / std · γ + β
    x_ln: np.ndarray  # [T, d_model], LayerNorm output of every position (queries, keys, values read it)
    # this head's projections: q = x_ln[query] · w_q + b_q, k_j = x_ln[j] · w_k + b_k, v likewise
    w_q: np.ndarray  # [d_model, d_head]
    b_q: np.ndarray  # [d_head]
    w_k: np.ndarray  # [d_model, d_head]
    b_k: np.ndarray  # [d_head]
    w_v: np.ndarray  # [d_model, d_head]
    b_v: np.ndarray  # [d_head]
    q: np.ndarray  # [d_head]
    k_raw: np.ndarray  # [T, d_head], x_ln · w_k + b_k before any smear
    smear_keep: float | None  # σ(α) of this head; None when the model does not smear keys
    k: np.ndarray  # [T, d_head], the keys used: σ(α)·k_raw[j] + (1 − σ(α))·k_raw[j − 1] (k_raw[−1] = k_raw[0]) when smeared, else k_raw
    v: np.ndarray  # [T, d_head]
    # scores, scale, mask, softmax
    scores: np.ndarray  # [T], q · k[j] for every key, the masked ones too
    scale: float  # 1 / sqrt(d_head)
    scaled_scores: np.ndarray  # [T], scores · scale
    visible: np.ndarray  # bool[T], True for keys j ≤ query; the causal mask hides the others
    weights: np.ndarray  # [T], softmax of the visible scaled scores; exactly 0 on the masked keys
    # every head's output, concatenated, through W_O, onto the residual stream
    z: np.ndarray  # [n_heads, d_head], each head's weights · v at the query (row ``head`` is this one)
    concat: np.ndarray  # [d_model], the rows of z side by side
    w_o: np.ndarray  # [d_model, d_model], attn_out = concat · w_o + b_o
    b_o: np.ndarray  # [d_model]
    head_out: np.ndarray  # [n_heads, d_model], z[h] · w_o[h·d_head:(h+1)·d_head]; they sum to attn_out − b_o
    attn_out: np.ndarray  # [d_model]
    resid_mid: np.ndarray  # [d_model], resid_pre + attn_out
    mlp_out: np.ndarray  # [d_model], MLP(LayerNorm_2(resid_mid))
    resid_post: np.ndarray  # [d_model], resid_mid + mlp_out
    # what the model's own forward pass (the trace) computed, to compare with
    trace_weights: np.ndarray  # [T], trace.attention["self"][layer, head, query]
    trace_resid_post: np.ndarray  # [d_model], trace.states["resid"][layer, query]

    @property
    def weights_error(self) -> float:
        """Largest |weights − trace_weights|: float32 rounding, far below 1e-5."""
        return float(np.abs(self.weights - self.trace_weights).max())

    @property
    def resid_error(self) -> float:
        """Largest |resid_post − trace_resid_post|."""
        return float(np.abs(self.resid_post - self.trace_resid_post).max())

    def with_temperature(self, temperature: float) -> np.ndarray:
        """What-if (not the model): this row's weights at softmax temperature ``temperature``."""
        return softmax_with_temperature(self.scaled_scores, self.visible, temperature)


def softmax_with_temperature(
    scaled_scores: np.ndarray, visible: np.ndarray, temperature: float
) -> np.ndarray:
    """What-if, not the model: softmax(scaled_scores / τ) over the visible keys, float32[..., T],
    exactly 0 on the masked ones. τ = 1 gives the model's own weights; τ → 0 puts all weight on
    the highest score, τ → ∞ spreads it evenly. Stable for any finite τ > 0 (the shift by the
    row maximum comes before the division)."""
    tau = float(temperature)
    if not (math.isfinite(tau) and tau > 0):
        raise TemperatureError(temperature)
    s = np.asarray(scaled_scores, dtype=np.float64)
    seen = np.broadcast_to(np.asarray(visible, dtype=bool), s.shape)
    if not seen.any(axis=-1).all():
        raise ValueError("every row needs at least one visible key")
    top = np.where(seen, s, -np.inf).max(axis=-1, keepdims=True)
    e = np.where(seen, np.exp(np.where(seen, s - top, 0.0) / tau), 0.0)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def _transformer(model: LanguageModel) -> Transformer:
    if "attention" not in model.spec.parts or not isinstance(model.net, Transformer):
        raise MissingPartError(
            model.name, model.spec.architecture, "self-attention to show step by step", "a Transformer"
        )
    return model.net


def _attend(block: Block, x: torch.Tensor, head: int, query: int) -> dict[str, torch.Tensor]:
    """LayerNorm, this head's projections, every head's keys and values, scores, mask, softmax
    and weighted sum at ``query``; x is the block input [T, d_model]."""
    attn = block.attn
    n_tokens, d_model = x.shape
    n_heads = attn.n_heads
    d_head = d_model // n_heads
    x_ln = block.ln_1(x)
    q, k_raw, v = (
        p.view(n_tokens, n_heads, d_head).transpose(0, 1) for p in attn.qkv(x_ln).split(d_model, -1)
    )
    k = k_raw if attn.smear is None else smear(k_raw[None], attn.smear)[0]  # [n_heads, T, d_head]
    scores = (k @ q[:, query, :, None])[..., 0]  # [n_heads, T]
    scaled = scores / math.sqrt(d_head)
    visible = torch.arange(n_tokens) <= query
    weights = torch.softmax(scaled.masked_fill(~visible, float("-inf")), dim=-1)  # [n_heads, T]
    rows = [attn.qkv.weight[p * d_model + head * d_head :][:d_head] for p in range(3)]  # [d_head, d_model]
    bias = [attn.qkv.bias[p * d_model + head * d_head :][:d_head] for p in range(3)]
    return {
        "x_ln": x_ln,
        **{f"w_{n}": w.T for n, w in zip("qkv", rows, strict=True)},
        **{f"b_{n}": b for n, b in zip("qkv", bias, strict=True)},
        "q": q[head, query],
        "k_raw": k_raw[head],
        "k": k[head],
        "v": v[head],
        "scores": scores[head],
        "scaled_scores": scaled[head],
        "visible": visible,
        "weights": weights[head],
        "z": (weights[:, None, :] @ v)[:, 0],  # [n_heads, d_head], every head's output at the query
    }


def _write_back(block: Block, resid_pre: torch.Tensor, z: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every head's output concatenated, ·W_O + b_O, onto the residual stream, then the MLP."""
    n_heads, d_head = z.shape
    concat = z.reshape(n_heads * d_head)
    w_o = block.attn.proj.weight.T  # [d_model (concat), d_model]
    attn_out = block.attn.proj(concat)
    resid_mid = resid_pre + attn_out
    mlp_out = block.mlp(block.ln_2(resid_mid))
    return {
        "concat": concat,
        "w_o": w_o,
        "b_o": block.attn.proj.bias,
        "head_out": (z[:, None, :] @ w_o.view(n_heads, d_head, -1))[:, 0],  # [n_heads, d_model]
        "attn_out": attn_out,
        "resid_mid": resid_mid,
        "mlp_out": mlp_out,
        "resid_post": resid_mid + mlp_out,
    }


def attention_steps(model: LanguageModel, text: str, layer: int, head: int, query: int) -> AttentionSteps:
    """Attention of ``layer``/``head`` at token ``query`` of ``text``, written out step by step."""
    net = _transformer(model)
    trace = model.trace(text)
    tokens = trace.tokens["input"]
    layer = check_index("layer", layer, net.cfg.n_layers)
    head = check_index("head", head, net.cfg.n_heads)
    query = check_index("query", query, len(tokens))
    block = net.blocks[layer]
    assert isinstance(block, Block)
    with torch.inference_mode():
        if layer == 0:
            x = net.embed(torch.tensor([tokens.ids]))[0]  # [T, d_model]
        else:
            x = torch.tensor(trace.states["resid"][layer - 1])  # the previous block's output
        steps = _attend(block, x, head, query)
        steps.update(_write_back(block, x[query], steps["z"]))
        var, mean = torch.var_mean(x[query], unbiased=False)
        smear_keep = None if block.attn.smear is None else float(torch.sigmoid(block.attn.smear[head]))
    arrays = {name: frozen(a, np.bool_ if name == "visible" else np.float32) for name, a in steps.items()}
    return AttentionSteps(
        model=model.name,
        tokens=tokens,
        layer=layer,
        head=head,
        query=query,
        n_heads=net.cfg.n_heads,
        d_head=net.cfg.d_head,
        resid_pre=frozen(x[query]),
        ln_mean=float(mean),
        ln_std=math.sqrt(float(var) + block.ln_1.eps),
        smear_keep=smear_keep,
        scale=1.0 / math.sqrt(net.cfg.d_head),
        trace_weights=frozen(trace.attention["self"][layer, head, query]),
        trace_resid_post=frozen(trace.states["resid"][layer, query]),
        **arrays,
    )
