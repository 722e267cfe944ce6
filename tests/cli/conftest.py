"""Fixtures for the ``attenzione`` command tests: tiny checkpoints in a tmp folder, a runner
that calls ``app.cli.main(argv)`` in-process, and one that runs ``python -m app.cli`` in a
subprocess (for what only a real process shows, such as undecodable command-line bytes)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the project is not installed into the venv
    sys.path.insert(0, str(ROOT))

from app.cli import main  # noqa: E402
from app.settings import get_settings  # noqa: E402
from tests.tiny import write_tiny_checkpoints  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def cli_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli-checkpoints")
    return write_tiny_checkpoints(
        folder, noise=0.0, metrics=lambda seed: {"valid_bits_per_char": 2.5 + seed / 10}
    )


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


Run = Callable[..., Result]


@pytest.fixture
def attenzione(
    cli_checkpoints: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Run]:
    """``attenzione(*args, models_dir=...)``: ``main(args)`` in-process; its exit status and output."""

    def run(*args: str, models_dir: Path | None = None) -> Result:
        monkeypatch.setenv("ATTENZIONE_MODELS_DIR", str(models_dir or cli_checkpoints))
        get_settings.cache_clear()  # settings are read from the environment once per process
        try:
            code = main(list(args))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    yield run
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def attenzione_process(cli_checkpoints: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``attenzione_process(*args)``: run ``python -m app.cli`` in a subprocess."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "ATTENZIONE_MODELS_DIR": str(cli_checkpoints), "OMP_NUM_THREADS": "1"}
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run
