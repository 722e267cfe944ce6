"""``models.train.train`` end to end on a tiny budget: it writes a loadable checkpoint and a
complete model card, resumes exactly, and ``models.sweep`` ranks a grid of such runs."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

from models.checkpoint import TOKENIZER_FILE
from models.data import Corpus
from models.evaluate import Stream, score
from models.lm import load_model
from models.sweep import run_sweep, setting_name, settings, table
from models.tokenizer import Tokenizer
from models.train import TrainConfig, train
from models.train import main as train_main

OVERRIDES = {"n_layers": 1, "d_embed": 8, "d_hidden": 12}
CFG = TrainConfig(tokens=2048, batch_size=2, seq_len=32, eval_every=1, eval_windows=2, threads=1)


@pytest.fixture(scope="module")
def trained(
    tmp_path_factory: pytest.TempPathFactory, corpus: Corpus, tokenizer_path: Path
) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("train")
    shutil.copy(tokenizer_path, out / TOKENIZER_FILE)  # else train() fits a new tokenizer
    card = train("lstm", OVERRIDES, CFG, out, "tiny_lstm", run_dir=out / "run")
    assert card is not None
    return out, card


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


RESUME_OVERRIDES = {"n_layers": 1, "n_heads": 2, "d_model": 16, "d_mlp": 32, "n_ctx": 32, "smear_keys": True}
RESUME_CFG = TrainConfig(
    tokens=2560, batch_size=4, seq_len=32, eval_every=4, eval_windows=2, threads=1, repeat_share=0.5
)  # 20 steps, with dropout and augmentation drawing random numbers


def test_stopping_and_resuming_gives_the_weights_and_history_of_one_run(
    tmp_path: Path, corpus: Corpus, tokenizer_path: Path
) -> None:
    shutil.copy(tokenizer_path, tmp_path / TOKENIZER_FILE)
    whole = train("transformer", RESUME_OVERRIDES, RESUME_CFG, tmp_path, "whole", run_dir=tmp_path / "w")
    stopped = train(
        "transformer", RESUME_OVERRIDES, RESUME_CFG, tmp_path, "split", run_dir=tmp_path / "s", stop_after=7
    )
    assert stopped is None and not (tmp_path / "split.safetensors").exists()
    assert json.loads((tmp_path / "s" / "history.json").read_text())[0]["step"] == 4
    split = train(
        "transformer", RESUME_OVERRIDES, RESUME_CFG, tmp_path, "split", run_dir=tmp_path / "s", resume=True
    )
    assert whole is not None and split is not None
    a, b = load_model("whole", folder=tmp_path), load_model("split", folder=tmp_path)
    for (name, p), q in zip(a.net.state_dict().items(), b.net.state_dict().values(), strict=True):
        assert torch.equal(p, q), name
    drop = ("elapsed_s",)
    assert [{k: v for k, v in h.items() if k not in drop} for h in whole["history"]] == [
        {k: v for k, v in h.items() if k not in drop} for h in split["history"]
    ]
    assert split["tokens_seen"] == whole["tokens_seen"] == RESUME_CFG.tokens


def test_resume_refuses_a_state_saved_with_other_settings(
    tmp_path: Path, corpus: Corpus, tokenizer_path: Path
) -> None:
    shutil.copy(tokenizer_path, tmp_path / TOKENIZER_FILE)
    train("transformer", RESUME_OVERRIDES, RESUME_CFG, tmp_path, "x", run_dir=tmp_path / "r", stop_after=2)
    other = dataclasses.replace(RESUME_CFG, lr=1e-3)
    with pytest.raises(SystemExit, match="train_config"):
        train("transformer", RESUME_OVERRIDES, other, tmp_path, "x", run_dir=tmp_path / "r", resume=True)


def test_sweep_trains_every_setting_once_and_ranks_them_by_held_out_loss(
    tmp_path: Path, corpus: Corpus, tokenizer_path: Path
) -> None:
    shutil.copy(tokenizer_path, tmp_path / TOKENIZER_FILE)
    grid = settings([3e-3, 1e-3], {"embed_std": [0.02, 0.1]})
    assert len(grid) == 4 and grid[1] == {"lr": 3e-3, "model": {"embed_std": 0.1}}
    cfg = dataclasses.replace(CFG, eval_every=16)
    result = run_sweep("rnn", cfg, OVERRIDES, grid, tmp_path)
    losses = [row["valid_loss"] for row in result["results"]]
    assert losses == sorted(losses) and result["best"] == result["results"][0]
    assert {setting_name("rnn", row) for row in result["results"]} == {setting_name("rnn", s) for s in grid}
    card = json.loads((tmp_path / "rnn-lr0.001-embed_std0.1.json").read_text())
    assert card["train"]["lr"] == 1e-3 and card["train"]["min_lr"] == pytest.approx(1e-4)
    assert card["config"]["embed_std"] == 0.1
    (tmp_path / "rnn-lr0.001-embed_std0.1.safetensors").unlink()  # finished settings are not retrained
    assert run_sweep("rnn", cfg, OVERRIDES, grid, tmp_path) == result
    assert "| rnn | 0.001 | embed_std 0.1 |" in table(result)


def test_the_cli_trains_the_sweep_setting_of_the_rank_asked_and_the_card_says_which(
    tmp_path: Path, corpus: Corpus, tokenizer_path: Path
) -> None:
    shutil.copy(tokenizer_path, tmp_path / TOKENIZER_FILE)
    rows = [
        {"lr": 3e-3, "model": {"embed_std": 0.1}, "valid_loss": 5.0},
        {"lr": 2e-3, "model": {"embed_std": 0.1}, "valid_loss": 5.5},
    ]
    sweep_file = tmp_path / "sweep.json"
    sweep_file.write_text(json.dumps({"arch": "rnn", "results": rows, "best": rows[0]}))
    small = [
        "--tokens",
        "2048",
        "--batch-size",
        "2",
        "--seq-len",
        "32",
        "--eval-windows",
        "2",
        "--threads",
        "1",
    ]
    layers = ["--set", "n_layers=1", "--set", "d_embed=8", "--set", "d_hidden=12"]
    common = [
        "--arch",
        "rnn",
        "--out",
        str(tmp_path),
        "--run-dir",
        str(tmp_path / "run"),
        "--sweep",
        str(sweep_file),
    ]
    train_main([*common, "--sweep-rank", "1", *small, *layers])
    card = json.loads((tmp_path / "rnn.json").read_text())
    assert card["train"]["lr"] == 2e-3 and card["train"]["min_lr"] == 2e-4  # the ratio, exactly
    assert card["config"]["embed_std"] == 0.1
    assert (
        card["sweep"]["chosen"] == rows[1]
        and card["sweep"]["chosen_rank"] == 1
        and card["sweep"]["best"] == rows[0]
    )
    with pytest.raises(SystemExit, match="has 2 settings"):
        train_main([*common, "--sweep-rank", "2", *small, *layers])
