"""Tiny random-init translation models over the shipped joint tokenizer, seeded, with noise
on every weight (as in ``tests/tiny.py``) so that every value of a trace matters."""

from __future__ import annotations

import pytest

from models.tokenizer import Tokenizer
from models.translation.checkpoint import ARCHS, MT_DIR, TOKENIZER_FILE
from models.translation.model import TranslationModel
from tests.tiny import tiny_mt_net

SENTENCES = (
    "Hello, how are you?",
    "The cat sat on the mat.",
    "Go!",
    "I don't think that's a good idea at all.",
)


@pytest.fixture(scope="session")
def mt_tokenizer() -> Tokenizer:
    return Tokenizer.from_file(MT_DIR / TOKENIZER_FILE)


def make_tiny_mt(arch: str, tokenizer: Tokenizer, seed: int = 0) -> TranslationModel:
    return TranslationModel(f"tiny-{arch}-enfr", tiny_mt_net(arch, tokenizer.vocab_size, seed), tokenizer)


@pytest.fixture(scope="session")
def tiny_mts(mt_tokenizer: Tokenizer) -> dict[str, TranslationModel]:
    """One tiny model per architecture, shared by the session; tests must not modify them."""
    return {arch: make_tiny_mt(arch, mt_tokenizer, seed=i) for i, arch in enumerate(ARCHS)}


@pytest.fixture(params=ARCHS)
def mt_arch(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def mt(mt_arch: str, tiny_mts: dict[str, TranslationModel]) -> TranslationModel:
    return tiny_mts[mt_arch]
