"""The surface every traced network implements (a typed base for nn.Module subclasses)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

Internals = dict[str, dict[str, torch.Tensor]]  # {"attention"|"states"|"gates": {name: tensor}}


class TracedNet(nn.Module):
    """A causal LM with a fast ``forward`` (idx [B, T] -> logits [B, T, d_vocab]) and a
    ``forward_trace`` (idx [1, T] -> logits [T, d_vocab] and its internals)."""

    family: str
    parts: tuple[str, ...]
    n_ctx: int
    cfg: Any

    def forward_trace(self, idx: torch.Tensor) -> tuple[torch.Tensor, Internals]:
        raise NotImplementedError
