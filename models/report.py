"""Print the tables of the shipped checkpoints: ``python -m models.report``.

Reads the model cards only (numbers measured at the end of training on the held-out text and
the copying probes, and the sweep each card records): the quality table, then the sweep table.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .checkpoint import ARCHS, CHECKPOINT_DIR, read_card
from .errors import CheckpointError


def _cards(folder: Path) -> dict[str, dict[str, Any] | CheckpointError]:
    out: dict[str, dict[str, Any] | CheckpointError] = {}
    for name in ARCHS:
        try:
            out[name] = read_card(folder / f"{name}.json")
        except CheckpointError as exc:
            out[name] = exc
    return out


def quality_table(folder: Path = CHECKPOINT_DIR) -> str:
    rows = [
        "| model | params | tokens seen | valid perplexity | valid bits/char | copy ratio | best induction score | train time |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    unigram = None
    for name, card in _cards(folder).items():
        if isinstance(card, CheckpointError):
            rows.append(f"| {name} | unavailable: {card} | | | | | | |")
            continue
        m = card["metrics"]
        copying = m.get("copying", {})
        ratio = f"{copying['copy_ratio']:.2f}" if "copy_ratio" in copying else "–"
        induction = f"{copying['induction_max']:.2f}" if "induction_max" in copying else "–"
        unigram = m.get("unigram_valid_bits_per_char", unigram)
        rows.append(
            f"| {name} | {card['n_params'] / 1e6:.2f} M | {card['tokens_seen'] / 1e6:.1f} M | "
            f"{m['valid_perplexity']:.1f} | {m['valid_bits_per_char']:.3f} | {ratio} | {induction} | "
            f"{card['wall_time_s'] / 60:.0f} min |"
        )
    if unigram is not None:
        rows.append(f"| unigram (add-one, train counts) | – | – | – | {unigram:.3f} | – | – | – |")
    return "\n".join(rows)


def chosen_setting(sweep: dict[str, Any]) -> dict[str, Any]:
    """The sweep setting a card was trained with: its best, unless ``--sweep-rank`` chose another
    (cards from before that option record only the best)."""
    return sweep.get("chosen", sweep["best"])


def sweep_table(folder: Path = CHECKPOINT_DIR) -> str:
    """Every setting each card's sweep tried, best first, with its short-budget numbers."""
    rows = [
        "| model | lr | setting | valid bits/char | copy ratio | best induction score | chosen |",
        "|---|---:|---|---:|---:|---:|---|",
    ]
    for name, card in _cards(folder).items():
        sweep = None if isinstance(card, CheckpointError) else card.get("sweep")
        if not sweep:
            rows.append(f"| {name} | no sweep recorded | | | | | |")
            continue
        for row in sweep["results"]:
            setting = ", ".join(f"{k} {v}" for k, v in row["model"].items()) or "–"
            induction = "–" if row.get("induction_max") is None else f"{row['induction_max']:.2f}"
            chosen = "✓" if row == chosen_setting(sweep) else ""
            rows.append(
                f"| {name} | {row['lr']:g} | {setting} | {row['valid_bits_per_char']:.3f} | "
                f"{row['copy_ratio']:.2f} | {induction} | {chosen} |"
            )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m models.report", description=__doc__)
    parser.add_argument("--folder", type=Path, default=CHECKPOINT_DIR)
    folder = parser.parse_args().folder
    print(quality_table(folder), sweep_table(folder), sep="\n\n")


if __name__ == "__main__":
    main()
