"""Train one built-in model: ``python -m models.train --arch transformer|lstm|gru|rnn``.

Same data, tokenizer, token budget, batch shape, augmentation and optimiser for every
architecture; a fixed seed and a fixed, recorded split. Writes ``NAME.safetensors`` and
``NAME.json`` (config and model card) to ``--out``. Every few minutes the whole training
state goes to ``runs/NAME/state.pt`` (outside git); ``--resume`` continues from it exactly.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import shutil
import time
from dataclasses import asdict, dataclass, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer as HFTokenizer
from torch import nn
from tqdm import tqdm

from .augment import repeat_random, repeat_spans
from .checkpoint import CHECKPOINT_DIR, TOKENIZER_FILE, build_net, net_config, save_checkpoint
from .copying import CopyProbe, common_words, copying_summary
from .data import BOOKS, Corpus, load_corpus, load_extra
from .evaluate import Stream, score, unigram_score
from .net import TracedNet
from .runstate import RunState, load_state, save_state
from .tokenizer import Tokenizer, train_tokenizer

PROMPT = "It was a dark and stormy night, and"
RUNS_DIR = Path(__file__).resolve().parent.parent / "runs"

# Widths chosen so every model has 1.35-1.5 M parameters with the 4096-token vocabulary.
DEFAULT_CONFIGS: dict[str, dict[str, Any]] = {
    "transformer": {"n_layers": 4, "n_heads": 4, "d_model": 128, "d_mlp": 512, "n_ctx": 256},
    "lstm": {"n_layers": 2, "d_embed": 128, "d_hidden": 256},
    "gru": {"n_layers": 2, "d_embed": 128, "d_hidden": 296},
    "rnn": {"n_layers": 2, "d_embed": 128, "d_hidden": 512},
}


@dataclass
class TrainConfig:
    tokens: int = 12_000_000  # token budget, the same for every architecture
    batch_size: int = 16
    seq_len: int = 256
    lr: float = 3e-3
    min_lr: float = 3e-4
    warmup_steps: int = 100
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    eval_every: int = 250  # steps; validation loss and the copying probes
    eval_windows: int = 48  # validation windows scored at each periodic evaluation
    seed: int = 1337
    vocab_size: int = 4096
    threads: int = 2
    repeat_share: float = 0.0  # share of training windows with a span repeated later in them
    repeat_min: int = 8  # repeated span length, in tokens
    repeat_max: int = 64
    random_share: float = 0.0  # share of training windows with a run of random tokens written twice
    random_min: int = 8  # length of that run, in tokens
    random_max: int = 32
    random_copies: int = 2  # how many times that run is written; 0: over the whole window
    copy_warmup: int = 0  # steps at the start in which every window carries such a run
    extra_books: str = ""  # comma-separated texts of data.EXTRA_BOOKS added whole to training
    save_every_s: float = 300.0  # how often the resumable state is written


# Fields that change neither the data nor the arithmetic: a resumed run may differ in them.
_RESUME_FREE = ("threads", "save_every_s", "eval_every", "eval_windows")


def lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * min(1.0, progress)))


def make_optimizer(net: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    decay = [p for p in net.parameters() if p.dim() >= 2]
    no_decay = [p for p in net.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.95))


@torch.no_grad()
def greedy(net: nn.Module, tokenizer: Tokenizer, prompt: str, n_new: int = 40) -> str:
    net.eval()
    ids = tokenizer.encode_ids(prompt)
    for _ in range(n_new):
        logits = net(torch.tensor([ids[-net.n_ctx :]]))[0, -1]  # type: ignore[operator]
        ids.append(int(logits.argmax()))
    return tokenizer.decode(ids)


def get_tokenizer(out: Path, train_texts: tuple[str, ...], vocab_size: int) -> Path:
    """The tokenizer file in ``out``; else a copy of the shipped one; else one trained afresh."""
    path = out / TOKENIZER_FILE
    out.mkdir(parents=True, exist_ok=True)
    shipped = CHECKPOINT_DIR / TOKENIZER_FILE
    if not path.is_file() and shipped.is_file():
        shutil.copy(shipped, path)
    if not path.is_file():
        train_tokenizer(train_texts, vocab_size).save(path)
    return path


@dataclass(frozen=True)
class Data:
    corpus: Corpus
    extra: dict[str, str]  # extra training file -> sha256
    tokenizer: Tokenizer
    train: Stream  # the ten books' training split, then the extra texts
    books_tokens: int  # length of the ten books' part of ``train``
    valid: Stream
    words: tuple[int, ...]  # common word tokens of the copying probes


def load_data(cfg: TrainConfig, out: Path) -> Data:
    corpus = load_corpus()
    tokenizer_path = get_tokenizer(out, corpus.train, cfg.vocab_size)
    return _tokenized(tuple(corpus.files.items()), tokenizer_path.read_text(), cfg.extra_books)


@lru_cache(
    maxsize=2
)  # tokenising takes ~15 s; a process that trains several times (tests, sweeps) does it once
def _tokenized(files: tuple[tuple[str, str], ...], tokenizer_json: str, extra_books: str) -> Data:
    """The data of ``load_data``, cached on the corpus files' sha256 sums, tokenizer and extras."""
    corpus = load_corpus()
    tokenizer = Tokenizer(HFTokenizer.from_str(tokenizer_json))
    extra_texts, extra = load_extra(tuple(b for b in extra_books.split(",") if b))
    words = tuple(common_words(corpus.train, tokenizer))
    books = Stream.from_texts(corpus.train, tokenizer)
    more = Stream.from_texts(extra_texts, tokenizer)
    train_stream = Stream(torch.cat([books.ids, more.ids]), books.chars + more.chars)
    valid = Stream.from_texts(corpus.valid, tokenizer)
    return Data(corpus, extra, tokenizer, train_stream, len(books.ids), valid, words)


def sample_batch(
    data: torch.Tensor, cfg: TrainConfig, gen: torch.Generator, vocab: int, step: int
) -> torch.Tensor:
    """Random windows int64[B, T + 1] of the training stream, augmented as configured."""
    starts = torch.randint(0, len(data) - cfg.seq_len - 1, (cfg.batch_size,), generator=gen)
    batch = data[starts[:, None] + torch.arange(cfg.seq_len + 1)]
    if cfg.repeat_share > 0:
        batch = repeat_spans(batch, cfg.repeat_share, cfg.repeat_min, cfg.repeat_max, gen)
    share = 1.0 if step < cfg.copy_warmup else cfg.random_share
    if cfg.random_share > 0 or cfg.copy_warmup > 0:
        batch = repeat_random(batch, share, cfg.random_min, cfg.random_max, vocab, gen, cfg.random_copies)
    return batch


def _describe(entry: dict[str, Any], steps: int) -> str:
    text = f"step {entry['step']}/{steps}  train {entry['train_loss']:.3f}  valid {entry['valid_loss']:.3f}"
    text += f"  copy {entry['copy_ratio']:.3f}"
    return text + (f"  induction {entry['induction_max']:.3f}" if "induction_max" in entry else "")


def _fixed(cfg: TrainConfig) -> dict[str, Any]:
    return {k: v for k, v in asdict(cfg).items() if k not in _RESUME_FREE}


class Trainer:
    """One training run: the network, its optimiser, the data sampler and the run's progress."""

    def __init__(self, arch: str, model_overrides: dict[str, Any], cfg: TrainConfig, data: Data) -> None:
        self.arch, self.cfg, self.data = arch, cfg, data
        torch.manual_seed(cfg.seed)
        model_cfg = {**DEFAULT_CONFIGS[arch], **model_overrides, "d_vocab": data.tokenizer.vocab_size}
        self.net = build_net(arch, model_cfg)
        self.opt = make_optimizer(self.net, cfg)
        self.gen = torch.Generator().manual_seed(cfg.seed)  # windows and augmentation
        self.run = RunState()
        self.steps = cfg.tokens // (cfg.batch_size * cfg.seq_len)
        self.probe = CopyProbe.for_context(data.words, data.tokenizer.eot_id, self.net.n_ctx)
        self.n_params = sum(p.numel() for p in self.net.parameters())
        self._clock = (time.time(), 0.0)  # (session start, elapsed before it)

    def resume(self, path: Path) -> None:
        args = (self.arch, net_config(self.net), _fixed(self.cfg), self.net, self.opt, self.gen)
        self.run = load_state(path, *args)
        self._clock = (time.time(), self.run.elapsed_s)

    def save(self, run_dir: Path) -> None:
        self._tick()
        args = (self.arch, net_config(self.net), _fixed(self.cfg), self.net, self.opt, self.gen)
        save_state(run_dir, self.run, *args)

    def _tick(self) -> None:
        self.run.elapsed_s = self._clock[1] + time.time() - self._clock[0]

    def step(self) -> float:
        for group in self.opt.param_groups:
            group["lr"] = lr_at(self.run.step, self.steps, self.cfg)
        vocab = self.data.tokenizer.vocab_size
        batch = sample_batch(self.data.train.ids, self.cfg, self.gen, vocab, self.run.step)
        logits = self.net(batch[:, :-1])
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), batch[:, 1:].flatten())
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.net.parameters(), self.cfg.grad_clip)
        self.opt.step()
        run = self.run
        run.step, run.seen = run.step + 1, run.seen + batch[:, 1:].numel()
        run.loss_sum, run.loss_count = run.loss_sum + loss.item(), run.loss_count + 1
        return loss.item()

    def evaluate(self) -> dict[str, Any]:
        """A history entry: mean training loss since the last one, validation loss, copying."""
        cfg, run = self.cfg, self.run
        eval_ids = self.data.valid.ids[: cfg.eval_windows * cfg.seq_len + 1]
        val = score(self.net, eval_ids, self.data.tokenizer.eot_id, cfg.seq_len)
        self._tick()
        return {
            "step": run.step,
            "tokens": run.seen,
            "train_loss": run.loss_sum / max(1, run.loss_count),
            "valid_loss": val.loss,
            **copying_summary(self.net, self.probe),
            "elapsed_s": round(run.elapsed_s, 1),
        }

    def loop(self, run_dir: Path, stop_after: int | None = None) -> None:
        """Train up to ``stop_after`` steps (default: all), saving the state as configured."""
        cfg, run = self.cfg, self.run
        end = self.steps if stop_after is None else min(self.steps, stop_after)
        desc = f"{run_dir.name} ({self.n_params / 1e6:.2f} M params)"
        bar = tqdm(range(run.step, end), desc=desc, unit="step", mininterval=10)
        self.net.train()
        last_save = t_last = time.time()
        for step in bar:
            loss = self.step()
            if step % 10 == 0:
                rate = 10 * cfg.batch_size * cfg.seq_len / max(1e-9, time.time() - t_last)
                t_last = time.time()
                bar.set_postfix(loss=f"{loss:.3f}", tok_s=f"{rate:,.0f}")
            if run.step % cfg.eval_every == 0 or run.step == self.steps:
                run.history.append(self.evaluate())
                run.loss_sum, run.loss_count = 0.0, 0
                self.net.train()
                bar.write(_describe(run.history[-1], self.steps))
            if time.time() - last_save > cfg.save_every_s or run.step == end:
                self.save(run_dir)
                last_save = time.time()
        self._tick()

    def card(self, name: str, sweep: dict[str, Any] | None) -> dict[str, Any]:
        net, data, cfg, run = self.net, self.data, self.cfg, self.run
        net.eval()
        eot, window = data.tokenizer.eot_id, cfg.seq_len
        val = score(net, data.valid.ids, eot, window)
        trn = score(net, data.train.ids[: len(data.valid.ids)], eot, window)
        slice_ids = data.valid.ids[: 8 * window + 1]
        unigram = unigram_score(
            data.train.ids[: data.books_tokens], data.valid.ids, data.tokenizer.vocab_size, eot
        )
        return {
            "name": name,
            "arch": self.arch,
            "family": self.arch,
            "config": net_config(net),
            "n_params": self.n_params,
            "train": asdict(cfg),
            "recipe": recipe(net, cfg, data),
            "sweep": sweep,
            "data": {**data.corpus.describe(), "books": list(BOOKS), "tokenizer": TOKENIZER_FILE},
            "tokens_seen": run.seen,
            "metrics": {
                "valid_loss": val.loss,
                "valid_perplexity": val.perplexity,
                "valid_bits_per_char": val.bits_per_char(data.valid.chars),
                "valid_tokens": val.tokens,
                "valid_chars": data.valid.chars,
                "train_loss": trn.loss,
                "train_perplexity": trn.perplexity,
                "unigram_valid_bits_per_char": unigram.bits_per_char(data.valid.chars),
                "valid_slice": {
                    "tokens": len(slice_ids),
                    "window": window,
                    "loss": score(net, slice_ids, eot, window).loss,
                },
                "copying": copying_summary(net, self.probe),
            },
            "history": run.history,
            "wall_time_s": round(run.elapsed_s, 1),
            "machine": f"{platform.machine()} CPU, {cfg.threads} thread(s)",
            "torch_version": torch.__version__,
            "python_version": platform.python_version(),
            "seed": cfg.seed,
            "sample": {"prompt": PROMPT, "greedy": greedy(net, data.tokenizer, PROMPT)},
        }


def train(
    arch: str,
    model_overrides: dict[str, Any],
    cfg: TrainConfig,
    out: Path,
    name: str,
    *,
    run_dir: Path | None = None,
    resume: bool = False,
    stop_after: int | None = None,
    sweep: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Train ``arch`` and save checkpoint ``name`` in ``out``; return its card. With
    ``stop_after`` steps, save the resumable state there and return None instead."""
    torch.set_flush_denormal(True)  # denormals slow CPU training 3-4x
    torch.set_num_threads(cfg.threads)
    run_dir = run_dir or RUNS_DIR / name
    trainer = Trainer(arch, model_overrides, cfg, load_data(cfg, out))
    if resume and (run_dir / "state.pt").is_file():
        trainer.resume(run_dir / "state.pt")
    trainer.loop(run_dir, stop_after)
    if trainer.run.step < trainer.steps:
        return None
    card = trainer.card(name, sweep)
    save_checkpoint(out, name, trainer.net, card)
    return card


def recipe(net: TracedNet, cfg: TrainConfig, data: Data) -> dict[str, Any]:
    """What a reader needs to redo the training beyond the hyper-parameters in ``train``."""
    smear = getattr(net.cfg, "smear_keys", False)
    return {
        "augmentation": {
            "repeat_share": cfg.repeat_share,
            "repeat_len": [cfg.repeat_min, cfg.repeat_max],
            "what": "in this share of training windows a span is copied to a later place in the window",
            "random_share": cfg.random_share,
            "random_len": [cfg.random_min, cfg.random_max],
            "random_copies": cfg.random_copies,
            "copy_warmup_steps": cfg.copy_warmup,
            "random_what": "in this share of training windows a run of uniform random tokens is written "
            "random_copies times in a row; in every window during the first copy_warmup_steps",
        },
        "extra_train_files": data.extra,
        "positions": "learned absolute" if net.spec.architecture == "transformer" else None,
        "smeared_keys": bool(smear),
        "copy_probe": "models/copying.py: 1000 most frequent single-token words of the ten books' "
        "training split; induction over 8 sequences of 32 random words repeated; copy ratio over "
        "8 sequences of 20 distinct words repeated",
    }


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set expects KEY=VALUE, got {pair!r}")
        out[key] = json.loads(value)
    return out


def add_train_args(parser: argparse.ArgumentParser) -> None:
    """One option per ``TrainConfig`` field: ``--batch-size``, ``--repeat-share``, ..."""
    for f in fields(TrainConfig):
        parser.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=f.default)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m models.train", description=__doc__)
    parser.add_argument("--arch", required=True, choices=sorted(DEFAULT_CONFIGS))
    parser.add_argument("--name", help="checkpoint name (default: the architecture)")
    parser.add_argument("--out", type=Path, default=CHECKPOINT_DIR)
    parser.add_argument("--run-dir", type=Path, help="resumable state folder (default: runs/NAME)")
    parser.add_argument("--resume", action="store_true", help="continue from the run folder's state")
    parser.add_argument("--stop-after", type=int, help="save the state after this many steps and stop")
    parser.add_argument(
        "--sweep",
        type=Path,
        help="train with the best setting of this sweep (runs/sweep/ARCH.json), recorded in the card",
    )
    parser.add_argument(
        "--sweep-rank",
        type=int,
        default=0,
        help="train the sweep's setting of this rank instead (0: the best, 1: the second, ...); "
        "the card records which one was chosen",
    )
    parser.add_argument(
        "--set",
        dest="model",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a model config field, e.g. --set d_model=160",
    )
    add_train_args(parser)
    args = parser.parse_args(argv)
    cfg = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
    overrides = parse_overrides(args.model)
    sweep = json.loads(args.sweep.read_text()) if args.sweep else None
    if sweep:  # the chosen setting's learning rate (min_lr keeps its ratio) and model settings
        if sweep["arch"] != args.arch:
            raise SystemExit(f"{args.sweep} is a sweep of {sweep['arch']}, not {args.arch}")
        if not 0 <= args.sweep_rank < len(sweep["results"]):
            raise SystemExit(
                f"--sweep-rank {args.sweep_rank}: {args.sweep} has {len(sweep['results'])} settings"
            )
        chosen = sweep["results"][args.sweep_rank]  # best first
        sweep = {**sweep, "chosen": chosen, "chosen_rank": args.sweep_rank}
        # min_lr keeps its ratio to lr, rounded: 2e-4 for 2e-3, not 1.9999999999999998e-4
        min_lr = float(f"{chosen['lr'] * cfg.min_lr / cfg.lr:.12g}")
        cfg = replace(cfg, lr=chosen["lr"], min_lr=min_lr)
        overrides = {**overrides, **chosen["model"]}
    name = args.name or args.arch
    card = train(
        args.arch, overrides, cfg, args.out, name,
        run_dir=args.run_dir, resume=args.resume, stop_after=args.stop_after, sweep=sweep,
    )  # fmt: skip
    if card is None:
        print(f"{name}: stopped after {args.stop_after} steps; continue with --resume")
        return
    m = card["metrics"]
    print(
        f"{card['name']}: valid loss {m['valid_loss']:.4f}, ppl {m['valid_perplexity']:.2f}, "
        f"{m['valid_bits_per_char']:.4f} bits/char, copy ratio {m['copying']['copy_ratio']:.3f}, "
        f"{card['wall_time_s']:.0f} s"
    )
    print(f"sample: {card['sample']['greedy']!r}")


if __name__ == "__main__":
    main()
