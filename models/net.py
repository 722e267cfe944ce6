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

    @property
    def spec(self) -> ModelSpec:
        raise NotImplementedError

    @property
    def n_ctx(self) -> int:
        return self.spec.n_ctx

    def forward_trace(self, idx: torch.Tensor) -> tuple[torch.Tensor, Internals]:
        raise NotImplementedError
