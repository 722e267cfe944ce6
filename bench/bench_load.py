"""Load on a real server: 2,000 uncached requests at 32 connections, then a burst of 300 at
once, for three rounds; status counts (200 / 503 / other / lost), latency p50 and p99, and
the server's resident memory before and after each round.

Run: ``python bench/bench_load.py [--requests 2000] [--connections 32] [--burst 300]
[--rounds 3] [--models-dir DIR]``. The server is ``python -m app.cli serve`` (as deployed),
with its defaults and the image's allocator settings as ``scripts/serve.sh`` sets them
(``deployed_env``: jemalloc where it is installed; the environment may override); every request has a text of its own, so the cache never answers. The mix:
explore-page traces (f16, default parts) for the four models and compare requests.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout, uninstalled

from models.checkpoint import CHECKPOINT_DIR  # noqa: E402
from tests.server import free_port, stop, wait_ready  # noqa: E402

ALLOCATOR_SCRIPT = ROOT / "scripts" / "allocator-env.sh"


def deployed_env() -> dict[str, str]:
    """The variables ``scripts/allocator-env.sh`` sets in an empty environment: the image's
    allocator settings, as ``scripts/serve.sh`` starts the server on this machine."""
    out = subprocess.run(
        ["bash", "-c", 'source "$0" && env -0', str(ALLOCATOR_SCRIPT)],
        env={},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {
        k: v
        for k, _, v in (item.partition("=") for item in out.split("\0") if item)
        if k not in ("PWD", "SHLVL", "_")
    }


WORDS = [
    "the",
    "cat",
    "sat",
    "on",
    "a",
    "mat",
    "while",
    "an",
    "old",
    "dog",
    "slept",
    "by",
    "the",
    "warm",
    "fire",
    "and",
    "the",
    "wind",
    "blew",
    "over",
    "the",
    "hill",
]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


def body(i: int, rng: random.Random) -> tuple[str, dict[str, Any]]:
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 40)))
    text = f"Request {i}: {words}."
    if i % 5 == 4:
        return "/api/v1/compare", {
            "models": ["transformer", "lstm", "gru", "rnn"],
            "text": text,
            "encoding": "f16",
        }
    model = ("transformer", "lstm", "gru", "rnn")[i % 4]
    return "/api/v1/trace", {"model": model, "text": text, "encoding": "f16"}


async def run(url: str, start: int, total: int, connections: int) -> tuple[Counter[str], list[float]]:
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    rng = random.Random(start)
    queue = list(range(start, start + total))
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def worker() -> None:
            while queue:
                path, payload = body(queue.pop(), rng)
                t0 = time.perf_counter()
                try:
                    r = await client.post(path, json=payload)
                    statuses[str(r.status_code)] += 1
                except httpx.HTTPError as exc:
                    statuses[f"lost ({type(exc).__name__})"] += 1
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker() for _ in range(connections)))
    return statuses, latencies


def summary(
    name: str, statuses: Counter[str], latencies: list[float], before: float, after: float
) -> list[str]:
    q = statistics.quantiles(latencies, n=100)
    other = ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()) if k not in ("200", "503")) or "0"
    return [
        name,
        f"{sum(statuses.values()):,}",
        f"{statuses['200']:,}",
        f"{statuses['503']:,}",
        other,
        f"{q[49] * 1000:.0f}",
        f"{q[98] * 1000:.0f}",
        f"{before:.0f} -> {after:.0f}",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--burst", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--models-dir", type=Path, default=CHECKPOINT_DIR)
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **deployed_env(),  # as scripts/serve.sh sets them; the environment may override
        **os.environ,
        "ATTENZIONE_MODELS_DIR": str(args.models_dir),
        "ATTENZIONE_LOG_LEVEL": "warning",
    }
    cmd = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    rows = []
    with (
        tempfile.TemporaryFile() as log,
        subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=log) as proc,
    ):
        try:
            wait_ready(url, proc)
            start = 0
            for k in range(args.rounds):
                before = rss_mb(proc.pid)
                statuses, latencies = asyncio.run(run(url, start, args.requests, args.connections))
                rows.append(
                    summary(
                        f"round {k + 1}: {args.connections} conn",
                        statuses,
                        latencies,
                        before,
                        rss_mb(proc.pid),
                    )
                )
                start += args.requests
                before = rss_mb(proc.pid)
                statuses, latencies = asyncio.run(run(url, start, args.burst, args.burst))
                rows.append(
                    summary(
                        f"round {k + 1}: burst {args.burst}", statuses, latencies, before, rss_mb(proc.pid)
                    )
                )
                start += args.burst
                time.sleep(2)  # idle: what the server keeps once the burst is over
                rows.append([f"round {k + 1}: idle 2 s", "", "", "", "", "", "", f"{rss_mb(proc.pid):.0f}"])
        finally:
            stop(proc)
    header = ["load", "requests", "200", "503", "other/lost", "p50 ms", "p99 ms", "server RSS MB"]
    print(f"models: {args.models_dir}; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
