"""Fixtures for tests that need the training corpus, and the model-card check shared by the
shipped-checkpoint and training tests."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from typing import Any

import pytest

from models.data import Corpus, data_dir, load_corpus
from models.evaluate import Stream
from models.tokenizer import Tokenizer

WORD = re.compile(r"[^\W\d_]+")  # runs of letters; "don't" -> "don", "t"
REQUIRED_METRICS = ("valid_loss", "valid_perplexity", "valid_bits_per_char", "train_loss", "valid_slice")
REQUIRED_KEYS = (
    "arch", "config", "n_params", "data", "tokens_seen", "metrics",
    "wall_time_s", "torch_version", "seed", "sample",
)  # fmt: skip


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    try:
        return load_corpus()
    except FileNotFoundError as exc:
        pytest.skip(f"training corpus not available ({exc})")


@pytest.fixture(scope="session")
def corpus_vocabulary(corpus: Corpus) -> set[str]:
    """Every lower-cased alphabetic word of the training texts."""
    return {w for text in corpus.train for w in words(text)}


@pytest.fixture(scope="session")
def valid_stream(corpus: Corpus, tokenizer: Tokenizer) -> Stream:
    return Stream.from_texts(corpus.valid, tokenizer)


CardCheck = Callable[[dict[str, Any]], None]


@pytest.fixture(scope="session")
def check_card(corpus: Corpus) -> CardCheck:
    """A function asserting that a model card records what a reader needs to trust it."""
    sha256 = {name: hashlib.sha256((data_dir() / name).read_bytes()).hexdigest() for name in corpus.files}

    def check(card: dict[str, Any]) -> None:
        missing = [k for k in REQUIRED_KEYS if k not in card]
        assert not missing, f"card lacks {missing}"
        assert card["arch"] in ("transformer", "lstm", "gru", "rnn")
        assert isinstance(card["config"], dict) and card["config"]["d_vocab"] > 0
        assert isinstance(card["n_params"], int) and card["n_params"] > 0
        assert card["data"]["files"] == sha256, "card's corpus sha256 sums differ from the files"
        assert card["data"]["split"], "the train/validation split is not recorded"
        assert isinstance(card["tokens_seen"], int) and card["tokens_seen"] > 0
        metrics = card["metrics"]
        assert not [k for k in REQUIRED_METRICS if k not in metrics], f"metrics lack {REQUIRED_METRICS}"
        for key in REQUIRED_METRICS[:-1]:
            assert math.isfinite(metrics[key]) and metrics[key] > 0, key
        assert math.isclose(metrics["valid_perplexity"], math.exp(metrics["valid_loss"]), rel_tol=1e-9)
        assert {"tokens", "window", "loss"} <= metrics["valid_slice"].keys()
        assert card["wall_time_s"] >= 0
        assert isinstance(card["torch_version"], str) and card["torch_version"]
        assert isinstance(card["seed"], int)
        assert isinstance(card["sample"]["greedy"], str) and card["sample"]["greedy"]

    return check
