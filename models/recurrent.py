"""Recurrent language models: LSTM, GRU and plain tanh (Elman) RNN.

Each layer is its own single-layer ``torch.nn`` module. Training and ``forward_trace`` both
run PyTorch's fused kernels to get each layer's h; ``forward_trace`` then recomputes, with the
very same weights, the gates of every step at once from x_t and h_{t-1} (i, f, g, o for the
LSTM, r, z, n for the GRU) and the LSTM's cell state c by an element-wise scan over time, and
returns every layer's h (and c) and gates. Tests check them against a step-by-step loop over
the cell equations and PyTorch's own cells. Embeddings are tied through a projection of the
top layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from .net import Internals, TracedNet
from .spec import ModelSpec

_MODULES: dict[str, type[nn.LSTM] | type[nn.GRU] | type[nn.RNN]] = {
    "lstm": nn.LSTM,
    "gru": nn.GRU,
    "rnn": nn.RNN,
}


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


def _weights(layer: nn.Module) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """W_ih, b_ih, W_hh, b_hh of a single-layer ``nn.LSTM``/``GRU``/``RNN``."""
    w_ih, b_ih, w_hh, b_hh = (
        getattr(layer, f"{n}_l0") for n in ("weight_ih", "bias_ih", "weight_hh", "bias_hh")
    )
    return w_ih, b_ih, w_hh, b_hh


def _inputs(layer: nn.Module, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """x·W_ihᵀ + b_ih and h_{t-1}·W_hhᵀ + b_hh for every step at once; h_{-1} = 0."""
    w_ih, b_ih, w_hh, b_hh = _weights(layer)
    h_prev = torch.cat([h.new_zeros(1, h.shape[1]), h[:-1]])  # [T, d]
    return torch.addmm(b_ih, x, w_ih.T), torch.addmm(b_hh, h_prev, w_hh.T)


def _lstm_internals(layer: nn.Module, x: torch.Tensor, h: torch.Tensor, d: int) -> dict[str, torch.Tensor]:
    """c and the gates (rows i, f, g, o of PyTorch's layout) of an LSTM layer that output h."""
    xw, hw = _inputs(layer, x, h)
    pre = xw + hw  # [T, 4d]
    i, f, o = (torch.sigmoid(pre[:, k * d : (k + 1) * d]) for k in (0, 1, 3))
    g = torch.tanh(pre[:, 2 * d : 3 * d])
    ig = i * g
    c, cs = h.new_zeros(d), []
    for ig_t, f_t in zip(ig.unbind(), f.unbind(), strict=True):  # c_t = f_t·c_{t-1} + i_t·g_t
        c = torch.addcmul(ig_t, f_t, c)  # element-wise, so the scan over time is cheap
        cs.append(c)
    return {"c": torch.stack(cs), "i": i, "f": f, "g": g, "o": o}


def _gru_internals(layer: nn.Module, x: torch.Tensor, h: torch.Tensor, d: int) -> dict[str, torch.Tensor]:
    """The gates (rows r, z, n of PyTorch's layout) of a GRU layer that output h."""
    xw, hw = _inputs(layer, x, h)
    rz = torch.sigmoid(xw[:, : 2 * d] + hw[:, : 2 * d])
    r, z = rz[:, :d], rz[:, d:]
    n = torch.tanh(torch.addcmul(xw[:, 2 * d :], r, hw[:, 2 * d :]))
    return {"r": r, "z": z, "n": n}


def _rnn_internals(layer: nn.Module, x: torch.Tensor, h: torch.Tensor, d: int) -> dict[str, torch.Tensor]:
    return {}


_INTERNALS = {"lstm": _lstm_internals, "gru": _gru_internals, "rnn": _rnn_internals}


class RecurrentLM(TracedNet):
    parts_by_cell: ClassVar[dict[str, tuple[str, ...]]] = {
        "lstm": ("h", "c", "gates", "predictions", "logits"),
        "gru": ("h", "gates", "predictions", "logits"),
        "rnn": ("h", "predictions", "logits"),
    }
    gates_by_cell: ClassVar[dict[str, tuple[str, ...]]] = {
        "lstm": ("i", "f", "g", "o"),
        "gru": ("r", "z", "n"),
        "rnn": (),
    }

    def __init__(self, cfg: RecurrentConfig) -> None:
        super().__init__()
        if cfg.cell not in _MODULES:
            raise ValueError(f"unknown cell {cfg.cell!r}; choose one of {sorted(_MODULES)}")
        self.cfg = cfg
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

    @property
    def spec(self) -> ModelSpec:
        cfg = self.cfg
        return ModelSpec(
            architecture=cfg.cell,
            n_layers=cfg.n_layers,
            n_heads=None,
            width=cfg.d_hidden,
            n_ctx=cfg.n_ctx,
            d_vocab=cfg.d_vocab,
            parts=self.parts_by_cell[cfg.cell],
            gates=self.gates_by_cell[cfg.cell],
        )

    def unembed(self, h: torch.Tensor) -> torch.Tensor:
        return self.proj(h) @ self.wte.weight.T  # tied: [..., d_vocab]

    def features(self, tok_emb: torch.Tensor) -> torch.Tensor:
        """Token embeddings [B, T, d_embed] -> the top layer's h [B, T, d_hidden]."""
        x = self.drop(tok_emb)
        for layer in self.layers:
            x = self.drop(layer(x)[0])
        return x

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.wte(idx))  # [B, T, d_embed]
        for layer in self.layers:
            x = self.drop(layer(x)[0])  # [B, T, d_hidden]
        return self.unembed(x)

    def forward_trace(self, idx: torch.Tensor) -> tuple[torch.Tensor, Internals]:
        """idx [1, T] -> logits [T, d_vocab] and h, c, gates, each [n_layers, T, d_hidden]."""
        x = self.wte(idx[0])  # [T, d_embed]
        internals = _INTERNALS[self.cfg.cell]
        per_layer: list[dict[str, torch.Tensor]] = []
        for layer in self.layers:
            h = layer(x[None])[0][0]  # [T, d_hidden], PyTorch's fused kernel
            per_layer.append({"h": h, **internals(layer, x, h, self.cfg.d_hidden)})
            x = h
        stack = {k: torch.stack([p[k] for p in per_layer]) for k in per_layer[0]}
        states: dict[str, torch.Tensor] = {k: stack.pop(k) for k in ("h", "c") if k in stack}
        return self.unembed(x), {"states": states, "gates": stack}
