"""Allocator settings: time and memory of inference under glibc's and MKL's defaults, with
``MKL_DISABLE_FAST_MM=1`` (MKL keeps no work buffers per calling thread), and with that plus
``MALLOC_ARENA_MAX`` (fewer glibc arenas for the inference threads to spread over) or
``MALLOC_MMAP_THRESHOLD_=131072`` (glibc maps every allocation over 128 KB on its own and
returns it when freed), or with jemalloc in glibc's place (``LD_PRELOAD``, where Debian's
libjemalloc2 is installed).

Run: ``python bench/bench_allocator.py [--rounds 3] [--repeats 10] [--threads 32]``.

Each round starts one fresh process per setting, in turn, so background load hits them all
alike. A process loads the four built-in models, times ``trace`` of each at 16, 64 and 256
tokens and the gradient influence map of the Transformer at 64 tokens (median of
``--repeats``), then traces from ``--threads`` threads at once, 8 texts each, as a server
with that many inference slots does, and reports its resident memory before and after. The
table gives the median over rounds, and each setting's ratio to the defaults.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout, uninstalled

from bench.bench_load import deployed_env  # noqa: E402

LENGTHS = (16, 64, 256)
MODELS = ("transformer", "lstm", "gru", "rnn")
MKL = {"MKL_DISABLE_FAST_MM": "1"}
# jemalloc (Debian's libjemalloc2) as the image and scripts/serve.sh preload it, where installed
JEMALLOC_ENV = {k: v for k, v in deployed_env().items() if k in ("LD_PRELOAD", "MALLOC_CONF")}
SETTINGS = {
    "defaults": {},
    "MKL fast MM off": MKL,
    "+ 2 arenas": {**MKL, "MALLOC_ARENA_MAX": "2"},
    "+ 1 arena": {**MKL, "MALLOC_ARENA_MAX": "1"},
    "+ mmap over 128 KB": {**MKL, "MALLOC_MMAP_THRESHOLD_": "131072"},
    **({"+ jemalloc (shipped)": {**MKL, **JEMALLOC_ENV}} if JEMALLOC_ENV else {}),
}
ALLOCATOR_VARS = (
    "MKL_DISABLE_FAST_MM",
    "MALLOC_ARENA_MAX",
    "MALLOC_MMAP_THRESHOLD_",
    "LD_PRELOAD",
    "MALLOC_CONF",
)


def measure(repeats: int, threads: int) -> dict[str, float]:
    """One process's numbers: median ms per timed cell, and RSS before/after the threads."""
    from bench.bench_influence import median_s
    from bench.bench_load import rss_mb
    from bench.bench_trace import median_ms, passage, text_of_n_tokens
    from models.lm import load_model

    models = {name: load_model(name) for name in MODELS}
    source, _ = passage()
    tokenizer = models["transformer"].tokenizer
    texts = {n: text_of_n_tokens(tokenizer, source, n) for n in LENGTHS}

    out: dict[str, float] = {}
    for n, text in texts.items():
        out[f"trace, 4 models, {n} tokens (ms)"] = sum(median_ms(m, text, repeats) for m in models.values())
    out["influence, Transformer, 64 tokens (ms)"] = 1000 * median_s(
        models["transformer"], texts[64], "gradient", repeats
    )
    before = rss_mb(os.getpid())

    def work(i: int) -> None:
        for j in range(8):
            models[MODELS[(i + j) % 4]].trace(f"Thread {i}, text {j}: {texts[64]}")

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(threads)))
    out[f"RSS before {threads} threads (MB)"] = before
    out[f"RSS after {threads} threads (MB)"] = rss_mb(os.getpid())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.repeats, args.threads)))
        return

    results: dict[str, list[dict[str, float]]] = {name: [] for name in SETTINGS}
    cmd = [sys.executable, __file__, "--child", f"--repeats={args.repeats}", f"--threads={args.threads}"]
    for r in range(args.rounds):
        for name, env in SETTINGS.items():
            base = {k: v for k, v in os.environ.items() if k not in ALLOCATOR_VARS}
            run = subprocess.run(
                cmd, env={**base, **env}, cwd=ROOT, check=True, capture_output=True, text=True
            )
            results[name].append(json.loads(run.stdout.splitlines()[-1]))
            print(f"round {r + 1}/{args.rounds}: {name} done", file=sys.stderr)

    names = list(SETTINGS)
    print(
        f"torch threads: default; medians over {args.rounds} rounds; load average {os.getloadavg()[0]:.1f}\n"
    )
    print("| measure | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for key in results[names[0]][0]:
        base = statistics.median(x[key] for x in results[names[0]])
        cells = [f"{base:,.1f}"]
        for name in names[1:]:
            value = statistics.median(x[key] for x in results[name])
            cells.append(f"{value:,.1f} ({value / base:.2f}×)")
        print(f"| {key} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
