"""A small tuning sweep for one architecture on a short budget: ``python -m models.sweep``.

Every setting in the grid (learning rates × values of model config fields) is trained with the
same recipe and budget, one after another, each resumable under ``runs/sweep/ARCH/``; finished
settings are not trained again. The result, ranked by held-out loss, is written to
``runs/sweep/ARCH.json`` for ``python -m models.train --sweep`` to record in the model card.

    python -m models.sweep --arch lstm --tokens 1000000 --lrs 0.003,0.001 --grid embed_std=0.02,0.1
"""

from __future__ import annotations

import argparse
import itertools
import json
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

from .train import DEFAULT_CONFIGS, RUNS_DIR, TrainConfig, add_train_args, parse_overrides, train


def settings(lrs: list[float], grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination: [{"lr": ..., "model": {field: value, ...}}, ...]."""
    keys = list(grid)
    return [
        {"lr": lr, "model": dict(zip(keys, values, strict=True))}
        for lr in lrs
        for values in itertools.product(*(grid[k] for k in keys))
    ]


def setting_name(arch: str, setting: dict[str, Any]) -> str:
    parts = [f"lr{setting['lr']:g}"] + [f"{k}{v}" for k, v in setting["model"].items()]
    return f"{arch}-" + "-".join(parts)


def run_sweep(
    arch: str, base: TrainConfig, overrides: dict[str, Any], grid: list[dict[str, Any]], folder: Path
) -> dict[str, Any]:
    rows = []
    for setting in grid:
        name = setting_name(arch, setting)
        card_path = folder / f"{name}.json"
        if card_path.is_file():
            card = json.loads(card_path.read_text())
        else:
            cfg = replace(base, lr=setting["lr"], min_lr=setting["lr"] * base.min_lr / base.lr)
            model = {**overrides, **setting["model"]}
            card = train(arch, model, cfg, folder, name, run_dir=folder / name, resume=True)
            assert card is not None
        metrics = card["metrics"]
        rows.append(
            {
                **setting,
                "valid_loss": metrics["valid_loss"],
                "valid_bits_per_char": metrics["valid_bits_per_char"],
                "copy_ratio": metrics["copying"]["copy_ratio"],
                "induction_max": metrics["copying"].get("induction_max"),
                "wall_time_s": card["wall_time_s"],
            }
        )
    rows.sort(key=lambda r: r["valid_loss"])
    return {
        "arch": arch,
        "tokens": base.tokens,
        "train": asdict(base),
        "model": overrides,
        "results": rows,
        "best": rows[0],
    }


def table(result: dict[str, Any]) -> str:
    """Markdown rows: setting, held-out bits/char, copy ratio, induction (best first)."""
    lines = []
    for row in result["results"]:
        model = ", ".join(f"{k} {v}" for k, v in row["model"].items())
        induction = "–" if row["induction_max"] is None else f"{row['induction_max']:.2f}"
        lines.append(
            f"| {result['arch']} | {row['lr']:g} | {model or '–'} | {row['valid_bits_per_char']:.3f} | "
            f"{row['copy_ratio']:.2f} | {induction} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m models.sweep", description=__doc__)
    parser.add_argument("--arch", required=True, choices=sorted(DEFAULT_CONFIGS))
    parser.add_argument("--lrs", required=True, help="comma-separated learning rates")
    parser.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2", help="model field values")
    parser.add_argument("--set", dest="model", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--folder", type=Path, help="default: runs/sweep/ARCH")
    add_train_args(parser)
    args = parser.parse_args(argv)
    base = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
    grid: dict[str, list[Any]] = {}
    for item in args.grid:
        key, _, values = item.partition("=")
        grid[key] = [json.loads(v) for v in values.split(",")]
    lrs = [float(v) for v in args.lrs.split(",")]
    folder = args.folder or RUNS_DIR / "sweep" / args.arch
    result = run_sweep(args.arch, base, parse_overrides(args.model), settings(lrs, grid), folder)
    (folder.parent / f"{args.arch}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))


if __name__ == "__main__":
    main()
