"""The surface both translation networks implement, so one trainer and one search serve both."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..net import Internals
from ..spec import ModelSpec

Memory = dict[str, Any]  # what ``encode`` computes once per source sentence
State = dict[str, Any]  # what ``step`` carries from one target token to the next


def key_padding(lengths: torch.Tensor, n: int) -> torch.Tensor:
    """bool [B, n], True at padding positions (index >= length)."""
    return torch.arange(n)[None, :] >= lengths[:, None]


class Seq2SeqNet(nn.Module):
    """An encoder–decoder over one joint vocabulary, with three paths over one set of weights:

    - ``forward(src [B, S], src_len [B], tgt_in [B, T]) -> logits [B, T, d_vocab]``: training;
    - ``forward_trace(src [1, S], tgt [1, T]) -> (logits [T, d_vocab], internals)``: teacher
      forcing of one pair, every internal the spec declares returned;
    - ``encode(src [1, S])``, ``start(memory, batch)``, ``step(state, y [B])`` and
      ``reorder(state, rows)``: decoding one token at a time for ``batch`` hypotheses of one
      sentence. ``step`` returns logits [B, d_vocab], the cross-attention of that step
      [B, n_layers, n_heads, S] and the next state.
    """

    cfg: Any

    @property
    def spec(self) -> ModelSpec:
        raise NotImplementedError

    def forward_trace(self, src: torch.Tensor, tgt: torch.Tensor) -> tuple[torch.Tensor, Internals]:
        raise NotImplementedError

    def encode(self, src: torch.Tensor) -> Memory:
        raise NotImplementedError

    def start(self, memory: Memory, batch: int) -> State:
        raise NotImplementedError

    def step(self, state: State, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, State]:
        raise NotImplementedError

    def reorder(self, state: State, rows: torch.Tensor) -> State:
        raise NotImplementedError
