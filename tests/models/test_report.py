"""``models.report``: the quality and sweep tables come from the model cards alone."""

from __future__ import annotations

import json
from pathlib import Path

from models.report import quality_table, sweep_table


def _card(arch: str, with_sweep: bool) -> dict[str, object]:
    best = {"lr": 0.003, "model": {}, "valid_bits_per_char": 2.5, "copy_ratio": 0.3, "induction_max": 0.6}
    other = {**best, "lr": 0.001, "valid_bits_per_char": 2.7, "copy_ratio": 0.9, "induction_max": 0.05}
    return {
        "arch": arch,
        "config": {"d_vocab": 4096},
        "n_params": 1_400_000,
        "tokens_seen": 12_000_000,
        "wall_time_s": 3600,
        "metrics": {
            "valid_perplexity": 70.0,
            "valid_bits_per_char": 1.7,
            "unigram_valid_bits_per_char": 2.6,
            "copying": {"copy_ratio": 0.25, "induction_max": 0.7},
        },
        "sweep": {"arch": arch, "results": [best, other], "best": best} if with_sweep else None,
    }


def test_tables_show_copying_and_mark_the_chosen_sweep_setting(tmp_path: Path) -> None:
    (tmp_path / "transformer.json").write_text(json.dumps(_card("transformer", True)))
    (tmp_path / "lstm.json").write_text(json.dumps(_card("lstm", False)))
    quality = quality_table(tmp_path)
    assert "| transformer | 1.40 M | 12.0 M | 70.0 | 1.700 | 0.25 | 0.70 | 60 min |" in quality
    assert (
        "| gru | unavailable:" in quality
        and "| unigram (add-one, train counts) | – | – | – | 2.600 |" in quality
    )
    sweep = sweep_table(tmp_path)
    assert "| transformer | 0.003 | – | 2.500 | 0.30 | 0.60 | ✓ |" in sweep
    assert "| transformer | 0.001 | – | 2.700 | 0.90 | 0.05 |  |" in sweep
    assert "| lstm | no sweep recorded |" in sweep


def test_the_sweep_table_marks_the_setting_chosen_when_it_is_not_the_best(tmp_path: Path) -> None:
    card = _card("rnn", True)
    sweep = card["sweep"]
    assert isinstance(sweep, dict)
    card["sweep"] = {**sweep, "chosen": sweep["results"][1], "chosen_rank": 1}
    (tmp_path / "rnn.json").write_text(json.dumps(card))
    table = sweep_table(tmp_path)
    assert "| rnn | 0.003 | – | 2.500 | 0.30 | 0.60 |  |" in table
    assert "| rnn | 0.001 | – | 2.700 | 0.90 | 0.05 | ✓ |" in table
