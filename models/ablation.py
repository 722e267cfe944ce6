"""Head ablation: how much held-out loss a Transformer loses when one head's output is zeroed.

``python -m models.ablation`` prints, for the shipped Transformer, the cost of each head in
bits per token on the whole held-out text (a dead head costs about nothing).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from .checkpoint import CHECKPOINT_DIR, TOKENIZER_FILE, load_net
from .data import load_corpus
from .evaluate import Stream, score
from .tokenizer import Tokenizer
from .transformer import Block, Transformer


def _zero_head(
    d_head: int, head: int
) -> Callable[[nn.Module, tuple[torch.Tensor, ...]], tuple[torch.Tensor, ...]]:
    """A forward pre-hook for ``attn.proj`` that zeroes one head's slice of its input (the heads'
    outputs side by side), so the head adds nothing to the residual stream."""

    def hook(module: nn.Module, args: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        z = args[0].clone()
        z[..., head * d_head : (head + 1) * d_head] = 0.0
        return (z,)

    return hook


def head_ablation_costs(net: Transformer, ids: torch.Tensor, eot_id: int, window: int = 256) -> torch.Tensor:
    """float64[n_layers, n_heads]: held-out loss with the head zeroed minus without, in bits/token."""
    base = score(net, ids, eot_id, window).loss
    costs = torch.zeros(net.cfg.n_layers, net.cfg.n_heads, dtype=torch.float64)
    for layer, block in enumerate(net.blocks):
        assert isinstance(block, Block)
        for head in range(net.cfg.n_heads):
            handle = block.attn.proj.register_forward_pre_hook(_zero_head(net.cfg.d_head, head))
            try:
                costs[layer, head] = (score(net, ids, eot_id, window).loss - base) / math.log(2)
            finally:
                handle.remove()
    return costs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m models.ablation", description=__doc__)
    parser.add_argument("--name", default="transformer")
    parser.add_argument("--folder", type=Path, default=CHECKPOINT_DIR)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    net, card = load_net(args.folder, args.name)
    assert isinstance(net, Transformer), "head ablation needs a Transformer"
    tokenizer = Tokenizer.from_file(args.folder / TOKENIZER_FILE)
    valid = Stream.from_texts(load_corpus().valid, tokenizer)
    costs = head_ablation_costs(net, valid.ids, tokenizer.eot_id, card["train"]["seq_len"])
    induction = card["metrics"].get("copying", {}).get("induction")
    print("| layer.head | ablation cost (bits/token) | induction score |\n|---|---:|---:|")
    for layer, row in enumerate(costs.tolist()):
        for head, cost in enumerate(row):
            ind = f"{induction[layer][head]:.2f}" if induction else "–"
            print(f"| {layer}.{head} | {cost:.4f} | {ind} |")


if __name__ == "__main__":
    main()
