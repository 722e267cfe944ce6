"""``models.train.train`` end to end on a tiny budget: it writes a loadable checkpoint and a
complete model card."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from models.checkpoint import TOKENIZER_FILE
from models.data import Corpus
from models.evaluate import Stream, score
from models.lm import load_model
from models.tokenizer import Tokenizer
from models.train import TrainConfig, train

OVERRIDES = {"n_layers": 1, "d_embed": 8, "d_hidden": 12}
CFG = TrainConfig(tokens=2048, batch_size=2, seq_len=32, eval_every=1, eval_windows=2, threads=1)


@pytest.fixture(scope="module")
def trained(
    tmp_path_factory: pytest.TempPathFactory, corpus: Corpus, tokenizer_path: Path
) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("train")
    shutil.copy(tokenizer_path, out / TOKENIZER_FILE)  # else train() fits a new tokenizer
    return out, train("lstm", OVERRIDES, CFG, out, "tiny_lstm")


def test_train_writes_weights_and_a_card_equal_to_the_returned_one(
    trained: tuple[Path, dict[str, Any]],
) -> None:
    out, card = trained
    assert (out / "tiny_lstm.safetensors").is_file()
    assert json.loads((out / "tiny_lstm.json").read_text()) == card


def test_train_card_records_config_data_split_budget_and_metrics(
    trained: tuple[Path, dict[str, Any]], check_card: Any
) -> None:
    _, card = trained
    check_card(card)
    assert card["arch"] == "lstm" and card["name"] == "tiny_lstm"
    assert {k: card["config"][k] for k in OVERRIDES} == OVERRIDES
    assert card["train"]["tokens"] == CFG.tokens and card["seed"] == CFG.seed
    assert card["tokens_seen"] == CFG.tokens  # 32 steps of 2 x 32 predicted tokens
    assert len(card["history"]) == CFG.tokens // (CFG.batch_size * CFG.seq_len)
    assert card["sample"]["greedy"].startswith(card["sample"]["prompt"])


def test_trained_checkpoint_loads_with_the_recorded_parameter_count(
    trained: tuple[Path, dict[str, Any]],
) -> None:
    out, card = trained
    lm = load_model("tiny_lstm", folder=out)
    assert lm.n_params == card["n_params"]
    assert lm.spec.architecture == "lstm"
    assert len(lm.trace("It was a dark and stormy night").tokens) > 0


def test_trained_card_valid_slice_loss_is_reproducible(
    trained: tuple[Path, dict[str, Any]], valid_stream: Stream, tokenizer: Tokenizer
) -> None:
    out, card = trained
    lm = load_model("tiny_lstm", folder=out)
    recorded = card["metrics"]["valid_slice"]
    loss = score(lm.net, valid_stream.ids[: recorded["tokens"]], tokenizer.eot_id, recorded["window"]).loss
    assert loss == pytest.approx(recorded["loss"], abs=1e-4)
