"""The one trace type every architecture returns, and the predictions computed from logits.

A trace carries its token sequences by role (``tokens["input"]`` for a language model; room
for "source" and "target") and, for each part its model's spec declares, arrays whose
shapes follow that spec (Q = the query role's length, K = the key role's, T = the output
role's):

- ``attention[kind]``: float32[n_layers, n_heads, Q, K], one entry per declared kind.
- ``states[name]``: float32[n_layers, T, dim]; "resid" (Transformer residual stream after
  each block), "h" and "c" (recurrent hidden and cell states).
- ``gates[name]``: float32[n_layers, T, d_hidden]; the spec's gate names ("i", "f", "g", "o"
  for the LSTM, "r", "z", "n" for the GRU).
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

from .spec import ModelSpec
from .tokenizer import Tokens


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
    """Everything one forward pass exposes; ``spec`` says what this model has."""

    model: str
    spec: ModelSpec
    text: str
    tokens: Mapping[str, Tokens]  # by role
    predictions: Predictions
    logits: np.ndarray
    attention: Mapping[str, np.ndarray] = field(default_factory=lambda: MappingProxyType({}))
    states: Mapping[str, np.ndarray] = field(default_factory=lambda: MappingProxyType({}))
    gates: Mapping[str, np.ndarray] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def family(self) -> str:
        return self.spec.architecture

    @property
    def parts(self) -> tuple[str, ...]:
        return self.spec.parts

    @property
    def output_tokens(self) -> Tokens:
        """The tokens that states, gates and predictions run over."""
        return self.tokens[self.spec.output_role]


def _check_shapes(spec: ModelSpec, tokens: Mapping[str, Tokens], trace: Trace) -> None:
    """Every array has the shape the spec declares for it."""
    t = len(tokens[spec.output_role])
    for kind in spec.attention:
        want = (kind.n_layers, kind.n_heads, len(tokens[kind.query_role]), len(tokens[kind.key_role]))
        got = trace.attention[kind.name].shape
        if got != want:
            raise AssertionError(f"attention {kind.name!r} is {got}; its spec says {want}")
    for name in ("resid", "h", "c"):
        if (name in spec.parts) != (name in trace.states):
            raise AssertionError(f"state {name!r} present is not what the spec declares")
        if name in trace.states and trace.states[name].shape[:2] != (spec.n_layers, t):
            raise AssertionError(
                f"state {name!r} is {trace.states[name].shape}; expected [{spec.n_layers}, {t}, dim]"
            )
    if tuple(trace.gates) != spec.gates:
        raise AssertionError(f"gates {tuple(trace.gates)} differ from the spec's {spec.gates}")
    if trace.logits.shape != (t, spec.d_vocab):
        raise AssertionError(f"logits are {trace.logits.shape}; expected {(t, spec.d_vocab)}")


def make_trace(
    *,
    model: str,
    spec: ModelSpec,
    text: str,
    tokens: Mapping[str, Tokens],
    logits: torch.Tensor,
    top_k: int,
    attention: Mapping[str, torch.Tensor] | None = None,
    states: Mapping[str, torch.Tensor] | None = None,
    gates: Mapping[str, torch.Tensor] | None = None,
) -> Trace:
    """A trace from a forward pass's tensors, checked against ``spec``."""
    ids = torch.tensor(tokens[spec.output_role].ids, dtype=torch.long)
    trace = Trace(
        model=model,
        spec=spec,
        text=text,
        tokens=MappingProxyType(dict(tokens)),
        predictions=Predictions.from_logits(logits, ids, top_k),
        logits=_frozen({"x": logits})["x"],
        attention=_frozen(attention or {}),
        states=_frozen(states or {}),
        gates=_frozen(gates or {}),
    )
    _check_shapes(spec, tokens, trace)
    return trace
