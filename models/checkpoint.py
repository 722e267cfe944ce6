"""Checkpoints: safetensors weights plus a JSON model card that holds the config.

Loading rebuilds the network from the card alone, with safetensors only (no pickle). Any
missing or corrupt file raises ``CheckpointError`` naming that file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from .errors import CheckpointError
from .net import TracedNet
from .recurrent import RecurrentConfig, RecurrentLM
from .transformer import Transformer, TransformerConfig

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
TOKENIZER_FILE = "tokenizer.json"
ARCHS = ("transformer", "lstm", "gru", "rnn")


def build_net(arch: str, config: dict[str, Any]) -> TracedNet:
    """A fresh network of ``arch`` ("transformer", "lstm", "gru" or "rnn") from a config dict."""
    if arch == "transformer":
        return Transformer(TransformerConfig(**config))
    if arch in ("lstm", "gru", "rnn"):
        return RecurrentLM(RecurrentConfig(**{**config, "cell": arch}))
    raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHS)}")


def net_config(net: nn.Module) -> dict[str, Any]:
    return asdict(net.cfg)  # type: ignore[call-overload]


def save_checkpoint(folder: Path, name: str, net: nn.Module, card: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    weights = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    save_file(weights, str(folder / f"{name}.safetensors"))
    (folder / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")


MAX_CARD_BYTES = 1 << 20


def read_card(path: Path) -> dict[str, Any]:
    try:
        if path.stat().st_size > MAX_CARD_BYTES:
            raise CheckpointError(path, f"model card is over {MAX_CARD_BYTES} bytes")
        card = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise CheckpointError(path, "model card is missing") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(path, f"model card is not valid JSON ({exc})") from exc
    except RecursionError as exc:
        raise CheckpointError(path, "model card is nested too deeply to read") from exc
    if not isinstance(card, dict) or "arch" not in card or "config" not in card:
        raise CheckpointError(path, "model card lacks the 'arch' and 'config' fields")
    return card


def _shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Each tensor's shape, read from the safetensors header alone."""
    with safe_open(str(path), framework="pt") as f:
        return {key: tuple(f.get_slice(key).get_shape()) for key in f.keys()}  # noqa: SIM118


N = TypeVar("N", bound=nn.Module)


def load_net(folder: Path, name: str) -> tuple[TracedNet, dict[str, Any]]:
    """Rebuild the language model ``name`` from ``folder/name.json`` and ``folder/name.safetensors``."""
    return load_checkpoint(folder, name, build_net)


def load_checkpoint(
    folder: Path, name: str, build: Callable[[str, dict[str, Any]], N]
) -> tuple[N, dict[str, Any]]:
    """Rebuild network ``name`` with ``build(arch, config)`` from ``folder/name.json`` and
    ``folder/name.safetensors``.

    The network is first built without memory (torch's meta device) and its shapes compared
    with the weights file's header, so that a card describing an absurdly large model fails
    here, having allocated nothing; only then is the network built in memory (as large as the
    file: the shapes match), which also sets any buffers the weights file does not hold."""
    card_path, weights_path = folder / f"{name}.json", folder / f"{name}.safetensors"
    card = read_card(card_path)
    try:
        with torch.device("meta"):
            net = build(card["arch"], card["config"])
    except (TypeError, ValueError, RuntimeError, OverflowError) as exc:
        raise CheckpointError(card_path, f"config does not describe a model ({exc})") from exc
    if not weights_path.is_file():
        raise CheckpointError(weights_path, "weights file is missing")
    try:
        shapes = _shapes(weights_path)
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(weights_path, f"weights file is corrupt ({exc})") from exc
    expected = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    if shapes != expected:
        wrong = sorted(k for k in expected.keys() | shapes.keys() if shapes.get(k) != expected.get(k))
        raise CheckpointError(weights_path, f"weights do not match the config (tensors {wrong[:5]})")
    try:
        weights = load_file(str(weights_path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(weights_path, f"weights file is corrupt ({exc})") from exc
    net = build(card["arch"], card["config"])  # for real now that the sizes are known to be the file's
    try:
        net.load_state_dict(weights, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(weights_path, f"weights do not match the config ({exc})") from exc
    if any(not torch.isfinite(v).all() for v in weights.values()):
        raise CheckpointError(weights_path, "weights contain NaN or infinity")
    net.eval()
    return net, card
