"""Median ``models.influence.influence`` time of each shipped model at 16, 64, 128 and 256 tokens,
by method, and the sum over the four models (issue 12's goal: ≤ 0.5 s at 64 tokens and
≤ 3 s at 256, gradient × input, on 2 cores).

Run: ``python bench/bench_influence.py [--repeats 3] [--threads 2] [--methods gradient occlusion]``.
Prints a markdown table, with the load average before and after (the machine's other work
slows every number). 256 tokens is past the API's limit (``MAX_INFLUENCE_TOKENS``): it shows
what a longer limit would cost.

Then the arithmetic behind the 256-token column: the floating-point operations of each model's
matrix products in one gradient map (torch.profiler's count; the element-wise work is left
out, so this is a floor), the rate each model reaches, and the best rate of a plain
matrix product on this machine at the same thread count: the sum of the operations divided by
that rate is the least time any implementation of the exact maps could take here.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled

from bench.bench_trace import passage, text_of_n_tokens
from models.checkpoint import ARCHS, CHECKPOINT_DIR, TOKENIZER_FILE
from models.influence import METHODS, Method, influence
from models.lm import LanguageModel, load_model
from models.tokenizer import Tokenizer

LENGTHS = (16, 64, 128, 256)
GOALS = {64: 0.5, 256: 3.0}  # seconds, all four models together


def median_s(lm: LanguageModel, text: str, method: Method, repeats: int) -> float:
    longest = max(LENGTHS)  # past the API's limit: the bench measures what a longer one would cost
    influence(lm, text, method, longest)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        influence(lm, text, method, longest)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def table(
    models: dict[str, LanguageModel], texts: dict[int, str], methods: list[Method], repeats: int
) -> None:
    """One markdown table: each model's median time by method and length, and their sum."""
    print("| method | model |" + "".join(f" {n} tokens |" for n in LENGTHS))
    print("|---|---|" + "---:|" * len(LENGTHS))
    for method in methods:
        totals = dict.fromkeys(LENGTHS, 0.0)
        for name, lm in models.items():
            cells = []
            for n in LENGTHS:
                seconds = median_s(lm, texts[n], method, repeats)
                totals[n] += seconds
                cells.append(f"{seconds:.3f} s")
            print(f"| {method} | {name} | " + " | ".join(cells) + " |", flush=True)
        cells = [
            f"**{totals[n]:.3f} s**" + (f" (goal ≤ {GOALS[n]} s)" if n in GOALS else "") for n in LENGTHS
        ]
        print(f"| {method} | all {len(models)} | " + " | ".join(cells) + " |\n", flush=True)


def matmul_gflop(lm: LanguageModel, text: str) -> float:
    """GFLOP of the matrix products in one gradient map of ``text`` (torch.profiler's count)."""
    with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
        influence(lm, text, "gradient", max(LENGTHS))
    return sum(e.flops for e in prof.key_averages() if e.flops) / 1e9


def best_matmul_gflops() -> float:
    """The best GFLOP/s of float32 matrix products of sizes these maps use, and larger."""
    best = 0.0
    for m, k, n in ((1024, 1024, 1024), (256, 1024, 512), (128, 1024, 512)):
        a, b = torch.randn(m, k), torch.randn(k, n)
        a @ b  # warm-up
        repeats = max(3, int(4e9 / (2 * m * k * n)))
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best = max(best, 2 * m * k * n * repeats / (time.perf_counter() - start) / 1e9)
    return best


def floor_table(models: dict[str, LanguageModel], text: str, repeats: int) -> None:
    """The arithmetic of the gradient maps at the longest length (see the module docstring)."""
    n = max(LENGTHS)
    print(f"| model | GFLOP in matrix products, {n} tokens | median time | GFLOP/s reached |")
    print("|---|---:|---:|---:|")
    total = 0.0
    for name, lm in models.items():
        gflop, seconds = matmul_gflop(lm, text), median_s(lm, text, "gradient", repeats)
        total += gflop
        print(f"| {name} | {gflop:.1f} | {seconds:.3f} s | {gflop / seconds:.0f} |", flush=True)
    peak = best_matmul_gflops()
    print(
        f"\nbest float32 matrix product here: {peak:.0f} GFLOP/s; the four maps' {total:.0f} GFLOP "
        f"need at least {total / peak:.2f} s at that rate (goal ≤ {GOALS[n]} s)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per cell (default 3)")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--folder", type=Path, default=CHECKPOINT_DIR, help="checkpoint folder")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    tokenizer = Tokenizer.from_file(args.folder / TOKENIZER_FILE)
    source, origin = passage()
    texts = {n: text_of_n_tokens(tokenizer, source, n) for n in LENGTHS}
    models = {
        a: load_model(a, args.folder, tokenizer) for a in ARCHS if (args.folder / f"{a}.json").is_file()
    }
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), median of {args.repeats} "
        f"runs after 1 warm-up; texts from {origin}; load average (1, 5, 15 min) before: {load()}\n"
    )
    table(models, texts, args.methods, args.repeats)
    if "gradient" in args.methods:
        floor_table(models, texts[max(LENGTHS)], args.repeats)
    print(f"\nload average after: {load()}")


if __name__ == "__main__":
    main()
