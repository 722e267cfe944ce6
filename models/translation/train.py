"""Train an English→French model: ``python -m models.translation.train --arch transformer|lstm``.

Same data, tokenizer, token budget (``--epochs`` over the same training pairs), batches and
optimiser for both architectures. Length-bucketed batches of at most ``--max-tokens`` padded
source + target tokens, label smoothing, AdamW with linear warm-up then cosine decay. A
progress bar, validation every ``--eval-every`` steps, and the whole training state (weights,
optimiser, random state, position in the epoch) saved every ``--save-every`` seconds to
``--run-dir``, so ``--resume`` continues exactly where it stopped. At the end it scores the
validation and test splits and writes ``NAME.safetensors`` and ``NAME.json`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from ..checkpoint import save_checkpoint
from ..tokenizer import Tokenizer, train_tokenizer
from .checkpoint import MT_DIR, NAMES, TOKENIZER_FILE, build_mt_net
from .data import Corpus, Encoded, batch_plan, iterate_batches, load_corpus
from .evaluate import evaluate_split, score, translate_all
from .net import Seq2SeqNet

SAMPLES = ("I'm hungry.", "Where is the station?", "She reads a book every week.", "We have to talk.")

# Sizes chosen so both models have 2.2-2.4 M parameters with the 8,000-token vocabulary.
DEFAULT_CONFIGS: dict[str, dict[str, Any]] = {
    "transformer": {"n_layers": 3, "n_heads": 4, "d_model": 128, "d_mlp": 512, "dropout": 0.1},
    "lstm": {"d_embed": 128, "d_encoder": 128, "d_hidden": 256, "d_attn": 256, "dropout": 0.1},
}


@dataclass
class TrainConfig:
    epochs: float = 6.0  # token budget: passes over the training pairs, the same for both models
    max_tokens: int = 2048  # padded source + target tokens per batch
    max_len: int = 128  # training pairs longer than this (either side, with EOS) are left out
    lr: float = 2e-3
    min_lr_ratio: float = 0.05  # cosine decay to lr * this
    warmup_steps: int = 300
    weight_decay: float = 0.01
    label_smoothing: float = 0.1
    grad_clip: float = 1.0
    eval_every: int = 500  # steps; validation loss and greedy BLEU/chrF on the validation split
    save_every: float = 300.0  # seconds between saves of the training state
    seed: int = 1234
    vocab_size: int = 8000
    threads: int = 1


@dataclass
class Progress:
    """Where a run stands; saved beside the weights and optimiser state."""

    step: int = 0
    epoch: int = 0
    batch: int = 0  # next batch of the epoch's plan
    tokens_seen: int = 0  # real source + target tokens
    pairs_seen: int = 0
    train_seconds: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)


def lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    warmup = min(cfg.warmup_steps, max(1, total // 10))
    if step < warmup:
        return cfg.lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    min_lr = cfg.lr * cfg.min_lr_ratio
    return min_lr + 0.5 * (cfg.lr - min_lr) * (1 + math.cos(math.pi * progress))


def make_optimizer(net: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    decay = [p for p in net.parameters() if p.dim() >= 2]
    no_decay = [p for p in net.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.98), eps=1e-9)


def get_tokenizer(path: Path, corpus: Corpus, vocab_size: int) -> Tokenizer:
    """The joint tokenizer at ``path``, trained first (on the training split only) if missing."""
    if path.is_file():
        return Tokenizer.from_file(path)
    texts = [*corpus.train.english, *(fr for refs in corpus.train.references for fr in refs)]
    tokenizer = train_tokenizer(texts, vocab_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    tokenizer.save(path)
    return tokenizer


def loss_fn(
    logits: torch.Tensor, target: torch.Tensor, smoothing: float, reduction: str = "mean"
) -> torch.Tensor:
    return F.cross_entropy(
        logits.flatten(0, 1).float(),
        target.flatten(),
        ignore_index=-100,
        label_smoothing=smoothing,
        reduction=reduction,
    )


@torch.no_grad()
def valid_loss(net: Seq2SeqNet, data: Encoded, bos: int, max_tokens: int) -> float:
    """Mean nats per target token (EOS included) over the validation pairs, no smoothing."""
    was_training = net.training
    net.eval()
    total, count = 0.0, 0
    for _, batch in iterate_batches(data, batch_plan(data, max_tokens, 0, 0), 0, bos):
        logits = net(batch.src, batch.src_len, batch.tgt_in)
        total += float(loss_fn(logits, batch.tgt_out, 0.0, "sum"))
        count += int((batch.tgt_out != -100).sum())
    net.train(was_training)
    return total / count


def save_state(run_dir: Path, net: Seq2SeqNet, opt: torch.optim.Optimizer, progress: Progress) -> None:
    """Weights, optimiser moments and the random state as safetensors (no pickle), the rest as
    JSON; each written to a temporary file and renamed, so a kill leaves the last good state."""
    run_dir.mkdir(parents=True, exist_ok=True)
    osd = opt.state_dict()
    tensors = {f"model.{k}": v.detach().contiguous() for k, v in net.state_dict().items()}
    for i, slots in osd["state"].items():
        for key, value in slots.items():
            tensors[f"opt.{i}.{key}"] = value.detach().contiguous()
    tensors["rng.torch"] = torch.get_rng_state()
    save_file(tensors, str(run_dir / "state.safetensors.tmp"))
    meta = {"progress": asdict(progress), "param_groups": osd["param_groups"]}
    (run_dir / "state.json.tmp").write_text(json.dumps(meta))
    (run_dir / "state.safetensors.tmp").replace(run_dir / "state.safetensors")
    (run_dir / "state.json.tmp").replace(run_dir / "state.json")


def load_state(run_dir: Path, net: Seq2SeqNet, opt: torch.optim.Optimizer) -> Progress:
    tensors = load_file(str(run_dir / "state.safetensors"))
    meta = json.loads((run_dir / "state.json").read_text())
    net.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("opt."):
            _, i, slot = key.split(".", 2)
            state.setdefault(int(i), {})[slot] = value
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    torch.set_rng_state(tensors["rng.torch"])
    return Progress(**meta["progress"])


def validate(
    net: Seq2SeqNet, tokenizer: Tokenizer, corpus: Corpus, valid: Encoded, cfg: TrainConfig
) -> dict[str, float]:
    net.eval()
    hyps = translate_all(net, tokenizer, corpus.valid.english, beam=1)
    scores = score(hyps, corpus.valid.references)
    net.train()
    loss = valid_loss(net, valid, tokenizer.eot_id, cfg.max_tokens)
    return {"valid_loss": loss, "valid_bleu": scores["bleu"], "valid_chrf": scores["chrf"]}


def train(
    arch: str, overrides: dict[str, Any], cfg: TrainConfig, args: argparse.Namespace
) -> dict[str, Any] | None:
    """Train (or resume) and return the model card; None when stopped early by --stop-after."""
    torch.set_flush_denormal(True)  # denormals slow CPU training 3-4x
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    corpus = load_corpus()
    tokenizer = get_tokenizer(args.tokenizer, corpus, cfg.vocab_size)
    bos = tokenizer.eot_id
    train_data = Encoded.from_pairs(corpus.train.pairs(), tokenizer, cfg.max_len)
    valid_data = Encoded.from_pairs(corpus.valid.pairs(), tokenizer, cfg.max_len)
    model_cfg = {**DEFAULT_CONFIGS[arch], **overrides, "d_vocab": tokenizer.vocab_size}
    net = build_mt_net(arch, model_cfg)
    n_params = sum(p.numel() for p in net.parameters())
    opt = make_optimizer(net, cfg)
    steps_per_epoch = len(batch_plan(train_data, cfg.max_tokens, cfg.seed, 0))
    total = round(cfg.epochs * steps_per_epoch)
    run_dir: Path = args.run_dir or Path("runs") / args.name
    if (run_dir / "state.json").is_file():
        if not args.resume:
            raise SystemExit(f"{run_dir} holds a saved run; pass --resume to continue it or remove it")
        progress = load_state(run_dir, net, opt)
    else:
        progress = Progress()
    net.train()
    bar = tqdm(
        total=total,
        initial=progress.step,
        desc=f"{args.name} ({n_params / 1e6:.2f} M)",
        unit="step",
        dynamic_ncols=True,
        mininterval=5,
    )
    last_save = t_rate = time.time()
    tokens_rate = 0
    while progress.step < total:
        plan = batch_plan(train_data, cfg.max_tokens, cfg.seed, progress.epoch)
        for k, batch in iterate_batches(train_data, plan, progress.batch, bos):
            t0 = time.time()
            for group in opt.param_groups:
                group["lr"] = lr_at(progress.step, total, cfg)
            loss = loss_fn(net(batch.src, batch.src_len, batch.tgt_in), batch.tgt_out, cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
            opt.step()
            progress.step, progress.batch = progress.step + 1, k + 1
            progress.tokens_seen += batch.n_tokens
            progress.pairs_seen += len(batch.src)
            tokens_rate += batch.n_tokens
            bar.update()
            if progress.step % 10 == 0:
                bar.set_postfix(
                    loss=f"{loss.item():.3f}",
                    tok_s=f"{tokens_rate / (time.time() - t_rate):,.0f}",
                    epoch=progress.epoch,
                    lr=f"{group['lr']:.2e}",
                )
                tokens_rate, t_rate = 0, time.time()
            progress.train_seconds += time.time() - t0
            if progress.step % cfg.eval_every == 0 and progress.step < total:  # finish() scores the end
                t0 = time.time()
                metrics = validate(net, tokenizer, corpus, valid_data, cfg)
                progress.history.append(
                    {
                        "step": progress.step,
                        "epoch": progress.epoch,
                        "tokens": progress.tokens_seen,
                        "train_loss": loss.item(),
                        **metrics,
                    }
                )
                bar.write(json.dumps(progress.history[-1]))
                progress.train_seconds += time.time() - t0
                t_rate = time.time()
            if time.time() - last_save > cfg.save_every or progress.step == total:
                save_state(run_dir, net, opt, progress)
                last_save = time.time()
            if args.stop_after and progress.step >= args.stop_after:
                save_state(run_dir, net, opt, progress)
                bar.close()
                return None
            if progress.step == total:
                break
        else:
            progress.epoch, progress.batch = progress.epoch + 1, 0
    bar.close()
    return finish(arch, net, n_params, tokenizer, corpus, valid_data, cfg, progress, args)


def finish(
    arch: str,
    net: Seq2SeqNet,
    n_params: int,
    tokenizer: Tokenizer,
    corpus: Corpus,
    valid_data: Encoded,
    cfg: TrainConfig,
    progress: Progress,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Score the trained network and write its checkpoint and model card."""
    net.eval()
    started = time.time()
    metrics: dict[str, Any] = {
        "valid": evaluate_split(net, tokenizer, corpus.valid, (1,), progress=True)["greedy"]
    }
    if not args.no_test:
        metrics["test"] = evaluate_split(net, tokenizer, corpus.test, progress=True)
    loss = valid_loss(net, valid_data, tokenizer.eot_id, cfg.max_tokens)
    valid = metrics["valid"]
    end = {"valid_loss": loss, "valid_bleu": valid["bleu"], "valid_chrf": valid["chrf"]}
    history = [
        *progress.history,
        {"step": progress.step, "epoch": progress.epoch, "tokens": progress.tokens_seen, **end},
    ]
    card = {
        "name": args.name,
        "arch": arch,
        "family": arch,
        "task": "translation",
        "languages": {"source": "en", "target": "fr"},
        "config": asdict(net.cfg),
        "n_params": n_params,
        "train": {**asdict(cfg), "optimizer": "AdamW (0.9, 0.98), eps 1e-9; warm-up then cosine decay"},
        "data": {
            **corpus.describe(),
            "tokenizer": TOKENIZER_FILE,
            "tokenizer_kind": f"joint English-French byte-level BPE, {tokenizer.vocab_size} tokens, "
            "trained on the training split; BOS = EOS = <|endoftext|> (id 0)",
        },
        "tokens_seen": progress.tokens_seen,
        "pairs_seen": progress.pairs_seen,
        "steps": progress.step,
        "metrics": {**metrics, "valid_loss": loss},
        "history": history,
        "wall_time_s": round(progress.train_seconds, 1),
        "eval_time_s": round(time.time() - started, 1),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "seed": cfg.seed,
        "samples": dict(zip(SAMPLES, translate_all(net, tokenizer, SAMPLES, beam=4), strict=True)),
    }
    save_checkpoint(args.out, args.name, net, card)
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
    parser = argparse.ArgumentParser(prog="python -m models.translation.train", description=__doc__)
    parser.add_argument("--arch", required=True, choices=sorted(DEFAULT_CONFIGS))
    parser.add_argument("--name", help="checkpoint name (default: transformer-enfr or lstm-enfr)")
    parser.add_argument("--out", type=Path, default=MT_DIR, help="where the checkpoint and card go")
    parser.add_argument("--tokenizer", type=Path, default=MT_DIR / TOKENIZER_FILE, help="trained if missing")
    parser.add_argument("--run-dir", type=Path, help="training state (default: runs/NAME)")
    parser.add_argument("--resume", action="store_true", help="continue the run saved in --run-dir")
    parser.add_argument(
        "--stop-after",
        type=int,
        default=0,
        metavar="STEPS",
        help="save the training state after this many steps and exit (no scoring)",
    )
    parser.add_argument("--no-test", action="store_true", help="score the validation split only (sweeps)")
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
    args.name = args.name or NAMES[args.arch]
    cfg = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
    card = train(args.arch, parse_overrides(args.model), cfg, args)
    if card is None:
        print(f"stopped after step {args.stop_after}; continue with --resume")
        return
    m = card["metrics"]
    print(f"{card['name']}: valid greedy BLEU {m['valid']['bleu']:.2f} chrF {m['valid']['chrf']:.2f}")
    for decoding, s in m.get("test", {}).items():
        print(f"  test {decoding}: BLEU {s['bleu']:.2f} chrF {s['chrf']:.2f}")


if __name__ == "__main__":
    main()
