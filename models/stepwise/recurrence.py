"""One recurrent step written out for a chosen layer and step t, with the model's own weights:
x_t and h_{t−1} (and c_{t−1}), every gate's two halves (from the input, from the state), its
pre-activation and activation, and the new state, beside the states the trace computed; and the
memory horizon of a layer, measured from its keep gates.

The cell equations (PyTorch's gate layout; W_ih·x_t + b_ih "from the input", W_hh·h_{t−1} +
b_hh "from the state"):

- LSTM: i, f, o = σ(·), g = tanh(·); c_t = f⊙c_{t−1} + i⊙g; h_t = o⊙tanh(c_t).
- GRU: r, z = σ(·); n = tanh(from_input + r⊙from_state); h_t = (1 − z)⊙n + z⊙h_{t−1}.
- RNN: h_t = tanh(from_input + from_state), shown as one pre-activation named "h".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import torch

from ..errors import MissingPartError, OptionError
from ..lm import LanguageModel
from ..recurrent import RecurrentLM
from ..tokenizer import Tokens
from .common import check_index, frozen

_TANH = frozenset({"g", "n", "h"})  # the rest are sigmoids
_KEEP_GATE = {"f": "the forget gate f", "z": "the update gate z"}  # what multiplies the old state


@dataclass(frozen=True)
class Preactivation:
    """One gate (or the RNN's whole step) for the chosen units U: float32[U] arrays."""

    name: str  # "i", "f", "g", "o" (LSTM); "r", "z", "n" (GRU); "h" (RNN)
    function: str  # "sigmoid" or "tanh"
    from_input: np.ndarray  # this gate's rows of W_ih·x_t + b_ih
    from_state: np.ndarray  # this gate's rows of W_hh·h_{t−1} + b_hh (GRU n: before r multiplies it)
    pre: np.ndarray  # from_input + from_state (GRU n: from_input + r⊙from_state)
    value: np.ndarray  # function(pre)
    traced: np.ndarray  # what the trace holds for it: the gate, or h for the RNN


@dataclass(frozen=True)
class RecurrenceSteps:
    """Layer ``layer`` at step ``t`` of one text; arrays float32, read-only. U = len(units)."""

    model: str
    architecture: str  # "lstm", "gru" or "rnn"
    tokens: Tokens
    layer: int
    t: int
    units: np.ndarray  # int64[U], indices into d_hidden, as asked (all, in order, by default)
    x_t: np.ndarray  # [d_in], the embedding of token t (layer 0) or h_t of the layer below
    h_prev: np.ndarray  # [d_hidden], h_{t−1} of this layer (zeros at t = 0)
    c_prev: np.ndarray | None  # [U], c_{t−1} (LSTM; zeros at t = 0)
    preactivations: Mapping[str, Preactivation]  # the spec's gates in order; {"h": ...} for the RNN
    c: np.ndarray | None  # [U], c_t = f⊙c_{t−1} + i⊙g (LSTM)
    tanh_c: np.ndarray | None  # [U], tanh(c_t) (LSTM)
    h: np.ndarray  # [U], h_t by the cell's equation
    trace_h: np.ndarray  # [U], trace.states["h"][layer, t, units]
    trace_c: np.ndarray | None  # [U], trace.states["c"][layer, t, units] (LSTM)

    @property
    def max_error(self) -> float:
        """Largest difference between a value recomputed here and the trace's, relative where
        the value exceeds 1 (|a − b| / max(1, |b|)): a trained LSTM's c reaches the hundreds."""
        pairs = [(self.h, self.trace_h)] + [(p.value, p.traced) for p in self.preactivations.values()]
        if self.c is not None and self.trace_c is not None:
            pairs.append((self.c, self.trace_c))
        return max(float((np.abs(a - b) / np.maximum(1.0, np.abs(b))).max()) for a, b in pairs)


def _recurrent(model: LanguageModel, lacks: str) -> RecurrentLM:
    if not isinstance(model.net, RecurrentLM) or "h" not in model.spec.parts:
        raise MissingPartError(model.name, model.spec.architecture, lacks, "an LSTM, GRU or RNN")
    return model.net


def _units(units: Sequence[int] | None, d_hidden: int) -> torch.Tensor:
    if units is None:
        return torch.arange(d_hidden)
    if len(units) == 0:
        raise OptionError("units", list(units), 0, d_hidden - 1)
    return torch.tensor([check_index("unit", u, d_hidden) for u in units], dtype=torch.long)


def recurrence_steps(
    model: LanguageModel, text: str, layer: int, t: int, units: Sequence[int] | None = None
) -> RecurrenceSteps:
    """Layer ``layer`` of a recurrent model at step ``t`` of ``text``, for ``units`` (default all)."""
    net = _recurrent(model, "recurrent state to show step by step")
    trace = model.trace(text)
    tokens = trace.tokens["input"]
    layer = check_index("layer", layer, net.cfg.n_layers)
    t = check_index("t", t, len(tokens))
    sel = _units(units, net.cfg.d_hidden)
    states = {name: torch.tensor(np.asarray(trace.states[name][layer])) for name in trace.states}
    with torch.inference_mode():
        x_t = net.wte.weight[tokens.ids[t]] if layer == 0 else torch.tensor(trace.states["h"][layer - 1, t])
        prev = {name: s[t - 1] if t > 0 else torch.zeros_like(s[0]) for name, s in states.items()}
        gates = _gates(net.layers[layer], model.spec.gates or ("h",), x_t, prev["h"], sel)
        c_prev = prev["c"][sel] if "c" in prev else None
        c, tanh_c, h = _new_state(gates, c_prev, prev["h"][sel])
    traced = trace.gates if model.spec.gates else {"h": trace.states["h"]}
    at = (layer, t, sel.numpy())
    return RecurrenceSteps(
        model=model.name,
        architecture=model.spec.architecture,
        tokens=tokens,
        layer=layer,
        t=t,
        units=frozen(sel, dtype=np.int64),
        x_t=frozen(x_t),
        h_prev=frozen(prev["h"]),
        c_prev=_maybe(c_prev),
        preactivations=MappingProxyType(
            {name: _preactivation(name, parts, traced[name][at]) for name, parts in gates.items()}
        ),
        c=_maybe(c),
        tanh_c=_maybe(tanh_c),
        h=frozen(h),
        trace_h=frozen(trace.states["h"][at]),
        trace_c=frozen(trace.states["c"][at]) if "c" in trace.states else None,
    )


Parts = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]  # from input, from state, pre, value


def _gates(
    module: torch.nn.Module,
    names: tuple[str, ...],
    x_t: torch.Tensor,
    h_prev: torch.Tensor,
    sel: torch.Tensor,
) -> dict[str, Parts]:
    """Each gate's rows of W_ih·x_t + b_ih and W_hh·h_{t−1} + b_hh for the chosen units, the
    pre-activation and the activation, in PyTorch's row order (``names``)."""
    d = h_prev.shape[0]
    w_ih, b_ih, w_hh, b_hh = (
        module.get_parameter(f"{n}_l0") for n in ("weight_ih", "bias_ih", "weight_hh", "bias_hh")
    )
    from_input = w_ih @ x_t + b_ih  # [len(names) · d]
    from_state = w_hh @ h_prev + b_hh
    out: dict[str, Parts] = {}
    for k, name in enumerate(names):
        xi, hi = from_input[k * d + sel], from_state[k * d + sel]
        pre = xi + out["r"][3] * hi if name == "n" else xi + hi  # the GRU's n reads r
        out[name] = (xi, hi, pre, torch.tanh(pre) if name in _TANH else torch.sigmoid(pre))
    return out


def _new_state(
    gates: dict[str, Parts], c_prev: torch.Tensor | None, h_prev: torch.Tensor
) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor]:
    """(c_t, tanh(c_t), h_t) from the activations, by the cell's equation (c only for the LSTM)."""
    act = {name: parts[3] for name, parts in gates.items()}
    if c_prev is not None:  # LSTM
        c = act["f"] * c_prev + act["i"] * act["g"]
        return c, torch.tanh(c), act["o"] * torch.tanh(c)
    if "z" in act:  # GRU
        return None, None, (1 - act["z"]) * act["n"] + act["z"] * h_prev
    return None, None, act["h"]  # RNN


def _preactivation(name: str, parts: Parts, traced: np.ndarray) -> Preactivation:
    xi, hi, pre, value = (frozen(p) for p in parts)
    return Preactivation(name, "tanh" if name in _TANH else "sigmoid", xi, hi, pre, value, frozen(traced))


def _maybe(x: torch.Tensor | None) -> np.ndarray | None:
    return None if x is None else frozen(x)


@dataclass(frozen=True)
class MemoryHorizon:
    """How much of a layer's old state survives, per unit and distance, measured from its keep
    gate g (the LSTM's forget gate f, the GRU's update gate z): the old state enters each
    step multiplied by g_t, so the share of the state at step s still in the state at step
    t > s, along this direct path, is Π_{τ=s+1..t} g_τ. For the GRU, h_s also reaches h_t
    through n (via r and W_hh); that path is not counted here.

    Arrays float32 (int32 for half_life), read-only; U = d_hidden, d = t − s is the distance.
    """

    model: str
    tokens: Tokens
    layer: int
    gate: str  # "f" (LSTM) or "z" (GRU)
    t: int  # the end step of ``survival``
    max_distance: int  # the largest distance measured
    survival: np.ndarray  # [U, min(t, max_distance) + 1]: [u, d] = Π_{τ=t−d+1..t} g_τ[u]; column 0 is 1
    mean_survival: np.ndarray  # [U, min(T − 1, max_distance) + 1]: [u, d] averaged over every end step ≥ d
    half_life: np.ndarray  # int32[U], the first d where mean_survival < 0.5; −1 if none within max_distance


def memory_horizon(
    model: LanguageModel, text: str, layer: int, t: int | None = None, max_distance: int | None = None
) -> MemoryHorizon:
    """The memory horizon of ``layer`` on ``text``: products of the trace's keep gates over
    every distance up to ``max_distance`` (default: the whole text), ending at step ``t``
    (default: the last token) and averaged over all end steps. Costs O(d_hidden · T ·
    max_distance) multiplications. The RNN has no gate, so it has no horizon to measure."""
    _recurrent(model, "memory gate")
    gate = next((g for g in _KEEP_GATE if g in model.spec.gates), None)
    if gate is None:
        raise MissingPartError(
            model.name, model.spec.architecture, "gate that keeps its old state (a plain RNN "
            "rewrites all of h every step)", "an LSTM (forget gate f) or a GRU (update gate z)"
        )  # fmt: skip
    trace = model.trace(text)
    n_tokens = len(trace.tokens["input"])
    layer = check_index("layer", layer, model.spec.n_layers)
    t = n_tokens - 1 if t is None else check_index("t", t, n_tokens)
    if max_distance is None:
        max_distance = n_tokens - 1
    elif isinstance(max_distance, bool) or not isinstance(max_distance, int) or max_distance < 0:
        raise OptionError("max_distance", max_distance, 0, n_tokens - 1)
    max_distance = min(max_distance, n_tokens - 1)
    g = np.asarray(trace.gates[gate][layer], dtype=np.float64).T  # [U, T]
    survival = np.empty((g.shape[0], min(t, max_distance) + 1))
    mean = np.empty((g.shape[0], max_distance + 1))
    products = np.ones_like(g)  # distance 0 at every end step t' = 0..T−1
    for d in range(max_distance + 1):
        if d > 0:  # end steps t' = d..T−1: the products at d − 1 ending at t' − 1, times g_t'
            products = products[:, :-1] * g[:, d:]
        mean[:, d] = products.mean(axis=1)
        if d <= t:
            survival[:, d] = products[:, t - d]
    below = mean < 0.5
    half_life = np.where(below.any(axis=1), below.argmax(axis=1), -1)
    return MemoryHorizon(
        model=model.name,
        tokens=trace.tokens["input"],
        layer=layer,
        gate=gate,
        t=t,
        max_distance=max_distance,
        survival=frozen(survival),
        mean_survival=frozen(mean),
        half_life=frozen(half_life, dtype=np.int32),
    )
