"""The surface every traced network implements (a typed base for nn.Module subclasses)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .spec import ModelSpec

Internals = dict[str, dict[str, torch.Tensor]]  # {"attention"|"states"|"gates": {name: tensor}}


class TracedNet(nn.Module):
    """A causal LM with a fast ``forward`` (idx [B, T] -> logits [B, T, d_vocab]) and a
    ``forward_trace`` (idx [1, T] -> logits [T, d_vocab] and its internals), declaring what
    it has in ``spec``."""

    cfg: Any
    wte: nn.Embedding  # token embeddings [d_vocab, d_embed], tied with the output

    @property
    def spec(self) -> ModelSpec:
        raise NotImplementedError

    @property
    def n_ctx(self) -> int:
        return self.spec.n_ctx

    def forward_trace(self, idx: torch.Tensor) -> tuple[torch.Tensor, Internals]:
        raise NotImplementedError

    def features(self, tok_emb: torch.Tensor) -> torch.Tensor:
        """Token embeddings [B, T, d_embed] -> the top layer's output [B, T, d_out], before
        unembedding; ``forward(idx)`` is ``unembed(features(wte(idx)))``."""
        raise NotImplementedError

    def unembed(self, x: torch.Tensor) -> torch.Tensor:
        """The top layer's output [..., d_out] -> logits [..., d_vocab]."""
        raise NotImplementedError

    def forward_embedded(self, tok_emb: torch.Tensor) -> torch.Tensor:
        """Logits [B, T, d_vocab] from token embeddings [B, T, d_embed] instead of ids, for
        gradients with respect to the embeddings (``models.influence``)."""
        return self.unembed(self.features(tok_emb))
