"""The shipped translation checkpoints: loadable, small, matched in size and budget, honest
cards (the evaluation command reproduces their test scores), and forced decoding of their own
output, typed as text, gives back the probabilities they decoded with.

Skipped while a checkpoint is not there yet (trained with ``python -m models.translation.train``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from models.translation.checkpoint import ARCHS, MT_DIR, NAMES
from models.translation.data import CREDIT, data_file
from models.translation.evaluate import main as evaluate_main
from models.translation.model import TranslationModel, load_translation_model

MAX_FILE_BYTES = 15 * 1024 * 1024
PARAM_SPREAD = 0.15


def _paths(arch: str) -> tuple[Path, Path]:
    return MT_DIR / f"{NAMES[arch]}.safetensors", MT_DIR / f"{NAMES[arch]}.json"


def _require(*archs: str) -> None:
    for arch in archs:
        for path in _paths(arch):
            if not path.is_file():
                pytest.skip(f"{path} does not exist yet (python -m models.translation.train --arch {arch})")


def _card(arch: str) -> dict[str, Any]:
    _require(arch)
    return json.loads(_paths(arch)[1].read_text())


@pytest.fixture(scope="module")
def shipped() -> dict[str, TranslationModel]:
    return {}


@pytest.fixture
def model(mt_arch: str, shipped: dict[str, TranslationModel]) -> TranslationModel:
    _require(mt_arch)
    if mt_arch not in shipped:
        shipped[mt_arch] = load_translation_model(NAMES[mt_arch])
    return shipped[mt_arch]


def test_files_are_small(mt_arch: str) -> None:
    _require(mt_arch)
    for path in _paths(mt_arch):
        assert path.stat().st_size <= MAX_FILE_BYTES, path


def test_card_records_data_split_budget_and_scores(mt_arch: str) -> None:
    card = _card(mt_arch)
    assert card["arch"] == mt_arch and card["name"] == NAMES[mt_arch] and card["task"] == "translation"
    assert card["data"]["credit"] == CREDIT and card["data"]["licence"] == "CC-BY 2.0"
    split = card["data"]["split"]
    assert split["sentences"]["test"] == 2000 and split["sentences"]["valid"] == 1000
    if data_file().is_file():
        assert card["data"]["sha256"] == hashlib.sha256(data_file().read_bytes()).hexdigest()
    for decoding in ("greedy", "beam4"):
        scores = card["metrics"]["test"][decoding]
        assert 0 < scores["bleu"] < 100 and 0 < scores["chrf"] < 100
        assert scores["sentences"] == 2000
    assert card["wall_time_s"] > 0 and card["history"], "training time and validation history recorded"


def test_models_are_matched_in_size_and_budget() -> None:
    cards = {arch: _card(arch) for arch in ARCHS}
    params = [c["n_params"] for c in cards.values()]
    assert max(params) <= (1 + PARAM_SPREAD) * min(params), params
    budgets = {(c["tokens_seen"], c["pairs_seen"], c["train"]["epochs"]) for c in cards.values()}
    assert len(budgets) == 1, f"token budgets differ: {budgets}"
    assert len({c["data"]["tokenizer"] for c in cards.values()}) == 1


def test_shipped_model_translates_simple_sentences(model: TranslationModel) -> None:
    assert "faim" in model.translate("I'm hungry.", beam=4).text
    assert "chat" in model.translate("The cat is black.").text


@pytest.mark.parametrize(
    "text", ["Where is the station?", "She reads a book every week.", "We have to talk."]
)
def test_forcing_the_typed_output_gives_the_decoding_probabilities(
    model: TranslationModel, text: str
) -> None:
    decoded = model.translate(text, beam=4)
    forced = model.force(text, decoded.text)
    assert forced.trace.tokens["target"].ids == decoded.trace.tokens["target"].ids
    np.testing.assert_allclose(forced.token_probs, decoded.token_probs, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(forced.trace.attention["cross"], decoded.trace.attention["cross"], atol=1e-6)


def test_evaluation_command_reproduces_the_cards_greedy_scores(capsys: pytest.CaptureFixture[str]) -> None:
    """Greedy BLEU, chrF and the outputs' sha256 on all 2,000 test sentences; the command
    itself also checks beam 4 (``python -m models.translation.evaluate``)."""
    _require(*ARCHS)
    if not data_file().is_file():
        pytest.skip("translation data not available")
    assert evaluate_main(["--beams", "1"]) == 0, capsys.readouterr().out
