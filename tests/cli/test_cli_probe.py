"""``attenzione probe``: the probe suite's tables on stdout, and its results in every model card
(all else in the card kept), or in none with ``--no-write-cards``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from models.data import data_dir
from models.probe import PROBES_VERSION

pytestmark = pytest.mark.skipif(not data_dir().is_dir(), reason="training corpus not available")


def _cards(folder: Path) -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json") if p.stem != "tokenizer"}


def test_probe_prints_the_tables_and_writes_each_card_only_when_asked(
    attenzione: Any, cli_checkpoints: Path, tmp_path: Path
) -> None:
    folder = Path(shutil.copytree(cli_checkpoints, tmp_path / "models"))
    before = _cards(folder)
    quick = ("probe", "--quick", "--threads", "1")
    r = attenzione(*quick, "--models", "transformer", "rnn", "--no-write-cards", models_dir=folder)
    assert r.returncode == 0, r.stderr
    assert "**Number agreement**" in r.stdout and "| transformer |" in r.stdout and "| rnn |" in r.stdout
    assert _cards(folder) == before
    r = attenzione(*quick, models_dir=folder)
    assert r.returncode == 0, r.stderr
    after = _cards(folder)
    assert after.keys() == before.keys()
    for name, card in after.items():
        assert {k: v for k, v in card.items() if k != "probes"} == before[name]
        assert card["probes"]["version"] == PROBES_VERSION
        assert (card["probes"]["heads"] is None) == (name != "transformer")
