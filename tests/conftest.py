"""Shared fixtures: the shipped tokenizer and tiny random-init models of every architecture.

Torch is limited to one thread so the suite steals little CPU from training jobs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from models.checkpoint import ARCHS, CHECKPOINT_DIR, TOKENIZER_FILE
from models.lm import LanguageModel
from models.tokenizer import Tokenizer
from tests.tiny import CONFIGS as TINY_CONFIGS
from tests.tiny import tiny_net

torch.set_num_threads(1)

TOKENIZER_PATH: Path = CHECKPOINT_DIR / TOKENIZER_FILE


@pytest.fixture(scope="session")
def tokenizer_path() -> Path:
    """The shipped tokenizer; tests copy it, never write to it."""
    return TOKENIZER_PATH


@pytest.fixture(scope="session")
def tokenizer(tokenizer_path: Path) -> Tokenizer:
    return Tokenizer.from_file(tokenizer_path)


def make_tiny_model(arch: str, tokenizer: Tokenizer, seed: int = 0) -> LanguageModel:
    """A tiny ``arch`` model with random weights, seeded, in eval mode."""
    net = tiny_net(arch, {**TINY_CONFIGS[arch], "d_vocab": tokenizer.vocab_size}, seed)
    return LanguageModel(f"tiny-{arch}", net, tokenizer)


@pytest.fixture(scope="session")
def tiny_models(tokenizer: Tokenizer) -> dict[str, LanguageModel]:
    """One tiny model per architecture, shared by the session; tests must not modify them."""
    return {arch: make_tiny_model(arch, tokenizer, seed=i) for i, arch in enumerate(ARCHS)}


@pytest.fixture(params=ARCHS)
def arch(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def lm(arch: str, tiny_models: dict[str, LanguageModel]) -> LanguageModel:
    """The tiny model of the parametrised architecture, shared; it may have traced before."""
    return tiny_models[arch]


@pytest.fixture
def fresh_lm(arch: str, tokenizer: Tokenizer) -> LanguageModel:
    """A newly built tiny model of the parametrised architecture that has never traced."""
    return make_tiny_model(arch, tokenizer)
