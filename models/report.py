"""Print the quality table of the shipped checkpoints: ``python -m models.report``.

Reads the model cards only (numbers measured at the end of training on the held-out text).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .checkpoint import ARCHS, CHECKPOINT_DIR, read_card
from .errors import CheckpointError


def quality_table(folder: Path = CHECKPOINT_DIR) -> str:
    rows = [
        "| model | params | tokens seen | valid perplexity | valid bits/char | train time |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    unigram = None
    for name in ARCHS:
        try:
            card = read_card(folder / f"{name}.json")
        except CheckpointError as exc:
            rows.append(f"| {name} | unavailable: {exc} | | | | |")
            continue
        m = card["metrics"]
        unigram = m.get("unigram_valid_bits_per_char", unigram)
        rows.append(
            f"| {name} | {card['n_params'] / 1e6:.2f} M | {card['tokens_seen'] / 1e6:.1f} M | "
            f"{m['valid_perplexity']:.1f} | {m['valid_bits_per_char']:.3f} | {card['wall_time_s'] / 60:.0f} min |"
        )
    if unigram is not None:
        rows.append(f"| unigram (add-one, train counts) | – | – | – | {unigram:.3f} | – |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m models.report", description=__doc__)
    parser.add_argument("--folder", type=Path, default=CHECKPOINT_DIR)
    print(quality_table(parser.parse_args().folder))


if __name__ == "__main__":
    main()
