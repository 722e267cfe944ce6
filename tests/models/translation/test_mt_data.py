"""The fixed split by distinct English sentence, and the joint tokenizer's exact round trip of
French typography (narrow no-break spaces before ! ? : ; and no-break spaces)."""

from __future__ import annotations

import hashlib

import pytest

from models.tokenizer import Tokenizer
from models.translation.data import (
    N_TEST,
    N_VALID,
    Corpus,
    Encoded,
    batch_plan,
    data_file,
    load_corpus,
    make_batch,
    read_pairs,
    split_pairs,
)

FRENCH_TYPOGRAPHY = (
    "Tu viens\u202f? Oui\u00a0! «\u00a0Bien\u00a0» Attention\u202f: ça brûle\u202f; va-t'en\u202f!",
    "\u202f\u00a0\u202f",
    "Où est la gare\u202f?",
)


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    try:
        return load_corpus()
    except FileNotFoundError as exc:
        pytest.skip(f"translation data not available ({exc})")


def test_split_sizes_and_sha256_are_recorded(corpus: Corpus) -> None:
    assert (len(corpus.test), len(corpus.valid)) == (N_TEST, N_VALID) == (2000, 1000)
    assert corpus.sha256 == hashlib.sha256(data_file().read_bytes()).hexdigest()
    described = corpus.describe()
    assert described["sha256"] == corpus.sha256 and described["split"]["seed"] == 2017
    assert "manythings.org/anki and tatoeba.org" in str(described["credit"])


def test_no_english_sentence_is_in_two_splits(corpus: Corpus) -> None:
    train, valid, test = (set(s.english) for s in (corpus.train, corpus.valid, corpus.test))
    assert not (train & valid) and not (train & test) and not (valid & test)
    assert len(train) + len(valid) + len(test) == 98_659  # every distinct English sentence


def test_each_sentence_keeps_all_its_references(corpus: Corpus) -> None:
    pairs = read_pairs(data_file())
    all_refs: dict[str, list[str]] = {}
    for en, fr in pairs:
        all_refs.setdefault(en, []).append(fr)
    for split in (corpus.train, corpus.valid, corpus.test):
        for en, refs in zip(split.english, split.references, strict=True):
            assert list(refs) == all_refs[en]
    assert sum(len(s.pairs()) for s in (corpus.train, corpus.valid, corpus.test)) == len(pairs) == 142_787
    assert max(map(len, corpus.test.references)) > 1, "some test sentences have several references"


def test_split_is_deterministic_and_independent_of_file_order() -> None:
    pairs = [(f"sentence {i}", f"phrase {i}{suffix}") for i in range(50) for suffix in ("", " bis")]
    a = split_pairs(pairs, seed=3, n_test=5, n_valid=4)
    b = split_pairs(list(reversed(pairs)), seed=3, n_test=5, n_valid=4)
    assert [set(s.english) for s in a] == [set(s.english) for s in b]
    assert a == split_pairs(pairs, seed=3, n_test=5, n_valid=4)
    assert [len(s) for s in a] == [41, 4, 5]


@pytest.mark.parametrize("text", FRENCH_TYPOGRAPHY)
def test_tokenizer_round_trips_french_no_break_spaces(mt_tokenizer: Tokenizer, text: str) -> None:
    tokens = mt_tokenizer.encode(text)
    assert mt_tokenizer.decode(tokens.ids) == text
    assert "".join(text[a:b] for a, b in tokens.spans) == text
    assert any("\u202f" in s for s in tokens.strings) == ("\u202f" in text)


def test_tokenizer_round_trips_every_test_reference(mt_tokenizer: Tokenizer, corpus: Corpus) -> None:
    refs = [fr for r in corpus.test.references for fr in r]
    assert sum("\u202f" in fr for fr in refs) > 50 and sum("\u00a0" in fr for fr in refs) > 10
    for text in [*corpus.test.english, *refs]:
        assert mt_tokenizer.decode(mt_tokenizer.encode_ids(text)) == text


def test_tokenizer_is_joint_and_small(mt_tokenizer: Tokenizer) -> None:
    assert mt_tokenizer.vocab_size == 8000
    for word in (" the", " le", " est", " is"):  # whole words of both languages are single tokens
        assert len(mt_tokenizer.encode_ids(word)) == 1, word


def test_batches_cover_every_pair_once_within_the_token_limit(mt_tokenizer: Tokenizer) -> None:
    pairs = [
        (f"I have {n} cats" + " and dogs" * (n % 7), f"J'ai {n} chats" + " et chiens" * (n % 5))
        for n in range(300)
    ]
    data = Encoded.from_pairs(pairs, mt_tokenizer, max_len=64)
    plan = batch_plan(data, max_tokens=200, seed=1, epoch=0)
    assert sorted(i for batch in plan for i in batch) == list(range(len(data)))
    for idx in plan:
        batch = make_batch(data, idx, bos=mt_tokenizer.eot_id)
        assert batch.src.numel() + batch.tgt_in.numel() <= 200 or len(idx) == 1
        assert (batch.tgt_in[:, 0] == mt_tokenizer.eot_id).all()
        real = batch.tgt_out != -100
        assert (batch.tgt_in[:, 1:][real[:, 1:]] == batch.tgt_out[:, :-1][real[:, 1:]]).all()
    assert plan == batch_plan(data, max_tokens=200, seed=1, epoch=0)
    assert plan != batch_plan(data, max_tokens=200, seed=1, epoch=1)
