"""Held-out evaluation: loss per token, perplexity and bits per character, plus the
unigram baseline, all on the same validation stream."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .tokenizer import Tokenizer


@dataclass(frozen=True)
class Stream:
    """A token stream: books joined by end-of-text; ``chars`` counts the text's characters."""

    ids: torch.Tensor  # int64[N]
    chars: int

    @classmethod
    def from_texts(cls, texts: tuple[str, ...] | list[str], tokenizer: Tokenizer) -> Stream:
        ids: list[int] = []
        for text in texts:
            ids.append(tokenizer.eot_id)  # so the first real token is predicted too
            ids.extend(tokenizer.encode_ids(text))
        return cls(torch.tensor(ids, dtype=torch.long), sum(len(t) for t in texts))

    def targets_mask(self, eot_id: int) -> torch.Tensor:
        return self.ids != eot_id


@dataclass(frozen=True)
class Score:
    loss: float  # mean nats per predicted token
    tokens: int
    bits: float  # total bits over those tokens

    @property
    def perplexity(self) -> float:
        return math.exp(self.loss)

    def bits_per_char(self, chars: int) -> float:
        return self.bits / chars


@torch.no_grad()
def score(net: nn.Module, ids: torch.Tensor, eot_id: int, window: int = 256, batch: int = 16) -> Score:
    """Score every non-EOT token of ``ids`` after the first, in non-overlapping windows of
    ``window`` predictions (each window starts from a fresh context)."""
    was_training = net.training
    net.eval()
    n = len(ids) - 1  # predictions
    full = n // window
    x_all, y_all = ids[: full * window], ids[1 : full * window + 1]
    chunks = [(x_all.view(full, window), y_all.view(full, window))] if full else []
    if n % window:
        chunks.append((ids[full * window : n][None], ids[full * window + 1 :][None]))
    total, count = 0.0, 0
    for xs, ys in chunks:
        for b in range(0, len(xs), batch):
            x, y = xs[b : b + batch], ys[b : b + batch]
            nll = F.cross_entropy(net(x).flatten(0, 1).float(), y.flatten(), reduction="none")
            keep = y.flatten() != eot_id
            total += float(nll[keep].sum())
            count += int(keep.sum())
    net.train(was_training)
    return Score(loss=total / count, tokens=count, bits=total / math.log(2))


def unigram_score(train: torch.Tensor, valid: torch.Tensor, vocab: int, eot_id: int) -> Score:
    """Add-one smoothed unigram model fitted on the training stream."""
    counts = torch.bincount(train[train != eot_id], minlength=vocab).double() + 1.0
    logp = torch.log(counts / counts.sum())
    y = valid[1:][valid[1:] != eot_id]
    nll = -logp[y]
    return Score(loss=float(nll.mean()), tokens=len(y), bits=float(nll.sum()) / math.log(2))
