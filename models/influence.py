"""Influence maps: how much each earlier token mattered to each next-token prediction.

For a text of T tokens, ``influence(lm, text, method)`` returns a [T, T] lower-triangular map:
row t is the prediction of token t+1, column s ≤ t an earlier (or the same) token.

- **gradient** (gradient × input): ⟨∂ log p(x_{t+1}) / ∂e_s, e_s⟩, with e_s token s's
  embedding (its ``wte`` row), and the gradient's norm beside it. For the Transformer, block 0
  reads e_s + p_s; the gradient is the same for both summands, and it is multiplied by e_s
  alone, the part that depends on which token stands there. The Transformer's rows come from
  one forward pass per chunk of rows and a backward pass batched over the chunk
  (``torch.func.vmap`` of a ``vjp``); the recurrent models' from one reverse sweep over time
  that carries every row at once (``models.bptt``).
- **occlusion**: log p(x_{t+1}) minus the same with token s replaced by a neutral token,
  every replacement in one batch (in chunks that bound memory). The neutral token is ","
  (``NEUTRAL_TEXT``), the most frequent token of the training text (5.0% of its tokens), which
  carries no word of its own. Not the end-of-text token: the models saw it only between
  books, so it would cut off everything before it rather than take out one token. Where
  token s already is ",", its column is 0.

In both maps a positive value means token s made the actual next token more likely. Entries
above the diagonal are exactly 0 (no prediction sees a later token); the last row, which
predicts nothing, is NaN, as the trace's last surprisal is. The work grows with T², so texts
are limited to ``MAX_INFLUENCE_TOKENS``. Nothing is written on the model: concurrent calls
are safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from .bptt import embedding_gradients
from .errors import ChoiceError, InfluenceTooLongError
from .lm import LanguageModel
from .net import TracedNet
from .recurrent import RecurrentLM
from .tokenizer import Tokens
from .trace import _frozen

Method = Literal["gradient", "occlusion"]
METHODS: tuple[Method, ...] = ("gradient", "occlusion")
# The API refuses longer texts: the cost grows with T² (bench/bench_influence.py times the four
# models at 16 to 256 tokens).
MAX_INFLUENCE_TOKENS = 128
NEUTRAL_TEXT = ","  # occlusion's replacement token (see the module docstring)
ROW_CHUNK = 16  # Transformer gradient rows per batched backward pass
OCCLUSION_FLOATS = 1 << 23  # logits held at once by occlusion (32 MB of float32)

Tensor = torch.Tensor


@dataclass(frozen=True)
class Influence:
    """One influence map of one model on one text; arrays are read-only."""

    model: str
    method: Method
    tokens: Tokens  # the input tokens, T of them
    values: np.ndarray  # float32[T, T]: row t = prediction of token t+1, column s = token s
    grad_norm: np.ndarray | None  # float32[T, T], ‖∂ log p(x_{t+1}) / ∂e_s‖; "gradient" only
    logp: np.ndarray  # float32[T], log p(x_{t+1}) in nats; NaN at the last position
    neutral_id: int | None  # the replacement token; "occlusion" only


def target_logp(net: TracedNet, x: Tensor, targets: Tensor) -> Tensor:
    """log p(targets[..., r]) from the top layer's output ``x`` [..., R, d_out]: [..., R]."""
    logp = torch.log_softmax(net.unembed(x), dim=-1)
    return logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)


def _top_gradients(net: TracedNet, emb: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    """log p of each row and its gradient with respect to the top layer's output there."""
    with torch.no_grad():
        x = net.features(emb[None])[0, : len(targets)].detach()
    x.requires_grad_(True)
    logp = target_logp(net, x, targets)
    (top,) = torch.autograd.grad(logp.sum(), x)  # rows are independent: one backward for all
    return logp.detach(), top


@torch.no_grad()  # torch.func differentiates all the same; this keeps the weights' graph out
def _vmapped_gradients(net: TracedNet, emb: Tensor, top: Tensor) -> tuple[Tensor, Tensor]:
    """Gradient × input and gradient norm [R, T] through autograd: for each chunk of rows,
    one forward pass over the prefix they read and a backward pass vmapped over the rows."""
    n_rows, n_tokens = len(top), len(emb)
    values, norms = emb.new_zeros(n_rows, n_tokens), emb.new_zeros(n_rows, n_tokens)
    for a in range(0, n_rows, ROW_CHUNK):
        b = min(a + ROW_CHUNK, n_rows)  # rows a..b-1 read tokens 0..b-1
        pull = torch.func.vjp(lambda e: net.features(e[None])[0], emb[:b])[1]
        cotangent = top.new_zeros(b - a, b, top.shape[1])  # [rows, position, d_out]
        cotangent[torch.arange(b - a), torch.arange(a, b)] = top[a:b]
        (grad,) = torch.func.vmap(pull)(cotangent)  # [rows, position, d_embed]
        values[a:b, :b] = (grad * emb[:b]).sum(-1)
        norms[a:b, :b] = torch.linalg.vector_norm(grad, dim=-1)
    return values, norms


def gradient_maps(net: TracedNet, ids: Tensor, targets: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Gradient × input [R, T], gradient norm [R, T] and log p [R] of rows r < R = len(targets),
    row r predicting ``targets[r]`` from ``ids[: r + 1]`` (R ≤ T = len(ids)). Entries [r, s]
    with s > r are exactly 0."""
    with torch.inference_mode(False), torch.enable_grad():
        ids, targets = ids.clone(), targets.clone()  # not inference tensors, if the caller's were
        emb = net.wte.weight.detach()[ids]  # [T, d_embed]
        logp, top = _top_gradients(net, emb, targets)
        if isinstance(net, RecurrentLM):
            values, norms = embedding_gradients(net, ids, top, emb)
        else:
            values, norms = _vmapped_gradients(net, emb, top)
    return values, norms, logp


@torch.no_grad()
def occlusion_map(net: TracedNet, ids: Tensor, targets: Tensor, neutral_id: int) -> tuple[Tensor, Tensor]:
    """log p(targets[r]) minus the same with token s replaced by ``neutral_id``, [R, T], and
    log p [R]; rows as in ``gradient_maps``. Entries [r, s] with s > r are 0."""
    n_rows, n_tokens = len(targets), len(ids)
    emb = net.wte.weight[ids]
    base = target_logp(net, net.features(emb[None])[0, :n_rows], targets)
    values = emb.new_zeros(n_rows, n_tokens)
    s = 0
    while s < n_rows:  # replacing token s changes rows s..R-1; later tokens change none
        n = max(1, min(n_rows - s, OCCLUSION_FLOATS // ((n_rows - s) * net.spec.d_vocab)))
        batch = ids.repeat(n, 1)
        batch[torch.arange(n), torch.arange(s, s + n)] = neutral_id
        x = net.features(net.wte(batch))[:, s:n_rows]  # [n, rows s.., d_out]
        logp = target_logp(net, x, targets[s:].expand(n, -1))  # [n, R - s]
        for k in range(n):
            if ids[s + k] != neutral_id:  # else nothing is replaced: exactly 0
                values[s + k :, s + k] = base[s + k :] - logp[k, k:]
        s += n
    return values, base


def influence(
    lm: LanguageModel, text: str, method: Method = "gradient", max_tokens: int = MAX_INFLUENCE_TOKENS
) -> Influence:
    """The influence map of every earlier token on every next-token prediction of ``text``.

    Raises ``EmptyTextError``, ``TooLongError`` (over the model's n_ctx),
    ``InfluenceTooLongError`` (over ``max_tokens``) or ``ChoiceError`` (an unknown method).
    """
    if method not in METHODS:
        raise ChoiceError("method", method, METHODS)
    tokens = lm.tokenizer.encode(text)
    lm.check_length(text, tokens)
    if len(tokens) > max_tokens:
        raise InfluenceTooLongError(len(tokens), max_tokens)
    ids = torch.tensor(tokens.ids, dtype=torch.long)
    targets = ids[1:]
    n_tokens = len(ids)
    values = torch.full((n_tokens, n_tokens), float("nan"))
    logp = torch.full((n_tokens,), float("nan"))
    grad_norm, neutral_id = None, None
    if method == "gradient":
        v, norms, lp = gradient_maps(lm.net, ids, targets)
        grad_norm = torch.full((n_tokens, n_tokens), float("nan"))
        grad_norm[:-1] = norms
    else:
        neutral_id = neutral_token(lm)
        v, lp = occlusion_map(lm.net, ids, targets, neutral_id)
    values[:-1], logp[:-1] = v, lp
    arrays = _frozen({"v": values, "l": logp} | ({} if grad_norm is None else {"g": grad_norm}))
    return Influence(lm.name, method, tokens, arrays["v"], arrays.get("g"), arrays["l"], neutral_id)


def neutral_token(lm: LanguageModel) -> int:
    """The id of ``NEUTRAL_TEXT`` in the model's tokenizer."""
    ids = lm.tokenizer.encode_ids(NEUTRAL_TEXT)
    if len(ids) != 1:
        raise ValueError(f"{NEUTRAL_TEXT!r} is not a single token of this tokenizer")
    return ids[0]
