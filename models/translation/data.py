"""English–French pairs: loading, the fixed split by distinct English sentence, and
length-bucketed token batches for training.

The data (``../shared/data/en-fr/fra.txt``, Tatoeba via manythings.org/anki, CC-BY 2.0) lives
outside the repository; model cards record its sha256 and the split's seed and sizes.
"""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from ..tokenizer import Tokenizer

DEFAULT_DATA_FILE = Path(__file__).resolve().parents[3] / "shared" / "data" / "en-fr" / "fra.txt"
SPLIT_SEED = 2017
N_TEST = 2000  # distinct English sentences, each with all its French references
N_VALID = 1000
CREDIT = "manythings.org/anki and tatoeba.org"
LICENCE = "CC-BY 2.0"


def data_file() -> Path:
    """The pairs file: ``$ATTENZIONE_MT_DATA`` or ``../shared/data/en-fr/fra.txt``."""
    return Path(os.environ.get("ATTENZIONE_MT_DATA", DEFAULT_DATA_FILE))


@dataclass(frozen=True)
class Split:
    """One part of the data: distinct English sentences and, for each, all its references."""

    english: tuple[str, ...]
    references: tuple[tuple[str, ...], ...]  # French references of english[i], in file order

    def pairs(self) -> list[tuple[str, str]]:
        return [(en, fr) for en, refs in zip(self.english, self.references, strict=True) for fr in refs]

    def __len__(self) -> int:
        return len(self.english)


@dataclass(frozen=True)
class Corpus:
    train: Split
    valid: Split
    test: Split
    sha256: str
    file: str

    def describe(self) -> dict[str, object]:
        """What a model card records about the data and the split."""
        return {
            "file": self.file,
            "sha256": self.sha256,
            "credit": CREDIT,
            "licence": LICENCE,
            "split": {
                "by": "distinct English sentence, each with all its French references",
                "seed": SPLIT_SEED,
                "method": "sorted distinct English sentences, shuffled by random.Random(seed)",
                "sentences": {"train": len(self.train), "valid": len(self.valid), "test": len(self.test)},
                "pairs": {
                    "train": len(self.train.pairs()),
                    "valid": len(self.valid.pairs()),
                    "test": len(self.test.pairs()),
                },
                "test_sha256": _split_digest(self.test),
                "valid_sha256": _split_digest(self.valid),
            },
        }


def _split_digest(split: Split) -> str:
    """sha256 of a split's English sentences, one per line, in split order."""
    return hashlib.sha256("\n".join(split.english).encode()).hexdigest()


def read_pairs(path: Path) -> list[tuple[str, str]]:
    pairs = []
    with path.open(encoding="utf-8", newline="\n") as fh:
        for n, line in enumerate(fh, 1):
            en, sep, fr = line.rstrip("\n").partition("\t")
            if not sep or "\t" in fr:
                raise ValueError(f"{path}:{n}: expected 'English<TAB>French'")
            pairs.append((en, fr))
    return pairs


def split_pairs(
    pairs: Sequence[tuple[str, str]], seed: int = SPLIT_SEED, n_test: int = N_TEST, n_valid: int = N_VALID
) -> tuple[Split, Split, Split]:
    """Train, validation and test splits by distinct English sentence (seeded, fixed)."""
    refs: dict[str, list[str]] = {}
    for en, fr in pairs:
        refs.setdefault(en, []).append(fr)
    english = sorted(refs)
    random.Random(seed).shuffle(english)
    test, valid, train = english[:n_test], english[n_test : n_test + n_valid], english[n_test + n_valid :]

    def make(sentences: list[str]) -> Split:
        return Split(tuple(sentences), tuple(tuple(refs[en]) for en in sentences))

    return make(train), make(valid), make(test)


def load_corpus(path: Path | None = None) -> Corpus:
    path = path or data_file()
    if not path.is_file():
        raise FileNotFoundError(
            f"translation pairs {path} are missing; set ATTENZIONE_MT_DATA to the fra.txt file"
        )
    raw = path.read_bytes()
    train, valid, test = split_pairs(read_pairs(path))
    return Corpus(train, valid, test, hashlib.sha256(raw).hexdigest(), path.name)


@dataclass(frozen=True)
class Encoded:
    """Token ids of pairs: source = English + EOS, target = French + EOS (BOS is prepended
    when batching). Both EOS and BOS are the tokenizer's end-of-text id."""

    src: list[list[int]]
    tgt: list[list[int]]

    @classmethod
    def from_pairs(cls, pairs: Sequence[tuple[str, str]], tokenizer: Tokenizer, max_len: int) -> Encoded:
        """Pairs whose source or target (with EOS) is longer than ``max_len`` are left out."""
        eos = tokenizer.eot_id
        src, tgt = [], []
        for en, fr in pairs:
            s, t = [*tokenizer.encode_ids(en), eos], [*tokenizer.encode_ids(fr), eos]
            if len(s) <= max_len and len(t) <= max_len:
                src.append(s)
                tgt.append(t)
        return cls(src, tgt)

    def __len__(self) -> int:
        return len(self.src)

    def n_tokens(self) -> int:
        return sum(map(len, self.src)) + sum(map(len, self.tgt))


@dataclass(frozen=True)
class Batch:
    src: torch.Tensor  # int64[B, S], padded with 0
    src_len: torch.Tensor  # int64[B]
    tgt_in: torch.Tensor  # int64[B, T]: BOS y1 .. yn, padded
    tgt_out: torch.Tensor  # int64[B, T]: y1 .. yn EOS, padded with -100 (ignored by the loss)

    @property
    def n_tokens(self) -> int:
        """Real (unpadded) source plus target tokens."""
        return int(self.src_len.sum()) + int((self.tgt_out != -100).sum())


def make_batch(data: Encoded, idx: Sequence[int], bos: int) -> Batch:
    s_max = max(len(data.src[i]) for i in idx)
    t_max = max(len(data.tgt[i]) for i in idx)
    src = torch.zeros(len(idx), s_max, dtype=torch.long)
    tgt_in = torch.zeros(len(idx), t_max, dtype=torch.long)
    tgt_out = torch.full((len(idx), t_max), -100, dtype=torch.long)
    for row, i in enumerate(idx):
        s, t = data.src[i], data.tgt[i]
        src[row, : len(s)] = torch.tensor(s)
        tgt_in[row, : len(t)] = torch.tensor([bos, *t[:-1]])
        tgt_out[row, : len(t)] = torch.tensor(t)
    src_len = torch.tensor([len(data.src[i]) for i in idx])
    return Batch(src, src_len, tgt_in, tgt_out)


def batch_plan(data: Encoded, max_tokens: int, seed: int, epoch: int) -> list[list[int]]:
    """The epoch's batches: pairs sorted by length (ties broken at random), cut into batches of
    at most ``max_tokens`` padded source + target tokens, in shuffled order. Depends only on
    ``seed`` and ``epoch``, so a resumed run sees the same batches."""
    rng = random.Random(seed * 1_000_003 + epoch)
    keys = [
        (len(t), len(s), rng.random(), i) for i, (s, t) in enumerate(zip(data.src, data.tgt, strict=True))
    ]
    keys.sort()
    batches: list[list[int]] = []
    current: list[int] = []
    s_max = t_max = 0
    for _, _, _, i in keys:
        s2, t2 = max(s_max, len(data.src[i])), max(t_max, len(data.tgt[i]))
        if current and (len(current) + 1) * (s2 + t2) > max_tokens:
            batches.append(current)
            current, s2, t2 = [], len(data.src[i]), len(data.tgt[i])
        current.append(i)
        s_max, t_max = s2, t2
    if current:
        batches.append(current)
    rng.shuffle(batches)
    return batches


def iterate_batches(
    data: Encoded, plan: list[list[int]], start: int, bos: int
) -> Iterator[tuple[int, Batch]]:
    for k in range(start, len(plan)):
        yield k, make_batch(data, plan[k], bos)
