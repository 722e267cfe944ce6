"""The resumable state of a training run, private to this machine (never shipped).

``runs/NAME/state.pt`` holds the weights, the optimiser's moments, the data sampler's and
dropout's random states, the step, the tokens seen and the history, written atomically by
``torch.save`` and read back with ``weights_only=True`` (tensors, numbers, strings, lists and
dicts only). ``history.json`` beside it holds the curves for reading.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn


@dataclass
class RunState:
    step: int = 0  # optimiser steps taken
    seen: int = 0  # tokens predicted so far
    loss_sum: float = 0.0  # training loss summed since the last history entry
    loss_count: int = 0
    elapsed_s: float = 0.0  # wall time over all sessions
    history: list[dict[str, Any]] = field(default_factory=list)


def save_state(
    run_dir: Path,
    run: RunState,
    arch: str,
    model_config: dict[str, Any],
    train_config: dict[str, Any],
    net: nn.Module,
    opt: torch.optim.Optimizer,
    gen: torch.Generator,
) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    state = {
        "arch": arch,
        "model_config": model_config,
        "train_config": train_config,
        "run": asdict(run),
        "model": net.state_dict(),
        "optimizer": opt.state_dict(),
        "sampler_rng": gen.get_state(),
        "torch_rng": torch.get_rng_state(),
    }
    tmp = run_dir / "state.pt.tmp"
    torch.save(state, tmp)
    os.replace(tmp, run_dir / "state.pt")
    (run_dir / "history.json").write_text(json.dumps(run.history, indent=1) + "\n")


def load_state(
    path: Path,
    arch: str,
    model_config: dict[str, Any],
    train_config: dict[str, Any],
    net: nn.Module,
    opt: torch.optim.Optimizer,
    gen: torch.Generator,
) -> RunState:
    """Restore ``net``, ``opt``, ``gen`` and the global torch RNG from ``path``; refuse a state
    saved for another architecture, model config or data/optimiser settings."""
    state = torch.load(path, weights_only=True)
    for key, want in (("arch", arch), ("model_config", model_config), ("train_config", train_config)):
        if state[key] != want:
            raise SystemExit(f"{path} was saved with another {key}: {state[key]} (now {want})")
    net.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    gen.set_state(state["sampler_rng"])
    torch.set_rng_state(state["torch_rng"])
    return RunState(**state["run"])
