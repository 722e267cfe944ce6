"""Training: a run stopped and resumed from its saved state ends exactly where an uninterrupted
run does (weights, optimiser, random state, position in the data), across an epoch boundary."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from models.translation.checkpoint import MT_DIR, TOKENIZER_FILE
from models.translation.train import TrainConfig, lr_at, main

TINY = ["--set", "d_model=16", "--set", "d_mlp=24", "--set", "n_layers=1", "--set", "n_heads=2"]
TINY_LSTM = ["--set", "d_embed=12", "--set", "d_encoder=6", "--set", "d_hidden=10", "--set", "d_attn=8"]


@pytest.fixture
def tiny_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """3,100 distinct English sentences: 2,000 test, 1,000 validation and 100 for training."""
    lines = [f"I see {n} red birds.\tJe vois {n} oiseaux rouges\u202f!" for n in range(3100)]
    path = tmp_path / "fra.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setenv("ATTENZIONE_MT_DATA", str(path))
    return tmp_path


def _run(arch: str, folder: Path, run: str, stop_after: int, resume: bool = False) -> None:
    sizes = TINY if arch == "transformer" else TINY_LSTM
    argv = ["--arch", arch, "--name", run, "--out", str(folder / "out"), "--run-dir", str(folder / run),
            "--tokenizer", str(MT_DIR / TOKENIZER_FILE), "--epochs", "4", "--max-tokens", "400",
            "--eval-every", "100000", "--stop-after", str(stop_after), *sizes]  # fmt: skip
    main([*argv, "--resume"] if resume else argv)


@pytest.mark.parametrize("arch", ["transformer", "lstm"])
def test_resumed_run_equals_uninterrupted_run(arch: str, tiny_data: Path) -> None:
    torch.set_num_threads(1)
    _run(arch, tiny_data, "straight", stop_after=9)
    _run(arch, tiny_data, "resumed", stop_after=4)
    with pytest.raises(SystemExit, match="--resume"):
        _run(arch, tiny_data, "resumed", stop_after=9)  # a saved run is never overwritten silently
    _run(arch, tiny_data, "resumed", stop_after=9, resume=True)
    a = load_file(str(tiny_data / "straight" / "state.safetensors"))
    b = load_file(str(tiny_data / "resumed" / "state.safetensors"))
    assert a.keys() == b.keys() and any(k.startswith("opt.") for k in a)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    pa = json.loads((tiny_data / "straight" / "state.json").read_text())["progress"]
    pb = json.loads((tiny_data / "resumed" / "state.json").read_text())["progress"]
    pa.pop("train_seconds"), pb.pop("train_seconds")
    assert pa == pb and pa["step"] == 9 and pa["epoch"] >= 1, "the runs crossed an epoch boundary"


def test_learning_rate_warms_up_then_decays_to_its_floor() -> None:
    cfg = TrainConfig(lr=1e-3, warmup_steps=100, min_lr_ratio=0.05)
    lrs = [lr_at(step, 2000, cfg) for step in range(2000)]
    assert lrs[0] == pytest.approx(1e-5) and lrs[99] == pytest.approx(1e-3)
    assert all(a >= b for a, b in itertools.pairwise(lrs[99:]))
    assert lrs[-1] == pytest.approx(5e-5, rel=1e-3)
    assert lr_at(1, 30, cfg) == pytest.approx(1e-3 * 2 / 3)  # short runs warm up over a tenth of their steps
