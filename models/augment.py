"""Training-window augmentation that rewards copying from context, applied alike to every
architecture (the held-out text is never augmented).

``repeat_spans``: in a share of the windows, a span of the window is copied to a later place
in the same window, overwriting the text there, so the second copy is predictable from the
first. Text repeats in novels too (names, phrases), but rarely enough that small models
trained briefly do not learn to look for it.

``repeat_random``: in a share of the windows, a run of random tokens is written twice in a
row, so copying is the only way to predict the second run.
"""

from __future__ import annotations

import torch


def repeat_spans(
    batch: torch.Tensor, share: float, min_len: int, max_len: int, gen: torch.Generator
) -> torch.Tensor:
    """batch int64[B, T] -> a copy in which each window, with probability ``share``, has a span
    of ``min_len``..``max_len`` tokens (at most T // 2) repeated later in the window.

    Draws the same number of random numbers whatever the outcome, so the generator advances
    identically for every batch.
    """
    b, t = batch.shape
    hi = min(max_len, t // 2)
    lo = min(min_len, hi)
    chosen = torch.rand(b, generator=gen) < share
    length = torch.randint(lo, hi + 1, (b,), generator=gen)
    u_src, u_dst = torch.rand(b, generator=gen), torch.rand(b, generator=gen)
    out = batch.clone()
    for i in torch.nonzero(chosen).flatten().tolist():
        n = int(length[i])
        src = int(u_src[i] * (t - 2 * n + 1))  # 0 .. t - 2n: room for the copy after it
        dst = src + n + int(u_dst[i] * (t - src - 2 * n + 1))  # src + n .. t - n
        out[i, dst : dst + n] = batch[i, src : src + n]
    return out


def repeat_random(
    batch: torch.Tensor,
    share: float,
    min_len: int,
    max_len: int,
    vocab: int,
    gen: torch.Generator,
    copies: int = 2,
) -> torch.Tensor:
    """batch int64[B, T] -> a copy in which each window, with probability ``share``, has a run
    of ``min_len``..``max_len`` random tokens (ids 1..vocab-1, uniform; at most T // copies)
    written ``copies`` times in a row at a random place: only the earlier copies predict the
    later ones. Several copies make the first gradients toward copying stronger. With
    ``copies=0`` the run is repeated over the whole window (at most T // 2 long).
    """
    b, t = batch.shape
    hi = min(max_len, t // max(copies, 2))
    lo = min(min_len, hi)
    chosen = torch.rand(b, generator=gen) < share
    length = torch.randint(lo, hi + 1, (b,), generator=gen)
    u_at = torch.rand(b, generator=gen)
    tokens = torch.randint(1, vocab, (b, hi), generator=gen)
    out = batch.clone()
    for i in torch.nonzero(chosen).flatten().tolist():
        n = int(length[i])
        if copies == 0:
            out[i] = tokens[i, :n].repeat(-(-t // n))[:t]
            continue
        at = int(u_at[i] * (t - copies * n + 1))
        out[i, at : at + copies * n] = tokens[i, :n].repeat(copies)
    return out
