"""Median ``LanguageModel.trace`` time of each shipped model at 16, 64 and 256 tokens.

Run: ``python bench/bench_trace.py [--repeats 15] [--threads 2]``. Models not trained yet are
skipped with a message.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled

from models.checkpoint import ARCHS, CHECKPOINT_DIR, TOKENIZER_FILE
from models.data import load_corpus
from models.lm import LanguageModel, load_model
from models.tokenizer import Tokenizer

LENGTHS = (16, 64, 256)
WARMUP = 3
PARAGRAPH = (
    "It is a truth universally acknowledged, that a single man in possession of a good fortune, "
    "must be in want of a wife. However little known the feelings or views of such a man may be "
    "on his first entering a neighbourhood, this truth is so well fixed in the minds of the "
    "surrounding families, that he is considered the rightful property of some one or other of "
    "their daughters. "
)


def passage() -> tuple[str, str]:
    """A long stretch of prose and where it came from: held-out corpus text if present."""
    try:
        return load_corpus().valid[0][:20_000], "validation text of the corpus"
    except FileNotFoundError:
        return PARAGRAPH * 40, "a built-in paragraph, repeated (corpus not found)"


def text_of_n_tokens(tokenizer: Tokenizer, source: str, n: int) -> str:
    """A slice of ``source`` that tokenises to exactly ``n`` tokens."""
    ids = tokenizer.encode_ids(source)
    for start in range(len(ids) - n):
        text = tokenizer.decode(ids[start : start + n])
        if len(tokenizer.encode_ids(text)) == n:
            return text
    raise ValueError(f"no slice of the passage is exactly {n} tokens long")


def median_ms(lm: LanguageModel, text: str, repeats: int) -> float:
    for _ in range(WARMUP):
        lm.trace(text)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        lm.trace(text)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=15, help="timed runs per cell (default 15)")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    parser.add_argument("--folder", type=Path, default=CHECKPOINT_DIR, help="checkpoint folder")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    tokenizer = Tokenizer.from_file(args.folder / TOKENIZER_FILE)
    source, origin = passage()
    texts = {n: text_of_n_tokens(tokenizer, source, n) for n in LENGTHS}
    for n, text in texts.items():
        assert len(tokenizer.encode(text)) == n

    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); "
        f"median of {args.repeats} runs after {WARMUP} warm-up; texts from {origin}"
    )
    header = f"{'model':<12} {'params':>8}" + "".join(f" {f'{n} tok':>10}" for n in LENGTHS)
    print(header)
    print("-" * len(header))
    for arch in ARCHS:
        if not (args.folder / f"{arch}.safetensors").is_file():
            print(f"{arch:<12} skipped: {args.folder / f'{arch}.safetensors'} not found (not trained yet?)")
            continue
        lm = load_model(arch, folder=args.folder, tokenizer=tokenizer)
        cells = []
        for n in LENGTHS:
            cells.append(f"{median_ms(lm, texts[n], args.repeats):7.1f} ms" if n <= lm.n_ctx else "  > n_ctx")
        print(f"{arch:<12} {lm.n_params / 1e6:6.2f} M" + "".join(f" {c:>10}" for c in cells))


if __name__ == "__main__":
    main()
