"""Recurrent language models: LSTM, GRU and plain tanh (Elman) RNN.

Each layer is its own single-layer ``torch.nn`` module, so that training runs PyTorch's fused
kernels while ``forward_trace`` steps through time with the very same weights and returns
every layer's h (and c), and the gates: i, f, g, o for the LSTM, r, z, n for the GRU. A test
proves the two paths agree. Embeddings are tied through a projection of the top layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from .net import Internals, TracedNet

_MODULES: dict[str, type[nn.LSTM] | type[nn.GRU] | type[nn.RNN]] = {
    "lstm": nn.LSTM,
    "gru": nn.GRU,
    "rnn": nn.RNN,
}
GATES: dict[str, tuple[str, ...]] = {"lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n"), "rnn": ()}


@dataclass
class RecurrentConfig:
    cell: str = "lstm"  # lstm | gru | rnn
    d_vocab: int = 4096
    n_ctx: int = 1024  # longest text traced; no positional limit, only a cost one
    n_layers: int = 2
    d_embed: int = 128  # embedding width, tied with the output layer
    d_hidden: int = 256
    dropout: float = 0.1  # on embeddings and between layers
    embed_std: float = 0.02  # embedding init; a plain RNN needs larger inputs to leave the unigram plateau


def _step_lstm(
    xw: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor, d: int
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """One LSTM layer over time. xw: [T, 4d] = x·W_ihᵀ + b_ih. Returns h [T, d] and the rest."""
    h, c = xw.new_zeros(d), xw.new_zeros(d)
    out: dict[str, list[torch.Tensor]] = {k: [] for k in ("h", "c", "i", "f", "g", "o")}
    for t in range(xw.shape[0]):
        pre = xw[t] + w_hh @ h + b_hh
        i, f, o = (torch.sigmoid(pre[k * d : (k + 1) * d]) for k in (0, 1, 3))
        g = torch.tanh(pre[2 * d : 3 * d])
        c = f * c + i * g
        h = o * torch.tanh(c)
        for name, value in zip(out, (h, c, i, f, g, o), strict=True):
            out[name].append(value)
    stacked = {k: torch.stack(v) for k, v in out.items()}
    return stacked.pop("h"), stacked


def _step_gru(
    xw: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor, d: int
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    h = xw.new_zeros(d)
    out: dict[str, list[torch.Tensor]] = {k: [] for k in ("h", "r", "z", "n")}
    for t in range(xw.shape[0]):
        hw = w_hh @ h + b_hh
        r = torch.sigmoid(xw[t, :d] + hw[:d])
        z = torch.sigmoid(xw[t, d : 2 * d] + hw[d : 2 * d])
        n = torch.tanh(xw[t, 2 * d :] + r * hw[2 * d :])
        h = (1 - z) * n + z * h
        for name, value in zip(out, (h, r, z, n), strict=True):
            out[name].append(value)
    stacked = {k: torch.stack(v) for k, v in out.items()}
    return stacked.pop("h"), stacked


def _step_rnn(
    xw: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor, d: int
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    h = xw.new_zeros(d)
    hs = []
    for t in range(xw.shape[0]):
        h = torch.tanh(xw[t] + w_hh @ h + b_hh)
        hs.append(h)
    return torch.stack(hs), {}


_STEPS = {"lstm": _step_lstm, "gru": _step_gru, "rnn": _step_rnn}


class RecurrentLM(TracedNet):
    parts_by_cell: ClassVar[dict[str, tuple[str, ...]]] = {
        "lstm": ("h", "c", "gates", "predictions", "logits"),
        "gru": ("h", "gates", "predictions", "logits"),
        "rnn": ("h", "predictions", "logits"),
    }

    def __init__(self, cfg: RecurrentConfig) -> None:
        super().__init__()
        if cfg.cell not in _MODULES:
            raise ValueError(f"unknown cell {cfg.cell!r}; choose one of {sorted(_MODULES)}")
        self.cfg = cfg
        self.family = cfg.cell
        self.parts = self.parts_by_cell[cfg.cell]
        self.n_ctx = cfg.n_ctx
        self.wte = nn.Embedding(cfg.d_vocab, cfg.d_embed)
        module = _MODULES[cfg.cell]
        widths = [cfg.d_embed] + [cfg.d_hidden] * cfg.n_layers
        self.layers = nn.ModuleList(
            module(widths[k], cfg.d_hidden, batch_first=True) for k in range(cfg.n_layers)
        )
        self.drop = nn.Dropout(cfg.dropout)
        self.proj = nn.Linear(cfg.d_hidden, cfg.d_embed)
        nn.init.normal_(self.wte.weight, std=cfg.embed_std)
        if cfg.cell == "lstm":  # forget-gate bias 0.5 + 0.5 = 1: remember by default at first
            for layer in self.layers:
                for name in ("bias_ih_l0", "bias_hh_l0"):
                    getattr(layer, name).data[cfg.d_hidden : 2 * cfg.d_hidden].fill_(0.5)

    def unembed(self, h: torch.Tensor) -> torch.Tensor:
        return self.proj(h) @ self.wte.weight.T  # tied: [..., d_vocab]

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.wte(idx))  # [B, T, d_embed]
        for layer in self.layers:
            x = self.drop(layer(x)[0])  # [B, T, d_hidden]
        return self.unembed(x)

    def forward_trace(self, idx: torch.Tensor) -> tuple[torch.Tensor, Internals]:
        """idx [1, T] -> logits [T, d_vocab] and h, c, gates, each [n_layers, T, d_hidden]."""
        x = self.wte(idx[0])  # [T, d_embed]
        step = _STEPS[self.cfg.cell]
        per_layer: list[dict[str, torch.Tensor]] = []
        for layer in self.layers:
            w_ih, b_ih, w_hh, b_hh = (
                getattr(layer, f"{n}_l0") for n in ("weight_ih", "bias_ih", "weight_hh", "bias_hh")
            )
            xw = x @ w_ih.T + b_ih  # all input terms at once
            x, rest = step(xw, w_hh, b_hh, self.cfg.d_hidden)
            per_layer.append({"h": x, **rest})
        stack = {k: torch.stack([p[k] for p in per_layer]) for k in per_layer[0]}
        states: dict[str, torch.Tensor] = {k: stack.pop(k) for k in ("h", "c") if k in stack}
        return self.unembed(x), {"states": states, "gates": stack}
