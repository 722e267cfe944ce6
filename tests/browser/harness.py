"""Helpers shared by the browser tests and bench/bench_frontend.py: tiny random-init
checkpoints in a folder, a real uvicorn server on a free port, and a headless Chromium."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # bench/ runs this from a checkout, uninstalled

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


from tests.server import free_port, stop, wait_ready  # noqa: E402


def build_tiny_models(folder: Path, archs: tuple[str, ...] = ("transformer", "lstm", "gru", "rnn")) -> Path:
    """Write tiny random-init checkpoints of ``archs`` and the shipped tokenizer to ``folder``:
    the Transformer with a 256-token context, the recurrent models with their default."""
    from tests.tiny import CONFIGS, write_tiny_checkpoints

    configs = {"transformer": {**CONFIGS["transformer"], "n_ctx": 256}}
    configs.update({a: {k: v for k, v in CONFIGS[a].items() if k != "n_ctx"} for a in ("lstm", "gru", "rnn")})
    return write_tiny_checkpoints(folder, {a: configs[a] for a in archs})


@contextmanager
def run_server(models_dir: Path, log_path: Path | None = None, timeout: float = 60) -> Iterator[str]:
    """A real uvicorn serving the app on 127.0.0.1 with ``models_dir``; yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "ATTENZIONE_MODELS_DIR": str(models_dir),
        "ATTENZIONE_TORCH_THREADS": "1",
        "ATTENZIONE_LOG_LEVEL": "warning",
    }
    cmd = ["nice", "-n", "15", sys.executable, "-m", "uvicorn", "app.main:app"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, timeout)
        yield url
    finally:
        stop(proc, timeout=10)
        if log_path:
            log.close()  # type: ignore[union-attr]


def launch_chromium(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
