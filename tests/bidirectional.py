"""A tiny test-only model whose attention is bidirectional (no causal mask): its spec
declares the kind non-causal, so serialisation must send every cell, not a lower triangle."""

from __future__ import annotations

import math

import torch
from torch import nn

from models.net import Internals, TracedNet
from models.spec import AttentionKind, ModelSpec


class BidirectionalNet(TracedNet):
    """Embeddings, one layer of unmasked two-head attention, tied output."""

    def __init__(self, d_vocab: int, d_model: int = 16, n_heads: int = 2, n_ctx: int = 64) -> None:
        super().__init__()
        self.cfg = {"d_vocab": d_vocab, "d_model": d_model, "n_heads": n_heads, "n_ctx": n_ctx}
        self.wte = nn.Embedding(d_vocab, d_model)
        self.wpe = nn.Embedding(n_ctx, d_model)
        self.qk = nn.Linear(d_model, 2 * d_model)
        with torch.no_grad():
            for p in self.parameters():
                p.normal_(0, 0.5)

    @property
    def spec(self) -> ModelSpec:
        c = self.cfg
        kind = AttentionKind("self", False, "input", "input", 1, c["n_heads"])
        return ModelSpec(
            architecture="bidirectional",
            n_layers=1,
            n_heads=c["n_heads"],
            width=c["d_model"],
            n_ctx=c["n_ctx"],
            d_vocab=c["d_vocab"],
            parts=("attention", "resid", "predictions", "logits"),
            attention=(kind,),
        )

    def forward_trace(self, idx: torch.Tensor) -> tuple[torch.Tensor, Internals]:
        t, nh = idx.shape[1], self.cfg["n_heads"]
        x = self.wte(idx[0]) + self.wpe(torch.arange(t))  # [T, d]
        q, k = self.qk(x).view(t, 2, nh, -1).permute(1, 2, 0, 3)  # each [nh, T, dh]
        pattern = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)  # [nh, T, T]
        v = x.view(t, nh, -1).transpose(0, 1)  # [nh, T, dh]
        x = x + (pattern @ v).transpose(0, 1).reshape(t, -1)
        internals = {"attention": {"self": pattern[None]}, "states": {"resid": x[None]}}
        return x @ self.wte.weight.T, internals
