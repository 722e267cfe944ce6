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


def probes_for(arch: str, n_layers: int = 2, n_heads: int = 2) -> dict[str, Any]:
    """A small ``probes`` object shaped like ``models.probe``'s results (made-up numbers, for
    the pages to draw); ``heads`` only for the Transformer."""

    def grid(base: float) -> list[list[float]]:
        return [
            [round(base + 0.1 * (layer * n_heads + h), 3) for h in range(n_heads)]
            for layer in range(n_layers)
        ]

    attends = arch == "transformer"
    return {
        "version": 1,
        "copying_vs_distance": {
            "words": 20,
            "sequences": 8,
            "gaps": [0, 16, 64, 200],
            "results": [
                {
                    "gap": g,
                    "ratio": r,
                    "ci95": [r - 0.05, r + 0.05],
                    "first_nats": 8.0,
                    "second_nats": 8.0 * r,
                }
                for g, r in zip((0, 16, 64), (0.2, 0.4, 0.6) if attends else (0.7, 0.9, 1.0), strict=True)
            ]
            + [None],
        },
        "agreement": {
            "pairs_per_condition": 40,
            "conditions": [
                {
                    "structure": s,
                    "attractors": a,
                    "pairs": 40,
                    "accuracy": acc,
                    "ci95": [acc - 0.1, acc + 0.1],
                    "singular": acc,
                    "plural": acc,
                    "at_chance": acc < 0.6,
                }
                for s in ("pp", "rc")
                for a, acc in zip((0, 1, 2), (0.9, 0.75, 0.55), strict=True)
            ],
        },
        "context_length": {
            "targets": 64,
            "results": [{"k": k, "loss": 6 - k / 64, "ci95": [5, 6]} for k in (1, 4, 16, 64)],
        },
        "gradient_vs_distance": {
            "windows": 1,
            "length": 32,
            "mean_grad_norm": [1.0 / (1 + d) ** (0.5 if attends else 1.5) for d in range(32)],
        },
        "heads": {
            "previous_token": grid(0.6),
            "first_token": grid(0.1),
            "induction": grid(0.05),
            "duplicate_token": grid(0.02),
            "ablation_bits": grid(0.01),
            "ablation_tokens": 2048,
        }
        if attends
        else None,
    }


def add_probes(folder: Path, archs: tuple[str, ...] = ("transformer", "lstm")) -> Path:
    """Give the cards of ``archs`` in ``folder`` a ``probes`` object (the others stay unmeasured)."""
    import json

    for arch in archs:
        path = folder / f"{arch}.json"
        card = json.loads(path.read_text())
        config = card["config"]
        card["probes"] = probes_for(arch, config.get("n_layers", 2), config.get("n_heads", 2))
        path.write_text(json.dumps(card, indent=2) + "\n")
    return folder


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
