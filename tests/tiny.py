"""Tiny random-init models for the tests and ``bench/bench_frontend.py``: the four
architectures at toy sizes, seeded, in memory or saved as checkpoints named like the
built-in models next to the shipped tokenizer."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from models.checkpoint import CHECKPOINT_DIR, TOKENIZER_FILE, build_net, save_checkpoint
from models.net import TracedNet
from models.tokenizer import Tokenizer

# The default init (std 0.02) gives near-uniform attention and near-zero states and gates,
# where a wrong rounding, a swapped axis or a swapped gate could pass unnoticed; this much
# noise on every weight makes every value matter.
WEIGHT_NOISE = 0.3

TRANSFORMER = {"n_layers": 2, "n_heads": 2, "d_model": 32, "d_mlp": 64, "n_ctx": 64, "d_vocab": 4096}
RECURRENT = {"n_layers": 2, "d_embed": 16, "d_hidden": 24, "d_vocab": 4096, "n_ctx": 128}
CONFIGS: dict[str, dict[str, Any]] = {
    "transformer": TRANSFORMER,
    "lstm": RECURRENT,
    "gru": RECURRENT,
    "rnn": RECURRENT,
}


def tiny_net(arch: str, config: Mapping[str, Any], seed: int, noise: float = WEIGHT_NOISE) -> TracedNet:
    """``build_net(arch, config)`` seeded with ``seed``, plus Gaussian ``noise`` on every weight."""
    torch.manual_seed(seed)
    net = build_net(arch, dict(config))
    if noise:
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn_like(p) * noise)
    return net


def write_tiny_checkpoints(
    folder: Path,
    configs: Mapping[str, Mapping[str, Any]] = CONFIGS,
    noise: float = WEIGHT_NOISE,
    metrics: Callable[[int], dict[str, Any]] = lambda seed: {},
) -> Path:
    """The shipped tokenizer and one checkpoint per entry of ``configs`` (seeded by its place
    there), each with a model card whose metrics are ``metrics(seed)``; returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(CHECKPOINT_DIR / TOKENIZER_FILE, folder / TOKENIZER_FILE)
    for seed, (name, config) in enumerate(configs.items()):
        net = tiny_net(name, config, seed, noise)
        card = {
            "name": name,
            "arch": name,
            "config": dataclasses.asdict(net.cfg),
            "n_params": sum(p.numel() for p in net.parameters()),
            "metrics": metrics(seed),
        }
        save_checkpoint(folder, name, net, card)
    return folder


# Odd sizes, so a swapped axis cannot pass unnoticed.
MT_CONFIGS: dict[str, dict[str, Any]] = {
    "transformer": {"n_layers": 2, "n_heads": 2, "d_model": 16, "d_mlp": 24, "n_ctx": 48},
    "lstm": {"d_embed": 12, "d_encoder": 7, "d_hidden": 10, "d_attn": 9, "n_ctx": 48},
}


def tiny_mt_net(arch: str, d_vocab: int, seed: int = 0, noise: float = WEIGHT_NOISE) -> Any:
    """A tiny translation network (``models.translation``), seeded, with ``noise`` on every weight."""
    from models.translation.checkpoint import build_mt_net

    torch.manual_seed(seed)
    net = build_mt_net(arch, {**MT_CONFIGS[arch], "d_vocab": d_vocab})
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * noise)
    return net.eval()


def write_tiny_translation_checkpoints(folder: Path) -> Path:
    """The shipped translation tokenizer and the two built-in translation names as tiny
    checkpoints in ``folder``; returns ``folder``."""
    from models.translation.checkpoint import MT_DIR, NAMES

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(MT_DIR / TOKENIZER_FILE, folder / TOKENIZER_FILE)
    vocab = Tokenizer.from_file(folder / TOKENIZER_FILE).vocab_size
    for seed, (arch, name) in enumerate(NAMES.items()):
        net = tiny_mt_net(arch, vocab, seed)
        card = {"name": name, "arch": arch, "config": dataclasses.asdict(net.cfg), "metrics": {}}
        save_checkpoint(folder, name, net, card)
    return folder
