"""Translation latency and training throughput of the shipped English→French models.

Latency: median ``TranslationModel.translate`` time (search plus the traced teacher-forced pass
that the result carries) at 8 and 32 source tokens (EOS included), greedy and beam 4.
Training: tokens/s (real source + target tokens) of training steps on the real batches.

Run: ``python bench/bench_translate.py [--repeats 15] [--threads 1] [--train-steps 20]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled

from models.tokenizer import Tokenizer
from models.translation.checkpoint import ARCHS, MT_DIR, NAMES, TOKENIZER_FILE, build_mt_net
from models.translation.data import Encoded, batch_plan, iterate_batches, load_corpus
from models.translation.model import TranslationModel, load_translation_model
from models.translation.train import DEFAULT_CONFIGS, TrainConfig, loss_fn, make_optimizer

LENGTHS = (8, 32)  # source tokens, EOS included
BEAMS = (1, 4)
WARMUP = 2


def text_of_n_tokens(model: TranslationModel, sentences: list[str], n: int) -> str:
    """Test sentences joined until the source (with EOS) is exactly ``n`` tokens."""
    for start in range(len(sentences)):
        text = ""
        for sentence in sentences[start:]:
            text = f"{text} {sentence}".strip()
            length = len(model.source_tokens(text))
            if length == n:
                return text
            if length > n:
                break
    raise ValueError(f"no run of test sentences is {n} tokens long")


def median_ms(model: TranslationModel, text: str, beam: int, repeats: int) -> tuple[float, int]:
    for _ in range(WARMUP):
        out = model.translate(text, beam=beam)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.translate(text, beam=beam)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times), len(out.alternatives[0].ids)


def train_tokens_per_s(arch: str, data: Encoded, d_vocab: int, steps: int) -> float:
    """Tokens/s of ``steps`` training steps (after two warm-up steps) with the shipped settings."""
    cfg = TrainConfig()
    torch.manual_seed(0)
    net = build_mt_net(arch, {**DEFAULT_CONFIGS[arch], "d_vocab": d_vocab})
    opt = make_optimizer(net, cfg)
    net.train()
    tokens, started = 0, 0.0
    for k, batch in iterate_batches(data, batch_plan(data, cfg.max_tokens, cfg.seed, 0)[: steps + 2], 0, 0):
        if k == 2:
            tokens, started = 0, time.perf_counter()
        loss = loss_fn(net(batch.src, batch.src_len, batch.tgt_in), batch.tgt_out, cfg.label_smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
        opt.step()
        tokens += batch.n_tokens
    return tokens / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=15, help="timed runs per cell (default 15)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--train-steps", type=int, default=20, help="timed training steps (0: skip)")
    parser.add_argument("--folder", type=Path, default=MT_DIR)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    corpus = load_corpus()
    models = {}
    for arch in ARCHS:
        try:
            models[arch] = load_translation_model(NAMES[arch], args.folder)
        except Exception as exc:  # a missing or untrained checkpoint skips its row
            print(f"{NAMES[arch]}: skipped ({exc})")
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); median of {args.repeats} runs "
        f"after {WARMUP} warm-up; sources from the test split"
    )
    cells = [f"{n} tok {'greedy' if b == 1 else f'beam {b}'}" for n in LENGTHS for b in BEAMS]
    header = f"{'model':<18}" + "".join(f" {c:>22}" for c in cells)
    print(header)
    print("-" * len(header))
    for model in models.values():
        row = []
        for n in LENGTHS:
            text = text_of_n_tokens(model, list(corpus.test.english), n)
            for beam in BEAMS:
                ms, out_len = median_ms(model, text, beam, args.repeats)
                row.append(f"{ms:8.1f} ms ({out_len:2d} out)")
        print(f"{model.name:<18}" + "".join(f" {c:>22}" for c in row))
    if args.train_steps:
        tokenizer = Tokenizer.from_file(args.folder / TOKENIZER_FILE)
        data = Encoded.from_pairs(corpus.train.pairs()[:20_000], tokenizer, TrainConfig().max_len)
        print(
            f"\ntraining throughput ({args.train_steps} steps of <= {TrainConfig().max_tokens}-token batches)"
        )
        for arch in ARCHS:
            rate = train_tokens_per_s(arch, data, tokenizer.vocab_size, args.train_steps)
            print(f"{NAMES[arch]:<18} {rate:8,.0f} tokens/s")


if __name__ == "__main__":
    main()
