"""Backpropagation through time for every prediction of a recurrent LM at once.

Row t is the gradient of log p(x_{t+1}) with respect to each earlier token embedding e_s.
One reverse sweep over time carries, at step s, the cotangents of all rows t ≥ s together
(a [rows, width] matrix), so each step is one matrix product per layer and the total work is
the T²/2 (row, step) pairs that matter. The cell derivatives are written out from the
forward pass's own h, c and gates (``forward_trace``); ``tests/models/test_influence.py``
checks them against float64 finite differences and against autograd.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from .recurrent import RecurrentLM, _weights

Tensor = torch.Tensor


@dataclass(frozen=True)
class _Layer:
    """One layer's backward step at time s: (s, dh [n, d], dc [n, d] | None) ->
    (dh_{s-1} [n, d], dc_{s-1} | None, dx_s [n, d_in]), for the n rows still active."""

    step: Callable[[int, Tensor, Tensor | None], tuple[Tensor, Tensor | None, Tensor]]
    has_c: bool


def _previous(h: Tensor) -> Tensor:
    """h_{t-1} for every t, with h_{-1} = 0: [T, d]."""
    return torch.cat([h.new_zeros(1, h.shape[1]), h[:-1]])


def _lstm(layer: torch.nn.Module, states: dict[str, Tensor], d: int) -> _Layer:
    i, f, g, o, c = (states[k] for k in ("i", "f", "g", "o", "c"))
    tc = torch.tanh(c)
    to_c = o * (1 - tc * tc)  # ∂h/∂c
    ifg = torch.stack([g * i * (1 - i), _previous(c) * f * (1 - f), i * (1 - g * g)], 1)  # [T, 3, d]
    to_o = tc * o * (1 - o)
    w_ih, _, w_hh, _ = _weights(layer)
    w = torch.cat([w_hh, w_ih], 1)  # [4d, d + d_in]

    def step(s: int, dh: Tensor, dc: Tensor | None) -> tuple[Tensor, Tensor | None, Tensor]:
        assert dc is not None
        dc = dc + dh * to_c[s]
        dpre = torch.cat([(dc[:, None] * ifg[s]).flatten(1), dh * to_o[s]], 1)  # i, f, g, o
        out = dpre @ w
        return out[:, :d], dc * f[s], out[:, d:]

    return _Layer(step, True)


def _gru(layer: torch.nn.Module, states: dict[str, Tensor], d: int) -> _Layer:
    r, z, n, h = (states[k] for k in ("r", "z", "n", "h"))
    h_prev = _previous(h)
    w_ih, _, w_hh, b_hh = _weights(layer)
    hn = h_prev @ w_hh[2 * d :].T + b_hh[2 * d :]  # W_hn h_{t-1} + b_hn
    to_n = (1 - z) * (1 - n * n)  # ∂h/∂(pre-activation of n)
    to_r = to_n * hn * r * (1 - r)
    to_z = (h_prev - n) * z * (1 - z)
    from_x = torch.stack([to_r, to_z, to_n], 1)  # [T, 3, d]
    from_h = torch.stack([to_r, to_z, to_n * r], 1)

    def step(s: int, dh: Tensor, dc: Tensor | None) -> tuple[Tensor, Tensor | None, Tensor]:
        dx = (dh[:, None] * from_x[s]).flatten(1) @ w_ih
        return dh * z[s] + (dh[:, None] * from_h[s]).flatten(1) @ w_hh, None, dx

    return _Layer(step, False)


def _rnn(layer: torch.nn.Module, states: dict[str, Tensor], d: int) -> _Layer:
    to_pre = 1 - states["h"] ** 2
    w_ih, _, w_hh, _ = _weights(layer)
    w = torch.cat([w_hh, w_ih], 1)  # [d, d + d_in]

    def step(s: int, dh: Tensor, dc: Tensor | None) -> tuple[Tensor, Tensor | None, Tensor]:
        out = (dh * to_pre[s]) @ w
        return out[:, :d], None, out[:, d:]

    return _Layer(step, False)


_CELLS = {"lstm": _lstm, "gru": _gru, "rnn": _rnn}


@torch.no_grad()
def embedding_gradients(net: RecurrentLM, ids: Tensor, top: Tensor, emb: Tensor) -> tuple[Tensor, Tensor]:
    """Gradient × input and gradient norm, each [R, T], of rows r < R = len(top).

    ``ids`` int64[T] are the input tokens, ``emb`` [T, d_embed] their embeddings and ``top``
    [R, d_hidden] the gradient of row r's log-probability with respect to the top layer's h
    at position r. Entry [r, s] is ⟨∂ log p_r / ∂e_s, e_s⟩ (and ‖∂ log p_r / ∂e_s‖); it is
    exactly 0 for s > r, which no sweep reaches.
    """
    d = net.cfg.d_hidden
    _, internals = net.forward_trace(ids[None])
    layers = []
    for k, layer in enumerate(net.layers):
        states = {name: v[k] for group in internals.values() for name, v in group.items()}
        layers.append(_CELLS[net.cfg.cell](layer, states, d))
    n_rows = len(top)
    dh_next = [top.new_zeros(n_rows, d) for _ in layers]  # cotangent of h_s from step s + 1
    dc_next = [top.new_zeros(n_rows, d) if layer.has_c else None for layer in layers]
    values = emb.new_zeros(n_rows, len(ids))
    norms = emb.new_zeros(n_rows, len(ids))
    for s in reversed(range(n_rows)):  # rows s..R-1 are active at step s
        from_above = torch.zeros_like(dh_next[-1][s:])
        from_above[0] = top[s]  # row s starts at the top layer's output of step s
        for k in reversed(range(len(layers))):
            dc = dc_next[k]
            dh_prev, dc_prev, dx = layers[k].step(
                s, dh_next[k][s:] + from_above, None if dc is None else dc[s:]
            )
            dh_next[k][s:] = dh_prev
            if dc is not None and dc_prev is not None:
                dc[s:] = dc_prev
            from_above = dx
        values[s:, s] = from_above @ emb[s]
        norms[s:, s] = torch.linalg.vector_norm(from_above, dim=1)
    return values, norms
