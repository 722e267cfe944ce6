"""Translation checkpoints: safetensors weights plus a JSON model card holding the config,
in ``models/checkpoints/mt`` (a folder of its own: the app reads every ``*.json`` directly in
``models/checkpoints`` as a language model). Loading uses safetensors only (no pickle)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from ..checkpoint import CHECKPOINT_DIR, read_card
from ..errors import CheckpointError
from .lstm import MTLSTM, MTLSTMConfig
from .net import Seq2SeqNet
from .transformer import MTTransformer, MTTransformerConfig

MT_DIR = CHECKPOINT_DIR / "mt"
TOKENIZER_FILE = "tokenizer.json"
ARCHS = ("transformer", "lstm")
NAMES = {"transformer": "transformer-enfr", "lstm": "lstm-enfr"}


def build_mt_net(arch: str, config: dict[str, Any]) -> Seq2SeqNet:
    if arch == "transformer":
        return MTTransformer(MTTransformerConfig(**config))
    if arch == "lstm":
        return MTLSTM(MTLSTMConfig(**config))
    raise ValueError(f"unknown translation architecture {arch!r}; choose one of {', '.join(ARCHS)}")


def load_mt_net(folder: Path, name: str) -> tuple[Seq2SeqNet, dict[str, Any]]:
    """Rebuild network ``name`` from ``folder/name.json`` and ``folder/name.safetensors``."""
    card_path, weights_path = folder / f"{name}.json", folder / f"{name}.safetensors"
    card = read_card(card_path)
    try:
        net = build_mt_net(card["arch"], card["config"])
    except (TypeError, ValueError) as exc:
        raise CheckpointError(card_path, f"config does not describe a model ({exc})") from exc
    if not weights_path.is_file():
        raise CheckpointError(weights_path, "weights file is missing")
    try:
        weights = load_file(str(weights_path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(weights_path, f"weights file is corrupt ({exc})") from exc
    try:
        net.load_state_dict(weights, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(weights_path, f"weights do not match the config ({exc})") from exc
    if any(not torch.isfinite(v).all() for v in weights.values()):
        raise CheckpointError(weights_path, "weights contain NaN or infinity")
    net.eval()
    return net, card
