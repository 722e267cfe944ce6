"""Subject-verb number agreement with attractors (Linzen et al. 2016; Marvin & Linzen 2018).

Templated minimal pairs from the word lists below: a singular or plural subject, then two
nouns inside a prepositional phrase ("The man near the doors behind the houses") or a
relative clause ("The man that the women near the houses saw"), then the verb. The model is
right when it gives the form that agrees with the subject (is/are, was/were, has/have) a
higher probability than the other one. An attractor is an intervening noun of the other
number; 0, 1 or 2 of the two nouns are attractors. Every noun below appears in both forms in
the training text (most at least 40 times).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .net import TracedNet
from .tokenizer import Tokenizer

NOUNS: tuple[tuple[str, str], ...] = (
    ("man", "men"), ("woman", "women"), ("girl", "girls"), ("boy", "boys"), ("child", "children"),
    ("friend", "friends"), ("lady", "ladies"), ("sailor", "sailors"), ("horse", "horses"),
    ("dog", "dogs"), ("servant", "servants"), ("house", "houses"), ("door", "doors"),
    ("window", "windows"), ("letter", "letters"), ("ship", "ships"), ("tree", "trees"),
    ("book", "books"), ("room", "rooms"), ("brother", "brothers"), ("sister", "sisters"),
    ("gentleman", "gentlemen"), ("wolf", "wolves"), ("whale", "whales"), ("boat", "boats"),
    ("bird", "birds"), ("road", "roads"), ("hill", "hills"), ("box", "boxes"), ("wall", "walls"),
    ("street", "streets"), ("daughter", "daughters"), ("person", "people"),
)  # fmt: skip
PREPOSITIONS = ("near", "behind", "beside", "by", "under", "above", "with")
PAST_VERBS = ("saw", "loved", "knew", "met", "heard", "followed", "found", "watched", "liked")
VERBS: tuple[tuple[str, str], ...] = (("is", "are"), ("was", "were"), ("has", "have"))
STRUCTURES = ("pp", "rc")  # prepositional phrase, relative clause
ATTRACTORS = (0, 1, 2)


@dataclass(frozen=True)
class Pair:
    """One minimal pair: the prefix, and the verb that agrees with its subject and the one that
    does not."""

    structure: str
    attractors: int
    plural: bool  # the subject's number
    prefix: str
    right: str
    wrong: str


def _noun(rng: random.Random, plural: bool, used: set[int]) -> str:
    """A noun in the given number whose lemma is not in ``used`` yet."""
    while True:
        k = rng.randrange(len(NOUNS))
        if k not in used:
            used.add(k)
            return NOUNS[k][plural]


def make_pair(rng: random.Random, structure: str, attractors: int, plural: bool) -> Pair:
    """One random pair; which noun is the attractor, when there is one, is random too."""
    other = [True, False] if attractors == 1 else [False, False]
    if attractors == 1:
        rng.shuffle(other)
    elif attractors == 2:
        other = [True, True]
    used: set[int] = set()
    subject = _noun(rng, plural, used)
    n1, n2 = (_noun(rng, plural != o, used) for o in other)
    p1, p2 = rng.sample(PREPOSITIONS, 2)
    if structure == "pp":
        prefix = f"The {subject} {p1} the {n1} {p2} the {n2}"
    else:
        prefix = f"The {subject} that the {n1} {p1} the {n2} {rng.choice(PAST_VERBS)}"
    singular_verb, plural_verb = rng.choice(VERBS)
    right, wrong = (plural_verb, singular_verb) if plural else (singular_verb, plural_verb)
    return Pair(structure, attractors, plural, prefix, right, wrong)


def make_pairs(per_condition: int = 240, seed: int = 0) -> list[Pair]:
    """``per_condition`` pairs for each structure × number of attractors, half of them with a
    singular subject; the same list for the same seed."""
    rng = random.Random(seed)
    return [
        make_pair(rng, structure, attractors, plural=k % 2 == 1)
        for structure in STRUCTURES
        for attractors in ATTRACTORS
        for k in range(per_condition)
    ]


@torch.no_grad()
def verb_logit_margins(net: TracedNet, tokenizer: Tokenizer, pairs: Sequence[Pair]) -> torch.Tensor:
    """log p(right verb) − log p(wrong verb) after each prefix (which starts after an
    end-of-text token, as a new document does): float64[len(pairs)]."""
    verb_ids = {}
    for pair in pairs:
        for verb in (pair.right, pair.wrong):
            ids = tokenizer.encode_ids(" " + verb)
            if len(ids) != 1:
                raise ValueError(f"verb {verb!r} is not one token")
            verb_ids[verb] = ids[0]
    encoded = [[tokenizer.eot_id, *tokenizer.encode_ids(p.prefix)] for p in pairs]
    margins = torch.zeros(len(pairs), dtype=torch.float64)
    by_length: dict[int, list[int]] = {}
    for k, ids in enumerate(encoded):
        by_length.setdefault(len(ids), []).append(k)
    for group in by_length.values():  # one batch per prefix length
        x = torch.tensor([encoded[k] for k in group])
        logits = net(x)[:, -1]  # [B, d_vocab]
        right = torch.tensor([verb_ids[pairs[k].right] for k in group])
        wrong = torch.tensor([verb_ids[pairs[k].wrong] for k in group])
        rows = torch.arange(len(group))
        margins[group] = (logits[rows, right] - logits[rows, wrong]).double()
    return margins


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def agreement_summary(pairs: Sequence[Pair], margins: torch.Tensor) -> list[dict[str, object]]:
    """Accuracy per structure and number of attractors, with its 95% interval, the accuracy
    on singular and on plural subjects, and whether chance (0.5) lies inside the interval."""
    out: list[dict[str, object]] = []
    for structure in STRUCTURES:
        for attractors in ATTRACTORS:
            keep = [k for k, p in enumerate(pairs) if (p.structure, p.attractors) == (structure, attractors)]
            if not keep:
                continue
            right = [bool(margins[k] > 0) for k in keep]
            lo, hi = wilson(sum(right), len(right))
            by_number = {
                name: sum(r for r, k in zip(right, keep, strict=True) if pairs[k].plural == plural)
                / max(1, sum(pairs[k].plural == plural for k in keep))
                for name, plural in (("singular", False), ("plural", True))
            }
            out.append(
                {
                    "structure": structure,
                    "attractors": attractors,
                    "pairs": len(keep),
                    "accuracy": sum(right) / len(right),
                    "ci95": [lo, hi],
                    **by_number,
                    "at_chance": lo <= 0.5 <= hi,
                }
            )
    return out
