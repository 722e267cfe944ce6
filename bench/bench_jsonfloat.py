"""The API's JSON float writer (``app/jsonfloat.py``) against the plain way, side by side:
``orjson.dumps(np.round(x.astype(float64), 4))``, on the Transformer's real attention and
residual stream at 16, 64 and 256 tokens (shipped checkpoint, held-out text).

Run: ``python bench/bench_jsonfloat.py [--repeats 15]``. Both writers produce the same
numbers (``tests/api/test_jsonfloat.py`` proves it); the table gives median milliseconds,
nanoseconds per number and the speed-up.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import orjson
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled

from bench_trace import passage, text_of_n_tokens

from app.jsonfloat import dumps_floats
from models.checkpoint import CHECKPOINT_DIR, TOKENIZER_FILE
from models.lm import load_model
from models.tokenizer import Tokenizer

LENGTHS = (16, 64, 256)
DECIMALS = 4
WARMUP = 3


def baseline(x: np.ndarray, decimals: int) -> bytes:
    return orjson.dumps(np.round(x.astype(np.float64), decimals), option=orjson.OPT_SERIALIZE_NUMPY)


def median_s(f: Callable[[], object], repeats: int) -> float:
    samples = []
    for i in range(WARMUP + repeats):
        t0 = time.perf_counter()
        f()
        if i >= WARMUP:
            samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=15, help="timed runs per cell (default 15)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    tokenizer = Tokenizer.from_file(CHECKPOINT_DIR / TOKENIZER_FILE)
    lm = load_model("transformer", CHECKPOINT_DIR, tokenizer)
    source, origin = passage()
    print(f"transformer checkpoint, text: {origin}; median of {args.repeats}, {DECIMALS} decimals")
    header = f"{'tokens':>6}  {'array':<10} {'numbers':>9}  {'orjson+round':>12}  {'jsonfloat':>9}  {'ns/number':>9}  speed-up"
    print(header)
    print("-" * len(header))
    for n in LENGTHS:
        trace = lm.trace(text_of_n_tokens(tokenizer, source, n))
        for name, x in (("attention", trace.attention["self"]), ("resid", trace.states["resid"])):
            assert orjson.loads(dumps_floats(x, DECIMALS)) == orjson.loads(baseline(x, DECIMALS))
            base, fast = (
                median_s(lambda w=w, x=x: w(x, DECIMALS), args.repeats) for w in (baseline, dumps_floats)
            )
            print(
                f"{n:>6}  {name:<10} {x.size:>9,}  {base * 1e3:>9.3f} ms  {fast * 1e3:>6.3f} ms  "
                f"{fast / x.size * 1e9:>9.2f}  {base / fast:>7.1f}x"
            )


if __name__ == "__main__":
    main()
