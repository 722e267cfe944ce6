"""What the JSON API costs on top of the model: request time vs a bare ``LanguageModel.trace``,
payload bytes per encoding, and requests/s over real HTTP.

Run: ``python bench/bench_api.py [--repeats 20] [--requests 400] [--threads 1] [--only abc]``.

(a) POST /api/v1/trace in-process (lifespan run; the ASGI app called directly) vs a bare
    ``model.trace(text, top_k=5)``, Transformer at 16/64/256 tokens, json and f16, cache off, on
    the event loop uvicorn uses (uvloop). The bare trace is timed inside a worker thread, as the
    API's trace runs. Bare and API calls are interleaved so background load hits both alike;
    CPU time is reported beside wall time.
(b) Response bytes per encoding; bytes per attention weight for parts=["attention"].
(c) Requests/s at concurrency 1 and 8 for 16-token traces against a uvicorn subprocess
    (access log off), with ATTENZIONE_TORCH_THREADS=1 and torch's default, and the server's
    CPU time per request.

Uses the trained checkpoints in models/checkpoints if they are there; otherwise random-init
models with the training configs (same shapes, so the timings are representative, but the
attention of an untrained model is flatter, which changes gzip sizes).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gzip
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import httpx
import orjson
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout, uninstalled

from bench_trace import passage, text_of_n_tokens  # noqa: E402  (same folder)

from app.main import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402
from models.checkpoint import ARCHS, CHECKPOINT_DIR, TOKENIZER_FILE, build_net, save_checkpoint  # noqa: E402
from models.lm import LanguageModel, load_model  # noqa: E402
from models.tokenizer import Tokenizer  # noqa: E402
from models.train import DEFAULT_CONFIGS  # noqa: E402
from tests.server import free_port, stop, wait_ready  # noqa: E402

LENGTHS = (16, 64, 256)
ENCODINGS = ("json", "f16", "u8")
TOP_K = 5  # the API's default
WARMUP = 3
DEFAULT_THREADS = torch.get_num_threads()  # before main() changes it
T = TypeVar("T")

# --- set-up -------------------------------------------------------------------------------


def checkpoints(tmp: Path) -> tuple[Path, str]:
    """The folder to serve and a description: trained if present, else random-init."""
    if (CHECKPOINT_DIR / "transformer.safetensors").is_file():
        return CHECKPOINT_DIR, "trained checkpoints from models/checkpoints"
    shutil.copy(CHECKPOINT_DIR / TOKENIZER_FILE, tmp / TOKENIZER_FILE)
    for seed, arch in enumerate(ARCHS):
        torch.manual_seed(seed)
        net = build_net(arch, {**DEFAULT_CONFIGS[arch], "d_vocab": 4096})
        n_params = sum(p.numel() for p in net.parameters())
        card = {"name": arch, "arch": arch, "config": dataclasses.asdict(net.cfg), "n_params": n_params}
        save_checkpoint(tmp, arch, net, card)
    return tmp, (
        "RANDOM-INIT models with the training configs (no trained checkpoint yet): timings are "
        "representative of the real sizes, but re-run on the trained models before quoting ratios"
    )


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on the event loop uvicorn picks (``--loop auto``): uvloop when installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def median_ms(samples: list[float]) -> float:
    return 1000 * statistics.median(samples)


def table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    print(f"\n{title}")
    line = "  ".join(f"{h:>{w}}" for h, w in zip(header, widths, strict=True))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(f"{x:>{w}}" for x, w in zip(row, widths, strict=True)))


# --- (a) request time vs bare trace --------------------------------------------------------


async def asgi_post(
    app: Any, path: str, body: bytes, accept_encoding: str = "identity"
) -> tuple[int, dict[str, str], bytes]:
    """Call the ASGI app directly, as a server would: no client library in the way."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"localhost"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"accept-encoding", accept_encoding.encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("localhost", 80),
        "state": {},
    }
    sent = False
    status, headers, chunks = 0, {}, []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            headers.update((k.decode(), v.decode()) for k, v in message["headers"])
        else:
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, headers, b"".join(chunks)


Sample = tuple[float, float, float]  # wall seconds, process CPU seconds (all threads), infer seconds


async def time_asgi(app: Any, body: bytes, accept_encoding: str = "identity") -> Sample:
    t0, c0 = time.perf_counter(), time.process_time()
    status, headers, _ = await asgi_post(app, "/api/v1/trace", body, accept_encoding)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert status == 200
    return wall, cpu, float(headers["server-timing"].split("dur=")[1]) / 1000


async def time_httpx(client: httpx.AsyncClient, body: bytes) -> Sample:
    t0, c0 = time.perf_counter(), time.process_time()
    r = await client.post("/api/v1/trace", content=body, headers={"content-type": "application/json"})
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert r.status_code == 200, r.text
    return wall, cpu, float(r.headers["server-timing"].split("dur=")[1]) / 1000


async def time_bare(lm: LanguageModel, text: str) -> Sample:
    """A bare ``trace()``, timed inside an AnyIO worker thread, the kind of thread the API's
    trace runs on, so that where the OS places the two (and how fast that core is at the
    moment) does not count as API overhead. The hand-off to the thread is not timed."""

    def timed() -> Sample:
        t0, c0 = time.perf_counter(), time.thread_time()
        lm.trace(text, top_k=TOP_K)
        wall = time.perf_counter() - t0
        return wall, time.thread_time() - c0, wall

    return await anyio.to_thread.run_sync(timed)


def medians(samples: list[Sample]) -> tuple[float, float, float]:
    wall, cpu, infer = (median_ms([s[i] for s in samples[WARMUP:]]) for i in range(3))
    return wall, cpu, infer


async def cache_hit_ms(folder: Path, text: str, repeats: int, threads: int) -> float:
    """A request answered from the cache: the HTTP stack alone, no inference, no thread hop."""
    app = create_app(Settings(models_dir=folder, cache_size=8, torch_threads=threads))
    body = orjson.dumps({"model": "transformer", "text": text, "encoding": "f16"})
    async with app.router.lifespan_context(app):
        samples = [await time_asgi(app, body) for _ in range(WARMUP + 5 * repeats)]
    return medians(samples)[0]


async def overhead(folder: Path, texts: dict[int, str], repeats: int, threads: int) -> None:
    app = create_app(Settings(models_dir=folder, cache_size=0, torch_threads=threads))
    rows = []
    async with app.router.lifespan_context(app):
        lm = app.state.registry.entries["transformer"].model
        for n, text in texts.items():
            if n > lm.n_ctx:
                continue
            # (encoding, Accept-Encoding): uncompressed, and as a browser asks (zstd chosen)
            variants = [(e, a) for e in ("json", "f16") for a in ("identity", "zstd, br, gzip")]
            bodies = {
                e: orjson.dumps({"model": "transformer", "text": text, "encoding": e})
                for e in ("json", "f16")
            }
            runs: dict[Any, list[Sample]] = {k: [] for k in ("bare", *variants)}
            for _ in range(WARMUP + repeats):  # interleaved: background load hits all alike
                runs["bare"].append(await time_bare(lm, text))
                for enc, accept in variants:
                    runs[enc, accept].append(await time_asgi(app, bodies[enc], accept))
            bare, bare_cpu, _ = medians(runs["bare"])
            for enc, accept in variants:
                wall, cpu, infer = medians(runs[enc, accept])
                rows.append(
                    [
                        n,
                        enc,
                        "zstd" if accept != "identity" else "none",
                        f"{bare:.2f}",
                        f"{wall:.2f}",
                        f"{wall / bare:.2f}",
                        f"{cpu / bare_cpu:.2f}",
                        f"{infer:.2f}",
                    ]
                )
    hit = await cache_hit_ms(folder, texts[16], repeats, threads)
    table(
        f"(a) Transformer: POST /api/v1/trace in-process vs bare model.trace(text), ms, median of {repeats}",
        ["tokens", "encoding", "compression", "bare", "API", "ratio", "CPU ratio", "Server-Timing infer"],
        rows,
    )
    print(
        "    API: the ASGI app called directly, the whole server-side handling (middleware, routing,\n"
        "    validation, the worker thread, serialisation, the response). bare: trace() timed inside a\n"
        "    worker thread. CPU ratio: process CPU time (every thread) of the API over the bare trace's\n"
        "    thread CPU time, which other processes' load does not inflate.\n"
        "    compression: the response as sent to a client that accepts none, or zstd (as browsers do).\n"
        "    Bounds at 64 tokens: ratio <= 1.6 (json), <= 1.3 (f16); zstd adds <= 10% to f16.\n"
        f"    A cache hit: {hit:.2f} ms."
    )


# --- (b) payload sizes ----------------------------------------------------------------------


def payloads(client: Any, texts: dict[int, str], n_ctx: int, shape: Callable[[int], int]) -> None:
    rows = []
    for n, text in texts.items():
        if n > n_ctx:
            continue
        row: list[Any] = [n]
        for enc in ENCODINGS:
            r = client.post("/api/v1/trace", json={"model": "transformer", "text": text, "encoding": enc})
            row.append(f"{len(r.content):,}")
        rows.append(row)
    table("(b) response bytes, Transformer, default parts", ["tokens", *ENCODINGS], rows)

    rows = []
    for n, text in texts.items():
        if n > n_ctx:
            continue
        weights = shape(n)  # n_layers * n_heads * T * T
        causal = weights * (n + 1) // (2 * n)  # key <= query
        for enc in ENCODINGS:
            body = {"model": "transformer", "text": text, "encoding": enc, "parts": ["attention"]}
            content = client.post("/api/v1/trace", json=body).content
            z = len(gzip.compress(content, 6))
            rows.append(
                [
                    n,
                    enc,
                    f"{len(content):,}",
                    f"{len(content) / weights:.2f}",
                    f"{len(content) / causal:.2f}",
                    f"{z:,}",
                    f"{z / weights:.2f}",
                ]
            )
    table(
        '(b) parts=["attention"]: bytes per attention weight (whole response, framing included)',
        ["tokens", "encoding", "bytes", "per weight", "per causal weight", "gzip -6", "gzip per weight"],
        rows,
    )
    print(
        "    per weight: over n_layers*n_heads*T*T (the tensor); per causal weight: over the "
        "T(T+1)/2 lower triangle actually sent. Target f16 <= 2.2 per weight plus framing."
    )


# --- (c) requests/s over HTTP -----------------------------------------------------------------


async def load(url: str, body: dict[str, Any], total: int, concurrency: int) -> tuple[float, dict[int, int]]:
    statuses: dict[int, int] = {}
    remaining = total
    async with httpx.AsyncClient(
        base_url=url, timeout=60, limits=httpx.Limits(max_connections=concurrency)
    ) as c:
        for _ in range(WARMUP * concurrency):
            await c.post("/api/v1/trace", json=body)

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                r = await c.post("/api/v1/trace", json=body)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return total / (time.perf_counter() - t0), statuses


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def throughput(folder: Path, text: str, total: int) -> None:
    rows = []
    for threads in ("1", "0"):
        port = free_port()
        env = {
            **os.environ,
            "ATTENZIONE_MODELS_DIR": str(folder),
            "ATTENZIONE_CACHE_SIZE": "0",
            "ATTENZIONE_TORCH_THREADS": threads,
        }
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        with subprocess.Popen(cmd, cwd=ROOT, env=env) as proc:
            url = f"http://127.0.0.1:{port}"
            try:
                wait_ready(url, proc)
                body = {"model": "transformer", "text": text}
                for concurrency in (1, 8):
                    cpu0 = cpu_seconds(proc.pid)
                    rps, statuses = run_loop(load(url, body, total, concurrency))
                    cpu = (cpu_seconds(proc.pid) - cpu0) / (total + WARMUP * concurrency) * 1000
                    label = "1" if threads == "1" else f"default ({DEFAULT_THREADS})"
                    rows.append(
                        [
                            label,
                            concurrency,
                            total,
                            f"{rps:.0f}",
                            f"{cpu:.2f}",
                            ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())),
                        ]
                    )
            finally:
                stop(proc, timeout=30)
    table(
        "(c) requests/s, 16-token Transformer trace, json, cache off, uvicorn subprocess over loopback HTTP",
        ["ATTENZIONE_TORCH_THREADS", "concurrency", "requests", "req/s", "server CPU ms/req", "statuses"],
        rows,
    )
    print("    target >= 100 req/s; the load generator shares the machine with the server")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=20, help="timed runs per cell in (a) (default 20)")
    parser.add_argument("--requests", type=int, default=400, help="requests per run in (c) (default 400)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads in (a) and (b) (default 1)")
    parser.add_argument("--only", default="abc", help="which of the sections a, b, c to run (default abc)")
    parser.add_argument("--skip-http", action="store_true", help="skip (c), the same as --only ab")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        folder, origin = checkpoints(Path(tmp))
        tokenizer = Tokenizer.from_file(folder / TOKENIZER_FILE)
        source, _ = passage()
        texts = {n: text_of_n_tokens(tokenizer, source, n) for n in LENGTHS}
        lm = load_model("transformer", folder, tokenizer)
        spec = lm.spec
        print(f"models: {origin}")
        print(
            f"transformer: {lm.n_params / 1e6:.2f} M params, {spec.n_layers} layers x {spec.n_heads} heads, "
            f"d_model {spec.width}, n_ctx {lm.n_ctx}; torch {torch.__version__}, {args.threads} thread(s) "
            f"in (a)/(b); {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
        )
        if "a" in args.only:
            run_loop(overhead(folder, texts, args.repeats, args.threads))
        if "b" in args.only:
            from fastapi.testclient import TestClient

            with TestClient(
                create_app(Settings(models_dir=folder, cache_size=0)), base_url="http://localhost"
            ) as client:
                payloads(client, texts, lm.n_ctx, lambda t: spec.n_layers * (spec.n_heads or 0) * t * t)
        if "c" in args.only and not args.skip_http:
            throughput(folder, texts[16], args.requests)


if __name__ == "__main__":
    main()
