"""Checkpoints: every missing or corrupt file raises ``CheckpointError`` naming it, a save/load
round trip is exact, and loading uses safetensors only."""

from __future__ import annotations

import ast
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from models.checkpoint import TOKENIZER_FILE, net_config, save_checkpoint
from models.errors import CheckpointError
from models.lm import LanguageModel, load_model

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
TEXT = "A checkpoint must come back exactly as it was saved."


@pytest.fixture
def saved(tmp_path: Path, arch: str, lm: LanguageModel, tokenizer_path: Path) -> Path:
    """``lm`` saved as ``tmp_path/arch.{safetensors,json}`` beside a copy of the tokenizer."""
    card = {"name": arch, "arch": arch, "config": net_config(lm.net), "n_params": lm.n_params}
    save_checkpoint(tmp_path, arch, lm.net, card)
    shutil.copy(tokenizer_path, tmp_path / TOKENIZER_FILE)
    return tmp_path


def test_save_and_load_round_trip_reproduces_logits_exactly(
    saved: Path, arch: str, lm: LanguageModel
) -> None:
    loaded = load_model(arch, folder=saved)
    assert (
        loaded.spec.architecture == arch
        and loaded.spec == lm.spec
        and net_config(loaded.net) == net_config(lm.net)
        and loaded.n_params == lm.n_params
    )
    assert not loaded.net.training
    np.testing.assert_array_equal(loaded.trace(TEXT).logits, lm.trace(TEXT).logits)


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x93NUMPY not safetensors at all \x00\xff" * 7)


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _invalid_json(path: Path) -> None:
    path.write_text('{"arch": "lstm", "config": {')


BREAKAGES: dict[str, tuple[str, Callable[[Path], None]]] = {
    "garbage_weights": ("{name}.safetensors", _garbage),
    "truncated_weights": ("{name}.safetensors", _truncate),
    "missing_weights": ("{name}.safetensors", Path.unlink),
    "missing_card": ("{name}.json", Path.unlink),
    "invalid_json_card": ("{name}.json", _invalid_json),
    "card_without_arch": ("{name}.json", lambda p: p.write_text('{"config": {}}')),
    "corrupt_tokenizer": (TOKENIZER_FILE, _garbage),
    "missing_tokenizer": (TOKENIZER_FILE, Path.unlink),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_broken_checkpoint_file_raises_checkpoint_error_naming_it(
    saved: Path, arch: str, breakage: str
) -> None:
    pattern, damage = BREAKAGES[breakage]
    path = saved / pattern.format(name=arch)
    damage(path)
    with pytest.raises(CheckpointError) as info:
        load_model(arch, folder=saved)
    assert str(info.value).startswith(f"{path.name}: ")  # the file by name, not its folder
    assert str(saved) not in str(info.value)
    assert info.value.path == path


def _nested_card(path: Path) -> None:
    path.write_text('{"arch": "lstm", "config": ' + "[" * 100_000 + "]" * 100_000 + "}")


def _absurd_config(path: Path) -> None:
    card = json.loads(path.read_text())
    card["config"]["d_vocab"] = 10**12  # a terabyte-sized embedding if it were allocated
    path.write_text(json.dumps(card))


def _huge_card(path: Path) -> None:
    path.write_text('{"arch": "lstm", "config": {}, "pad": "' + "x" * (2 << 20) + '"}')


def _negative_config(path: Path) -> None:
    card = json.loads(path.read_text())
    card["config"]["n_layers"] = -3
    path.write_text(json.dumps(card))


@pytest.mark.parametrize(
    ("damage", "file_name", "reason"),
    [
        (_nested_card, "{name}.json", "nested too deeply"),
        (_absurd_config, "{name}.safetensors", "do not match"),
        (_huge_card, "{name}.json", "over"),
        (_negative_config, "{name}", ""),
    ],
    ids=["nested_card", "absurd_config", "huge_card", "negative_config"],
)
def test_hostile_card_raises_checkpoint_error_without_allocating_it(
    saved: Path, arch: str, damage: Callable[[Path], None], file_name: str, reason: str
) -> None:
    damage(saved / f"{arch}.json")
    with pytest.raises(CheckpointError) as info:
        load_model(arch, folder=saved)
    assert str(info.value).startswith(file_name.format(name=arch)) and reason in str(info.value)


@pytest.mark.parametrize("file_name", ["{name}.safetensors", "{name}.json", TOKENIZER_FILE])
def test_missing_file_error_says_the_file_is_missing(saved: Path, arch: str, file_name: str) -> None:
    path = saved / file_name.format(name=arch)
    path.unlink()
    with pytest.raises(CheckpointError) as info:
        load_model(arch, folder=saved)
    assert str(info.value) == f"{path.name}: {info.value.args[0].split(': ', 1)[1]}"
    assert "missing" in str(info.value).removeprefix(path.name)


def test_weights_of_another_config_raise_checkpoint_error(saved: Path, arch: str) -> None:
    card_path = saved / f"{arch}.json"
    card = json.loads(card_path.read_text())
    card["config"]["n_layers"] += 1
    card_path.write_text(json.dumps(card))
    with pytest.raises(CheckpointError) as info:
        load_model(arch, folder=saved)
    assert str(info.value).startswith(f"{arch}.safetensors: weights do not match the config")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_models_package_does_not_import_web_code() -> None:
    sources = sorted(MODELS_DIR.glob("*.py"))
    assert len(sources) >= 8
    for path in sources:
        roots = {name.split(".")[0] for name in _imports(path)}
        assert not roots & {"fastapi", "pydantic", "pydantic_settings", "starlette", "app"}, path.name


def test_checkpoint_loading_never_unpickles() -> None:
    path = MODELS_DIR / "checkpoint.py"
    tree = ast.parse(path.read_text())
    assert not {"pickle", "dill", "joblib"} & {n.split(".")[0] for n in _imports(path)}
    calls = {ast.unparse(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    assert not {"torch.load", "load", "pickle.load", "pickle.loads"} & calls
    assert "torch.load" not in path.read_text()
