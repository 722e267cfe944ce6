"""Train one built-in model: ``python -m models.train --arch transformer|lstm|gru|rnn``.

Same data, tokenizer, token budget, batch shape and optimiser for every architecture; a fixed
seed and a fixed, recorded split. Writes ``NAME.safetensors`` and ``NAME.json`` (config and
model card) to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from .checkpoint import CHECKPOINT_DIR, TOKENIZER_FILE, build_net, net_config, save_checkpoint
from .data import BOOKS, load_corpus
from .evaluate import Stream, score, unigram_score
from .tokenizer import Tokenizer, train_tokenizer

PROMPT = "It was a dark and stormy night, and"

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
    eval_every: int = 250  # steps
    eval_windows: int = 48  # validation windows scored at each periodic evaluation
    seed: int = 1337
    vocab_size: int = 4096
    threads: int = 2


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


def get_tokenizer(out: Path, train_texts: tuple[str, ...], vocab_size: int) -> Tokenizer:
    path = out / TOKENIZER_FILE
    if path.is_file():
        return Tokenizer.from_file(path)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer(train_texts, vocab_size)
    tokenizer.save(path)
    return tokenizer


def train(
    arch: str, model_overrides: dict[str, Any], cfg: TrainConfig, out: Path, name: str
) -> dict[str, Any]:
    torch.set_flush_denormal(True)  # denormals slow CPU training 3-4x
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    started = time.time()
    corpus = load_corpus()
    tokenizer = get_tokenizer(out, corpus.train, cfg.vocab_size)
    train_stream = Stream.from_texts(corpus.train, tokenizer)
    valid_stream = Stream.from_texts(corpus.valid, tokenizer)
    model_cfg = {**DEFAULT_CONFIGS[arch], **model_overrides, "d_vocab": tokenizer.vocab_size}
    net = build_net(arch, model_cfg)
    n_params = sum(p.numel() for p in net.parameters())
    opt = make_optimizer(net, cfg)
    steps = cfg.tokens // (cfg.batch_size * cfg.seq_len)
    gen = torch.Generator().manual_seed(cfg.seed)
    data = train_stream.ids
    offsets = torch.arange(cfg.seq_len + 1)
    eval_ids = valid_stream.ids[: cfg.eval_windows * cfg.seq_len + 1]
    history: list[dict[str, float]] = []
    bar = tqdm(range(steps), desc=f"{name} ({n_params / 1e6:.2f} M params)", unit="step", dynamic_ncols=True)
    net.train()
    t_last, seen = time.time(), 0
    for step in bar:
        for group in opt.param_groups:
            group["lr"] = lr_at(step, steps, cfg)
        starts = torch.randint(0, len(data) - cfg.seq_len - 1, (cfg.batch_size,), generator=gen)
        batch = data[starts[:, None] + offsets]  # [B, T+1]
        logits = net(batch[:, :-1])
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), batch[:, 1:].flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
        opt.step()
        seen += batch[:, 1:].numel()
        if step % 10 == 0:
            rate = 10 * cfg.batch_size * cfg.seq_len / max(1e-9, time.time() - t_last)
            t_last = time.time()
            bar.set_postfix(loss=f"{loss.item():.3f}", tok_s=f"{rate:,.0f}")
        if (step + 1) % cfg.eval_every == 0 or step + 1 == steps:
            val = score(net, eval_ids, tokenizer.eot_id, cfg.seq_len)
            history.append(
                {"step": step + 1, "tokens": seen, "train_loss": loss.item(), "valid_loss": val.loss}
            )
            bar.write(f"step {step + 1}/{steps}  train {loss.item():.3f}  valid {val.loss:.3f}")
    train_time = time.time() - started
    net.eval()
    val = score(net, valid_stream.ids, tokenizer.eot_id, cfg.seq_len)
    trn = score(net, train_stream.ids[: len(valid_stream.ids)], tokenizer.eot_id, cfg.seq_len)
    slice_ids = valid_stream.ids[: 8 * cfg.seq_len + 1]
    card = {
        "name": name,
        "arch": arch,
        "family": arch,
        "config": net_config(net),
        "n_params": n_params,
        "train": asdict(cfg),
        "data": {**corpus.describe(), "books": list(BOOKS), "tokenizer": TOKENIZER_FILE},
        "tokens_seen": seen,
        "metrics": {
            "valid_loss": val.loss,
            "valid_perplexity": val.perplexity,
            "valid_bits_per_char": val.bits_per_char(valid_stream.chars),
            "valid_tokens": val.tokens,
            "valid_chars": valid_stream.chars,
            "train_loss": trn.loss,
            "train_perplexity": trn.perplexity,
            "unigram_valid_bits_per_char": unigram_score(
                train_stream.ids, valid_stream.ids, tokenizer.vocab_size, tokenizer.eot_id
            ).bits_per_char(valid_stream.chars),
            "valid_slice": {
                "tokens": len(slice_ids),
                "window": cfg.seq_len,
                "loss": score(net, slice_ids, tokenizer.eot_id, cfg.seq_len).loss,
            },
        },
        "history": history,
        "wall_time_s": round(train_time, 1),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "seed": cfg.seed,
        "sample": {"prompt": PROMPT, "greedy": greedy(net, tokenizer, PROMPT)},
    }
    save_checkpoint(out, name, net, card)
    return card


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set expects KEY=VALUE, got {pair!r}")
        out[key] = json.loads(value)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m models.train", description=__doc__)
    parser.add_argument("--arch", required=True, choices=sorted(DEFAULT_CONFIGS))
    parser.add_argument("--name", help="checkpoint name (default: the architecture)")
    parser.add_argument("--out", type=Path, default=CHECKPOINT_DIR)
    parser.add_argument(
        "--set",
        dest="model",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a model config field, e.g. --set d_model=160",
    )
    for f in fields(TrainConfig):
        parser.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=f.default)
    args = parser.parse_args(argv)
    cfg = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
    card = train(args.arch, parse_overrides(args.model), cfg, args.out, args.name or args.arch)
    m = card["metrics"]
    print(
        f"{card['name']}: valid loss {m['valid_loss']:.4f}, ppl {m['valid_perplexity']:.2f}, "
        f"{m['valid_bits_per_char']:.4f} bits/char, {card['wall_time_s']:.0f} s"
    )
    print(f"sample: {card['sample']['greedy']!r}")


if __name__ == "__main__":
    main()
