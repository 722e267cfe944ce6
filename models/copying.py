"""How much a language model copies from its context: the induction score of every attention
head and the copy ratio on repeated words, both on small fixed probe sets (no gradients).

- **Induction score** of a head: its mean attention weight from position t to t − n + 1 over
  the second half of sequences made of a block of n random common word tokens repeated twice
  (the token after the earlier occurrence of the current token; Olsson et al. 2022).
- **Copy ratio**: mean surprisal of the second copy ÷ mean surprisal of the first copy, over
  sequences of random common words (single tokens with a leading space) repeated twice. Near
  1: the model does not use the first copy; near 0: it copies.

Every probe sequence starts with the end-of-text token, as a new document does in training.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .net import TracedNet
from .tokenizer import Tokenizer

_WORD = re.compile(r"(?<= )[a-z]{3,}(?![A-Za-z])")  # lower-case words of 3+ letters after a space


def common_words(texts: Iterable[str], tokenizer: Tokenizer, size: int = 1000) -> list[int]:
    """Token ids of the ``size`` most frequent lower-case words (3+ letters) in ``texts`` that
    are a single token with their leading space, most frequent first."""
    counts = Counter(w for text in texts for w in _WORD.findall(text))
    pool: list[int] = []
    for word, _ in counts.most_common():
        ids = tokenizer.encode_ids(" " + word)
        if len(ids) == 1:
            pool.append(ids[0])
            if len(pool) == size:
                break
    return pool


@dataclass(frozen=True)
class CopyProbe:
    """Fixed probe sequences, each [EOT, block, block]: ``induction`` int64[S, 1 + 2n] of
    random word tokens (repeats allowed), ``words`` int64[S, 1 + 2m] of distinct words."""

    induction: torch.Tensor
    words: torch.Tensor

    @classmethod
    def build(
        cls,
        pool: Sequence[int],
        eot_id: int,
        n: int = 32,
        n_words: int = 20,
        sequences: int = 8,
        seed: int = 0,
    ) -> CopyProbe:
        gen = torch.Generator().manual_seed(seed)
        ids = torch.tensor(pool, dtype=torch.long)
        eot = torch.full((sequences, 1), eot_id, dtype=torch.long)
        block = ids[torch.randint(0, len(ids), (sequences, n), generator=gen)]
        words = torch.stack(
            [ids[torch.randperm(len(ids), generator=gen)[:n_words]] for _ in range(sequences)]
        )
        return cls(torch.cat([eot, block, block], 1), torch.cat([eot, words, words], 1))

    @classmethod
    def for_context(cls, pool: Sequence[int], eot_id: int, n_ctx: int) -> CopyProbe:
        """The standard probe (blocks of 32 tokens and of 20 words, 8 sequences each, seed 0),
        its blocks shortened if two of them and the EOT do not fit in ``n_ctx``."""
        half = (n_ctx - 1) // 2
        return cls.build(list(pool), eot_id, n=min(32, half), n_words=min(20, half))


@torch.no_grad()
def induction_scores(net: TracedNet, probe: CopyProbe) -> torch.Tensor:
    """float32[n_layers, n_heads]: mean attention from t to t − n + 1 over the second copy."""
    n = (probe.induction.shape[1] - 1) // 2
    was_training = net.training
    net.eval()
    total = None
    for seq in probe.induction:
        _, internals = net.forward_trace(seq[None])
        pattern = internals["attention"]["self"]  # [L, H, T, T]
        t = torch.arange(n + 1, 2 * n + 1)  # second-copy positions
        score = pattern[:, :, t, t - n + 1].mean(-1)  # [L, H]
        total = score if total is None else total + score
    net.train(was_training)
    assert total is not None
    return total / len(probe.induction)


@torch.no_grad()
def copy_surprisal(net: TracedNet, probe: CopyProbe) -> tuple[float, float]:
    """Mean surprisal (nats) of the first and of the second copy of the probe words."""
    m = (probe.words.shape[1] - 1) // 2
    was_training = net.training
    net.eval()
    x, y = probe.words[:, :-1], probe.words[:, 1:]
    nll = F.cross_entropy(net(x).flatten(0, 1).float(), y.flatten(), reduction="none").view(y.shape)
    net.train(was_training)
    return float(nll[:, :m].mean()), float(nll[:, m:].mean())


def copy_ratio(net: TracedNet, probe: CopyProbe) -> float:
    first, second = copy_surprisal(net, probe)
    return second / first


def copying_summary(net: TracedNet, probe: CopyProbe) -> dict[str, object]:
    """The probes' numbers for a history entry or a model card; induction only with attention."""
    first, second = copy_surprisal(net, probe)
    out: dict[str, object] = {
        "copy_ratio": second / first,
        "copy_first_nats": first,
        "copy_second_nats": second,
    }
    if net.spec.attention:
        scores = induction_scores(net, probe)
        out["induction"] = [[round(float(v), 4) for v in row] for row in scores]
        out["induction_max"] = float(scores.max())
    return out
