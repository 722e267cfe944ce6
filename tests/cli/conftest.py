"""Fixtures for the ``attenzione`` command tests: tiny checkpoints in a tmp folder and a
runner that calls ``python -m app.cli`` in a subprocess, configured by environment."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the project is not installed into the venv
    sys.path.insert(0, str(ROOT))

from models.checkpoint import CHECKPOINT_DIR, TOKENIZER_FILE, build_net, save_checkpoint  # noqa: E402

torch.set_num_threads(1)

CONFIGS = {
    "transformer": {"n_layers": 2, "n_heads": 2, "d_model": 32, "d_mlp": 64, "n_ctx": 64, "d_vocab": 4096},
    "lstm": {"n_layers": 2, "d_embed": 16, "d_hidden": 24, "d_vocab": 4096, "n_ctx": 128},
    "gru": {"n_layers": 2, "d_embed": 16, "d_hidden": 24, "d_vocab": 4096, "n_ctx": 128},
    "rnn": {"n_layers": 2, "d_embed": 16, "d_hidden": 24, "d_vocab": 4096, "n_ctx": 128},
}


@pytest.fixture(scope="session")
def cli_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli-checkpoints")
    shutil.copy(CHECKPOINT_DIR / TOKENIZER_FILE, folder / TOKENIZER_FILE)
    for seed, (name, config) in enumerate(CONFIGS.items()):
        torch.manual_seed(seed)
        net = build_net(name, dict(config))
        card = {
            "name": name,
            "arch": name,
            "config": dataclasses.asdict(net.cfg),
            "n_params": sum(p.numel() for p in net.parameters()),
            "metrics": {"valid_bits_per_char": 2.5 + seed / 10},
        }
        save_checkpoint(folder, name, net, card)
    return folder


Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def attenzione(cli_checkpoints: Path) -> Run:
    """``attenzione(*args, models_dir=...)``: run the command, return the completed process."""

    def run(*args: str, models_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "ATTENZIONE_MODELS_DIR": str(models_dir or cli_checkpoints),
            "OMP_NUM_THREADS": "1",
        }
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run
