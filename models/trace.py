"""The one trace type every architecture returns, and the predictions computed from logits.

Shapes (T = number of tokens):
- ``attention[kind]``: float32[n_layers, n_heads, T(query), T(key)]; kind is "self" here.
- ``states[name]``: float32[n_layers, T, dim]; "resid" (Transformer residual stream after
  each block), "h" and "c" (recurrent hidden and cell states).
- ``gates[name]``: float32[n_layers, T, d_hidden]; "i", "f", "g", "o" (LSTM), "r", "z",
  "n" (GRU).
- ``logits``: float32[T, d_vocab]; row t scores the token after position t.
- predictions: ``top_ids``/``top_probs`` int64/float32[T, k]; ``surprisal`` float32[T],
  bits of the actual next token (NaN at the last position, which has none); ``entropy``
  float32[T] in bits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import torch

from .tokenizer import Tokens

PART_NAMES = ("attention", "resid", "h", "c", "gates", "predictions", "logits")


def _frozen(arrays: Mapping[str, torch.Tensor | np.ndarray]) -> Mapping[str, np.ndarray]:
    out = {}
    for name, value in arrays.items():
        arr = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else value
        arr = np.ascontiguousarray(arr)
        arr.flags.writeable = False
        out[name] = arr
    return MappingProxyType(out)


@dataclass(frozen=True)
class Predictions:
    top_ids: np.ndarray  # int64[T, k]
    top_probs: np.ndarray  # float32[T, k]
    surprisal: np.ndarray  # float32[T], bits; NaN at the last position
    entropy: np.ndarray  # float32[T], bits

    @classmethod
    def from_logits(cls, logits: torch.Tensor, ids: torch.Tensor, top_k: int) -> Predictions:
        """``logits`` [T, V] and the token ``ids`` [T] of the same text."""
        logp = torch.log_softmax(logits.float(), dim=-1)  # [T, V]
        top = torch.topk(logp, k=min(top_k, logp.shape[-1]), dim=-1)
        surprisal = torch.full((logp.shape[0],), math.nan)
        if logp.shape[0] > 1:
            nxt = logp[:-1].gather(1, ids[1:, None]).squeeze(1)
            surprisal[:-1] = -nxt / math.log(2)
        entropy = -(logp.exp() * logp).sum(-1) / math.log(2)
        arrays = _frozen({"i": top.indices, "p": top.values.exp(), "s": surprisal, "e": entropy})
        return cls(arrays["i"], arrays["p"], arrays["s"], arrays["e"])


@dataclass(frozen=True)
class Trace:
    """Everything one forward pass exposes; ``parts`` names what this model has."""

    model: str
    family: str
    text: str
    tokens: Tokens
    predictions: Predictions
    logits: np.ndarray
    attention: Mapping[str, np.ndarray] = field(default_factory=lambda: MappingProxyType({}))
    states: Mapping[str, np.ndarray] = field(default_factory=lambda: MappingProxyType({}))
    gates: Mapping[str, np.ndarray] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def parts(self) -> tuple[str, ...]:
        have = {"predictions", "logits", *self.states}
        if self.attention:
            have.add("attention")
        if self.gates:
            have.add("gates")
        return tuple(p for p in PART_NAMES if p in have)


def make_trace(
    *,
    model: str,
    family: str,
    text: str,
    tokens: Tokens,
    logits: torch.Tensor,
    top_k: int,
    attention: Mapping[str, torch.Tensor] | None = None,
    states: Mapping[str, torch.Tensor] | None = None,
    gates: Mapping[str, torch.Tensor] | None = None,
) -> Trace:
    ids = torch.tensor(tokens.ids, dtype=torch.long)
    return Trace(
        model=model,
        family=family,
        text=text,
        tokens=tokens,
        predictions=Predictions.from_logits(logits, ids, top_k),
        logits=_frozen({"x": logits})["x"],
        attention=_frozen(attention or {}),
        states=_frozen(states or {}),
        gates=_frozen(gates or {}),
    )
