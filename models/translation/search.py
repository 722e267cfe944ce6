"""Greedy and beam search over any ``Seq2SeqNet``, one source sentence at a time.

Both decode with ``net.step`` (cached state, one token per step). Beam search keeps the
``beam`` best unfinished hypotheses by total log-probability; a hypothesis that emits EOS is
finished and ranked by log-probability / length**alpha (length normalisation; length counts
the EOS). It stops when ``beam`` hypotheses have finished or at ``max_len`` tokens, where the
unfinished ones are ranked with the finished. With ``beam=1`` it is greedy search.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .net import Seq2SeqNet


@dataclass(frozen=True)
class Hypothesis:
    """One decoded output: target ids without BOS, ending with EOS when ``finished``."""

    ids: tuple[int, ...]
    token_log_probs: tuple[float, ...]  # natural log-probability of each of ``ids`` at its step
    log_prob: float  # their sum
    score: float  # log_prob / len(ids)**alpha: what the beam ranks by
    finished: bool  # ended with EOS (else cut at max_len)


def normalised(log_prob: float, length: int, alpha: float) -> float:
    return log_prob / max(1, length) ** alpha


@torch.inference_mode()
def greedy(net: Seq2SeqNet, src: torch.Tensor, bos: int, eos: int, max_len: int) -> Hypothesis:
    """src [1, S] -> the hypothesis that takes the most probable token at each step."""
    state = net.start(net.encode(src), 1)
    y = torch.tensor([bos])
    ids: list[int] = []
    logps: list[float] = []
    for _ in range(max_len):
        logits, _, state = net.step(state, y)
        logp = torch.log_softmax(logits[0].float(), dim=-1)
        token = int(logp.argmax())
        ids.append(token)
        logps.append(float(logp[token]))
        if token == eos:
            break
        y = torch.tensor([token])
    log_prob = math.fsum(logps)
    return Hypothesis(tuple(ids), tuple(logps), log_prob, normalised(log_prob, len(ids), 1.0), ids[-1] == eos)


@torch.inference_mode()
def beam_search(
    net: Seq2SeqNet, src: torch.Tensor, bos: int, eos: int, max_len: int, beam: int, alpha: float = 1.0
) -> list[Hypothesis]:
    """src [1, S] -> up to ``beam`` hypotheses, best first by normalised score."""
    state = net.start(net.encode(src), 1)
    prefixes: list[tuple[int, ...]] = [()]
    prefix_logps: list[tuple[float, ...]] = [()]
    scores = torch.zeros(1, dtype=torch.float64)  # total log-probability of each live prefix
    finished: list[Hypothesis] = []
    y = torch.tensor([bos])
    for _ in range(max_len):
        logits, _, state = net.step(state, y)
        logp = torch.log_softmax(logits.float(), dim=-1).double()  # [live, V]
        total = (scores[:, None] + logp).flatten()
        top = torch.topk(total, k=min(2 * beam, total.numel()))
        rows, tokens, keep = [], [], []
        for value, flat in zip(top.values.tolist(), top.indices.tolist(), strict=True):
            row, token = divmod(flat, logp.shape[1])
            ids = (*prefixes[row], token)
            if token == eos:
                logps = (*prefix_logps[row], float(logp[row, token]))
                finished.append(Hypothesis(ids, logps, value, normalised(value, len(ids), alpha), True))
            else:
                rows.append(row)
                tokens.append(token)
                keep.append(value)
            if len(finished) >= beam or len(keep) == beam:
                break
        if len(finished) >= beam:
            break
        prefixes = [(*prefixes[r], t) for r, t in zip(rows, tokens, strict=True)]
        prefix_logps = [(*prefix_logps[r], float(logp[r, t])) for r, t in zip(rows, tokens, strict=True)]
        scores = torch.tensor(keep, dtype=torch.float64)
        state = net.reorder(state, torch.tensor(rows))
        y = torch.tensor(tokens)
    else:
        for ids, logps, value in zip(prefixes, prefix_logps, scores.tolist(), strict=True):
            finished.append(Hypothesis(ids, logps, value, normalised(value, len(ids), alpha), False))
    finished.sort(key=lambda h: h.score, reverse=True)
    return finished[:beam]
