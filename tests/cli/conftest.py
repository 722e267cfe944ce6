"""Fixtures for the ``attenzione`` command tests: tiny checkpoints in a tmp folder and a
runner that calls ``python -m app.cli`` in a subprocess, configured by environment."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the project is not installed into the venv
    sys.path.insert(0, str(ROOT))

from tests.tiny import write_tiny_checkpoints  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def cli_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli-checkpoints")
    return write_tiny_checkpoints(
        folder, noise=0.0, metrics=lambda seed: {"valid_bits_per_char": 2.5 + seed / 10}
    )


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
