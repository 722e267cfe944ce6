"""The probe suite, ``python -m models.probe`` (or ``attenzione probe``): what each model does
with its context, measured the same way for all four, seeded, on held-out text.

- **copying vs distance**: random common words, repeated after a gap of held-out prose;
  mean surprisal of the second copy ÷ the first (``models.copying``'s copy ratio, with a gap).
- **agreement**: subject-verb number agreement with attractors (``models.agreement``).
- **context length**: held-out loss when each prediction sees only its last k tokens.
- **gradient vs distance**: mean ‖∂ log p(x_{t+1}) / ∂e_{t−d}‖ over held-out windows, per
  distance d (``models.influence``): how fast the gradient vanishes.
- **heads** (models that declare attention): previous-token, first-token, induction and
  duplicate-token scores per head, and each head's ablation cost (``models.ablation``).

The numbers go into each model card under ``"probes"`` (``--no-write-cards`` only prints them),
so ``/api/v1/models`` serves them, and the tables the README shows are printed.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from .ablation import head_ablation_costs
from .agreement import agreement_summary, make_pairs, verb_logit_margins
from .checkpoint import ARCHS, CHECKPOINT_DIR, TOKENIZER_FILE
from .copying import CopyProbe, common_words, induction_scores
from .data import Corpus, load_corpus
from .evaluate import Stream
from .influence import gradient_maps, target_logp
from .lm import LanguageModel, load_model
from .net import TracedNet
from .probe_tables import tables
from .tokenizer import Tokenizer
from .transformer import Transformer

Tensor = torch.Tensor
PROBES_VERSION = 1


@dataclass(frozen=True)
class ProbeConfig:
    seed: int = 0
    copy_words: int = 20  # distinct words per copied sequence
    copy_sequences: int = 32
    gaps: tuple[int, ...] = (0, 16, 64, 200)  # tokens of held-out prose between the copies
    agreement_pairs: int = 240  # per structure × number of attractors
    context_ks: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 255)
    context_targets: int = 512  # held-out tokens predicted at every k
    gradient_windows: int = 4  # held-out windows of gradient_length + 1 tokens
    gradient_length: int = 256
    head_windows: int = 8  # held-out windows for the previous- and first-token scores
    ablation_tokens: int = 16384  # held-out tokens scored with each head zeroed


QUICK = ProbeConfig(
    copy_sequences=8,
    agreement_pairs=40,
    context_targets=64,
    gradient_windows=1,
    head_windows=2,
    ablation_tokens=2048,
)


@dataclass(frozen=True)
class ProbeData:
    """The held-out stream (books joined by end-of-text) and the common-word pool."""

    valid: Tensor  # int64[N]
    pool: tuple[int, ...]  # single-token common words of the training split (models.copying)
    eot_id: int

    @classmethod
    def load(cls, tokenizer: Tokenizer, corpus: Corpus | None = None) -> ProbeData:
        corpus = corpus or load_corpus()
        valid = Stream.from_texts(corpus.valid, tokenizer).ids
        return cls(valid, tuple(common_words(corpus.train, tokenizer)), tokenizer.eot_id)

    def windows(self, count: int, length: int, gen: torch.Generator) -> Tensor:
        """``count`` distinct random windows [count, length] of held-out text inside one book."""
        eot = torch.cat([torch.zeros(1, dtype=torch.long), (self.valid == self.eot_id).long().cumsum(0)])
        starts = torch.arange(len(self.valid) - length + 1)
        starts = starts[eot[starts + length] == eot[starts]]  # no end-of-text inside
        if len(starts) < count:
            raise ValueError(f"the held-out text has fewer than {count} windows of {length} tokens")
        chosen = starts[torch.randperm(len(starts), generator=gen)[:count]]
        return self.valid[chosen[:, None] + torch.arange(length)]


def generator(cfg: ProbeConfig, probe: str) -> torch.Generator:
    """A generator per probe, so each probe's draws stay the same when another one changes."""
    return torch.Generator().manual_seed(cfg.seed * 1000 + sum(map(ord, probe)))


def _nll(net: TracedNet, seqs: Tensor, batch: int = 8) -> Tensor:
    """Nats of every next token of ``seqs`` [S, L]: [S, L - 1]."""
    out = [
        F.cross_entropy(net(x[:, :-1]).transpose(1, 2), x[:, 1:], reduction="none") for x in seqs.split(batch)
    ]
    return torch.cat(out)


def _bootstrap_ratio(first: Tensor, second: Tensor, gen: torch.Generator, n: int = 1000) -> list[float]:
    """95% interval of mean(second) / mean(first) over resampled sequences."""
    idx = torch.randint(0, len(first), (n, len(first)), generator=gen)
    ratios = second[idx].mean(1) / first[idx].mean(1)
    return [float(ratios.quantile(0.025)), float(ratios.quantile(0.975))]


@torch.no_grad()
def copying_vs_distance(net: TracedNet, data: ProbeData, cfg: ProbeConfig) -> dict[str, Any]:
    """Per gap: the copy ratio (second-copy ÷ first-copy mean surprisal) and its 95% interval;
    None where [EOT, copy, gap, copy] does not fit the model's context."""
    gen = generator(cfg, "copying")
    pool, m, s = torch.tensor(data.pool), cfg.copy_words, cfg.copy_sequences
    words = torch.stack([pool[torch.randperm(len(pool), generator=gen)[:m]] for _ in range(s)])
    filler = data.windows(s, max(cfg.gaps), gen)
    eot = torch.full((s, 1), data.eot_id)
    rows: list[dict[str, Any] | None] = []
    for gap in cfg.gaps:
        if 1 + 2 * m + gap > net.spec.n_ctx:
            rows.append(None)
            continue
        nll = _nll(net, torch.cat([eot, words, filler[:, :gap], words], 1))
        first, second = nll[:, :m].mean(1), nll[:, m + gap : 2 * m + gap].mean(1)
        rows.append(
            {
                "gap": gap,
                "ratio": float(second.mean() / first.mean()),
                "ci95": _bootstrap_ratio(first, second, gen),
                "first_nats": float(first.mean()),
                "second_nats": float(second.mean()),
            }
        )
    return {"words": m, "sequences": s, "gaps": list(cfg.gaps), "results": rows}


def agreement(lm: LanguageModel, cfg: ProbeConfig) -> dict[str, Any]:
    pairs = make_pairs(cfg.agreement_pairs, cfg.seed)
    margins = verb_logit_margins(lm.net, lm.tokenizer, pairs)
    return {"pairs_per_condition": cfg.agreement_pairs, "conditions": agreement_summary(pairs, margins)}


@torch.no_grad()
def context_length(net: TracedNet, data: ProbeData, cfg: ProbeConfig) -> dict[str, Any]:
    """Mean held-out loss (nats) of the same tokens predicted from exactly their last k tokens."""
    ks = [k for k in cfg.context_ks if k <= net.spec.n_ctx]
    windows = data.windows(cfg.context_targets, max(ks) + 1, generator(cfg, "context"))
    targets = windows[:, -1]
    rows = []
    for k in ks:
        batch = max(1, 8192 // k)  # contexts per forward pass
        logp = [
            target_logp(net, net.features(net.wte(x))[:, -1], y)
            for x, y in zip(windows[:, -1 - k : -1].split(batch), targets.split(batch), strict=True)
        ]
        loss = -torch.cat(logp).double()
        mean, half = float(loss.mean()), 1.96 * float(loss.std()) / math.sqrt(len(loss))
        rows.append({"k": k, "loss": mean, "ci95": [mean - half, mean + half]})
    return {"targets": cfg.context_targets, "results": rows}


def gradient_vs_distance(net: TracedNet, data: ProbeData, cfg: ProbeConfig) -> dict[str, Any]:
    """Mean gradient norm ‖∂ log p(x_{t+1}) / ∂e_{t−d}‖ for d = 0 … n − 1 over held-out windows
    of n + 1 tokens (n = gradient_length, or the model's n_ctx if smaller)."""
    n = min(cfg.gradient_length, net.spec.n_ctx)
    sums = torch.zeros(n, dtype=torch.float64)
    counts = torch.zeros(n, dtype=torch.float64)
    for w in data.windows(cfg.gradient_windows, n + 1, generator(cfg, "gradient")):
        _, norms, _ = gradient_maps(net, w[:n], w[1:])  # [n, n], row t = prediction of x_{t+1}
        for d in range(n):
            diagonal = norms.diagonal(-d)  # entries [t, t - d]
            sums[d] += float(diagonal.sum())
            counts[d] += len(diagonal)
    return {"windows": cfg.gradient_windows, "length": n, "mean_grad_norm": (sums / counts).tolist()}


@torch.no_grad()
def duplicate_scores(net: TracedNet, probe: CopyProbe) -> Tensor:
    """float32[n_layers, n_heads]: mean attention from each second-copy token to the same token
    in the first copy (t to t − n) over ``probe.induction``."""
    n = (probe.induction.shape[1] - 1) // 2
    t = torch.arange(n + 1, 2 * n + 1)
    kind = net.spec.attention[0].name
    scores = [
        net.forward_trace(seq[None])[1]["attention"][kind][:, :, t, t - n].mean(-1) for seq in probe.induction
    ]
    return torch.stack(scores).mean(0)


@torch.no_grad()
def positional_scores(net: TracedNet, windows: Tensor) -> tuple[Tensor, Tensor]:
    """Mean attention to the previous token and to the first token, queries 1 … T − 1: each
    float32[n_layers, n_heads]."""
    kind = net.spec.attention[0].name
    t = torch.arange(1, windows.shape[1])
    previous, first = [], []
    for w in windows:
        pattern = net.forward_trace(w[None])[1]["attention"][kind]  # [L, H, T, T]
        previous.append(pattern[:, :, t, t - 1].mean(-1))
        first.append(pattern[:, :, t, 0].mean(-1))
    return torch.stack(previous).mean(0), torch.stack(first).mean(0)


def heads(net: TracedNet, data: ProbeData, cfg: ProbeConfig) -> dict[str, Any] | None:
    """Per-head scores of a model that declares attention (None otherwise)."""
    if not net.spec.attention:
        return None
    if not isinstance(net, Transformer):
        raise TypeError("head ablation needs a models.transformer.Transformer")
    n = min(256, net.spec.n_ctx)
    previous, first = positional_scores(net, data.windows(cfg.head_windows, n, generator(cfg, "heads")))
    probe = CopyProbe.for_context(list(data.pool), data.eot_id, net.spec.n_ctx)
    ablation = head_ablation_costs(net, data.valid[: cfg.ablation_tokens + 1], data.eot_id, window=n)
    scores = {
        "previous_token": previous,
        "first_token": first,
        "induction": induction_scores(net, probe),
        "duplicate_token": duplicate_scores(net, probe),
        "ablation_bits": ablation,
    }
    return {name: v.tolist() for name, v in scores.items()} | {"ablation_tokens": cfg.ablation_tokens}


def probe_model(
    lm: LanguageModel, data: ProbeData, cfg: ProbeConfig
) -> tuple[dict[str, Any], dict[str, float]]:
    """Every probe on one model: its results (for the card) and the seconds each took."""
    results: dict[str, Any] = {"version": PROBES_VERSION, "config": asdict(cfg)}
    seconds = {}
    probes = {
        "copying_vs_distance": lambda: copying_vs_distance(lm.net, data, cfg),
        "agreement": lambda: agreement(lm, cfg),
        "context_length": lambda: context_length(lm.net, data, cfg),
        "gradient_vs_distance": lambda: gradient_vs_distance(lm.net, data, cfg),
        "heads": lambda: heads(lm.net, data, cfg),
    }
    for name, run in probes.items():
        start = time.perf_counter()
        results[name] = run()
        seconds[name] = time.perf_counter() - start
    return _rounded(results), seconds


def _rounded(value: Any, digits: int = 5) -> Any:
    """Floats to ``digits`` significant digits, for compact cards; NaN and infinity (which JSON
    lacks) to None."""
    if isinstance(value, float):
        return float(f"{value:.{digits}g}") if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v, digits) for v in value]
    return value


def write_card(folder: Path, name: str, probes: dict[str, Any]) -> None:
    """Set ``probes`` in ``folder/name.json``, keeping everything else in the card."""
    path = folder / f"{name}.json"
    card = json.loads(path.read_text())
    card["probes"] = probes
    path.write_text(json.dumps(card, indent=2) + "\n")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", nargs="+", choices=ARCHS, default=list(ARCHS), help="default: all four")
    parser.add_argument(
        "--write-cards",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="store results in NAME.json",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    parser.add_argument("--quick", action="store_true", help="small sample sizes, for a smoke test")


def run(folder: Path, args: argparse.Namespace) -> int:
    """Probe ``args.models`` in ``folder``, print the tables, and write the cards if asked."""
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    cfg = replace(QUICK if args.quick else ProbeConfig(), seed=args.seed)
    tokenizer = Tokenizer.from_file(folder / TOKENIZER_FILE)
    data = ProbeData.load(tokenizer)
    results = {}
    for name in args.models:
        if not (folder / f"{name}.json").is_file():
            print(f"{name}: skipped, {folder / f'{name}.json'} not found")
            continue
        lm = load_model(name, folder, tokenizer)
        results[name], seconds = probe_model(lm, data, cfg)
        timing = ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items())
        print(f"{name}: {sum(seconds.values()):.1f} s ({timing})", flush=True)
        if args.write_cards:
            write_card(folder, name, results[name])
    print()
    print(tables(results))
    print(f"\nall probes: {time.perf_counter() - start:.0f} s, torch {torch.get_num_threads()} thread(s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.probe", description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", type=Path, default=CHECKPOINT_DIR, help="checkpoints and tokenizer")
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run(args.folder, args)


if __name__ == "__main__":
    raise SystemExit(main())
