"""Parallelism, measured: forward and training-step time (forward + backward, batch 16) of each
architecture against sequence length, at 1 and 2 torch threads (or those given), beside the number of steps
each must take one after another (Transformer: n_layers, whatever the length; recurrent:
n_layers × T, since each h_t needs h_{t-1}).

Run: ``python bench/bench_parallel.py [--repeats 5] [--max-len 1024] [--threads 1 2]``. Random-init models of
the shipped sizes (timing depends on shapes, not on weights). Prints a markdown table and the
load average before and after: other work on the machine slows every number.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled

from models.checkpoint import ARCHS, build_net
from models.net import TracedNet
from models.train import DEFAULT_CONFIGS

BATCH = 16
LENGTHS = (16, 32, 64, 128, 256, 512, 1024)


def median_s(fn: Callable[[], object], repeats: int, min_total_s: float = 1.0) -> float:
    """Median of at least 3 and at most ``repeats`` timed runs (fewer once ``min_total_s`` is spent)."""
    fn()  # warm-up
    times: list[float] = []
    while len(times) < 3 or (len(times) < repeats and sum(times) < min_total_s):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def forward(net: TracedNet, x: torch.Tensor) -> Callable[[], object]:
    def run() -> object:
        with torch.no_grad():
            return net(x)

    return run


def train_step(net: TracedNet, x: torch.Tensor, y: torch.Tensor) -> Callable[[], object]:
    def run() -> object:
        net.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x).flatten(0, 1), y.flatten())
        loss.backward()
        return loss

    return run


def sequential_steps(net: TracedNet, length: int) -> int:
    spec = net.spec
    return spec.n_layers if spec.attention else spec.n_layers * length


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5, help="most timed runs per cell (default 5)")
    parser.add_argument("--max-len", type=int, default=1024, help="longest sequence (default 1024)")
    parser.add_argument("--models", nargs="+", choices=ARCHS, default=list(ARCHS))
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2], help="thread counts (default 1 2)")
    args = parser.parse_args(argv)
    threads_list, few, most = args.threads, min(args.threads), max(args.threads)
    torch.set_flush_denormal(True)  # as training does
    print(
        f"torch {torch.__version__}; batch {BATCH}; median of 3-{args.repeats} runs after 1 warm-up; "
        f"load average (1, 5, 15 min) before: {load()}\n"
    )
    header = ["model", "T", "sequential steps"]
    header += [f"{what} {t} thr" for what in ("forward", "train step") for t in threads_list]
    header += [f"train step, {most} thr vs {few}", f"train µs/token ({most} thr)"]
    print("| " + " | ".join(header) + " |\n|---|" + "---:|" * (len(header) - 1))
    for arch in args.models:
        torch.manual_seed(0)
        net = build_net(arch, DEFAULT_CONFIGS[arch])
        gen = torch.Generator().manual_seed(0)
        for length in (n for n in LENGTHS if n <= min(args.max_len, net.spec.n_ctx)):
            x = torch.randint(0, net.spec.d_vocab, (BATCH, length), generator=gen)
            y = torch.randint(0, net.spec.d_vocab, (BATCH, length), generator=gen)
            cells: dict[tuple[str, int], float] = {}
            for threads in threads_list:
                torch.set_num_threads(threads)
                net.eval()
                cells["forward", threads] = median_s(forward(net, x), args.repeats)
                net.train()
                cells["train", threads] = median_s(train_step(net, x, y), args.repeats)
            row = [arch, str(length), str(sequential_steps(net, length))]
            row += [f"{1000 * cells[what, t]:.1f} ms" for what in ("forward", "train") for t in threads_list]
            row += [
                f"{cells['train', few] / cells['train', most]:.2f}×",
                f"{1e6 * cells['train', most] / (BATCH * length):.1f}",
            ]
            print("| " + " | ".join(row) + " |", flush=True)
    print(f"\nload average after: {load()}")


if __name__ == "__main__":
    main()
