"""Markdown tables of the probe suite's results (``models.probe``), as the README shows them."""

from __future__ import annotations

from typing import Any

DISTANCE_BINS = ((0, 0), (1, 1), (2, 3), (4, 7), (8, 15), (16, 31), (32, 63), (64, 127), (128, 255))


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    return "\n".join([*lines, *("| " + " | ".join(r) + " |" for r in rows)])


def copying_table(results: dict[str, dict[str, Any]]) -> str:
    gaps = next(iter(results.values()))["copying_vs_distance"]["gaps"]
    rows = []
    for name, probes in results.items():
        cells = [name]
        for row in probes["copying_vs_distance"]["results"]:
            cells.append(
                "–" if row is None else f"{row['ratio']:.2f} ({row['ci95'][0]:.2f}–{row['ci95'][1]:.2f})"
            )
        rows.append(cells)
    return _table(["model", *(f"gap {g}" for g in gaps)], rows)


def agreement_table(results: dict[str, dict[str, Any]]) -> str:
    first = next(iter(results.values()))["agreement"]["conditions"]
    header = ["model", *(f"{c['structure'].upper()}, {c['attractors']} attr." for c in first)]
    rows = []
    for name, probes in results.items():
        cells = [name]
        for c in probes["agreement"]["conditions"]:
            lo, hi = c["ci95"]
            mark = " (chance)" if c["at_chance"] else ""
            cells.append(f"{c['accuracy']:.0%} ({lo:.0%}–{hi:.0%}){mark}")
        rows.append(cells)
    return _table(header, rows)


def context_table(results: dict[str, dict[str, Any]]) -> str:
    ks = sorted({r["k"] for p in results.values() for r in p["context_length"]["results"]})
    rows = []
    for name, probes in results.items():
        by_k = {r["k"]: r["loss"] for r in probes["context_length"]["results"]}
        rows.append([name, *(f"{by_k[k]:.2f}" if k in by_k else "–" for k in ks)])
    return _table(["model", *(f"k = {k}" for k in ks)], rows)


def gradient_table(results: dict[str, dict[str, Any]]) -> str:
    rows = []
    for name, probes in results.items():
        curve = probes["gradient_vs_distance"]["mean_grad_norm"]
        n = len(curve)
        cells = [name]
        for lo, hi in DISTANCE_BINS:
            ds = range(lo, min(hi, n - 1) + 1)
            weights = [n - d for d in ds]  # each d has n - d samples per window
            mean = sum(curve[d] * w for d, w in zip(ds, weights, strict=True)) / sum(weights) if ds else None
            cells.append("–" if mean is None else f"{mean:.2e}")
        rows.append(cells)
    header = ["model", *(f"d = {lo}" if lo == hi else f"d = {lo}–{hi}" for lo, hi in DISTANCE_BINS)]
    return _table(header, rows)


def heads_table(name: str, heads: dict[str, Any]) -> str:
    keys = ("previous_token", "first_token", "induction", "duplicate_token", "ablation_bits")
    rows = []
    for layer, row in enumerate(heads["previous_token"]):
        for head in range(len(row)):
            rows.append([f"{layer}.{head}", *(f"{heads[k][layer][head]:.3f}" for k in keys)])
    header = [
        "head",
        "previous token",
        "first token",
        "induction",
        "duplicate token",
        "ablation (bits/token)",
    ]
    return f"{name}:\n\n" + _table(header, rows)


def tables(results: dict[str, dict[str, Any]]) -> str:
    """Every table, with a title line each."""
    parts = [
        "**Copying vs distance** (second-copy ÷ first-copy mean surprisal, 95% interval):",
        copying_table(results),
        "**Number agreement** (share of pairs where the agreeing verb is more likely, 95% interval):",
        agreement_table(results),
        "**Context length** (held-out loss in nats/token when each prediction sees its last k tokens):",
        context_table(results),
        "**Gradient vs distance** (mean ‖∂ log p(x_{t+1}) / ∂e_{t−d}‖ over each range of d):",
        gradient_table(results),
    ]
    for name, probes in results.items():
        if probes.get("heads"):
            parts += ["**Heads**", heads_table(name, probes["heads"])]
    return "\n\n".join(parts)
