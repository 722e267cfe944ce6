"""Translation checkpoints: safetensors weights plus a JSON model card holding the config,
in ``models/checkpoints/mt`` (a folder of its own: the app reads every ``*.json`` directly in
``models/checkpoints`` as a language model). Loading uses safetensors only (no pickle)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..checkpoint import CHECKPOINT_DIR, load_checkpoint
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
    """Rebuild network ``name`` from ``folder/name.json`` and ``folder/name.safetensors``, as
    ``models.checkpoint.load_net`` does for a language model (shapes checked before memory)."""
    return load_checkpoint(folder, name, build_mt_net)
