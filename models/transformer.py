"""Decoder-only Transformer language model (GPT-style, pre-LayerNorm, tied embeddings).

Two paths share one set of weights: ``forward`` (training; fused scaled_dot_product_attention)
and ``forward_trace`` (attention written out as softmax(QKᵀ/√d_k + causal mask)·V, returning
the weights it used). A test proves the two agree.

Optional smeared keys (Olsson et al. 2022, "In-context learning and induction heads"): each
head mixes every key with the one before it, k'_j = σ(α_h)·k_j + (1 − σ(α_h))·k_{j−1}, with
a learned α_h per head and k_{−1} = k_0 (the first key is its own predecessor). A single
layer can then match "the token before j is my token" and copy the token at j, so induction
heads need no previous-token head in an earlier layer. Both paths attend with the smeared
keys; the pattern returned is the one used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .net import Internals, TracedNet
from .spec import AttentionKind, ModelSpec


@dataclass
class TransformerConfig:
    d_vocab: int = 4096  # tokenizer vocabulary
    n_ctx: int = 256  # longest sequence, in tokens
    n_layers: int = 4
    n_heads: int = 4
    d_model: int = 128
    d_mlp: int = 512
    dropout: float = 0.1  # on embeddings and residual branches; none on attention weights
    smear_keys: bool = False  # learned per-head mix of each key with the previous one
    smear_init: float = 0.0  # initial α_h; σ(0) = 0.5 weighs k_j and k_{j-1} equally

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Causal scaled dot-product attention, written out. q, k, v: [B, nh, T, dh].

    Returns (output [B, nh, T, dh], pattern [B, nh, T(query), T(key)]).
    """
    t = q.shape[-2]
    attn_scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # [B, nh, T, T]
    future = torch.ones(t, t, dtype=torch.bool, device=q.device).triu(1)
    attn_scores = attn_scores.masked_fill(future, float("-inf"))
    pattern = torch.softmax(attn_scores, dim=-1)  # exact zeros above the diagonal
    return pattern @ v, pattern


def smear(k: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Smeared keys: k [B, nh, T, dh], alpha [nh] -> σ(α)·k_j + (1 − σ(α))·k_{j−1}, k_{−1} = k_0."""
    keep = torch.sigmoid(alpha)[:, None, None]  # [nh, 1, 1]
    previous = torch.cat([k[:, :, :1], k[:, :, :-1]], dim=2)  # [B, nh, T, dh], k_{j-1}
    return keep * k + (1 - keep) * previous


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.n_heads = cfg.n_heads
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.smear = nn.Parameter(torch.full((cfg.n_heads,), cfg.smear_init)) if cfg.smear_keys else None

    def split_heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x: [B, T, d_model] -> q, k (smeared if configured), v each [B, nh, T, dh]."""
        b, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=2)
        shape = (b, t, self.n_heads, d // self.n_heads)
        q, k, v = q.view(shape).transpose(1, 2), k.view(shape).transpose(1, 2), v.view(shape).transpose(1, 2)
        if self.smear is not None:
            k = smear(k, self.smear)
        return q, k, v

    def merge_heads(self, y: torch.Tensor) -> torch.Tensor:
        b, nh, t, dh = y.shape
        return self.proj(y.transpose(1, 2).reshape(b, t, nh * dh))  # [B, T, d_model]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.split_heads(x)
        return self.merge_heads(F.scaled_dot_product_attention(q, k, v, is_causal=True))

    def forward_trace(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y, pattern = attention(*self.split_heads(x))
        return self.merge_heads(y), pattern


class Block(nn.Module):
    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.d_model)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.d_model)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.d_model, cfg.d_mlp), nn.GELU(), nn.Linear(cfg.d_mlp, cfg.d_model)
        )
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.attn(self.ln_1(x)))
        return x + self.drop(self.mlp(self.ln_2(x)))

    def forward_trace(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a, pattern = self.attn.forward_trace(self.ln_1(x))
        x = x + a
        return x + self.mlp(self.ln_2(x)), pattern


class Transformer(TracedNet):
    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.d_vocab, cfg.d_model)
        self.wpe = nn.Embedding(cfg.n_ctx, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks: nn.ModuleList = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.apply(self._init)
        for name, p in self.named_parameters():
            if name.endswith(("attn.proj.weight", "mlp.2.weight")):  # GPT-2 scaled init
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * cfg.n_layers))

    @property
    def spec(self) -> ModelSpec:
        cfg = self.cfg
        self_attention = AttentionKind("self", True, "input", "input", cfg.n_layers, cfg.n_heads)
        return ModelSpec(
            architecture="transformer",
            n_layers=cfg.n_layers,
            n_heads=cfg.n_heads,
            width=cfg.d_model,
            n_ctx=cfg.n_ctx,
            d_vocab=cfg.d_vocab,
            parts=("attention", "resid", "predictions", "logits"),
            attention=(self_attention,),
        )

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)

    def embed(self, idx: torch.Tensor) -> torch.Tensor:
        """idx [B, T] -> resid_pre of layer 0, [B, T, d_model]."""
        pos = torch.arange(idx.shape[1], device=idx.device)
        return self.wte(idx) + self.wpe(pos)

    def unembed(self, x: torch.Tensor) -> torch.Tensor:
        return self.ln_f(x) @ self.wte.weight.T  # tied: [B, T, d_vocab]

    def features(self, tok_emb: torch.Tensor) -> torch.Tensor:
        """Token embeddings [B, T, d_model] -> resid_post of the last block; block 0 reads
        tok_emb + wpe. Attention is written out (as in ``forward_trace``), so ``torch.func``
        can batch a backward pass through it."""
        x = self.drop(tok_emb + self.wpe(torch.arange(tok_emb.shape[1], device=tok_emb.device)))
        for block in self.blocks:
            assert isinstance(block, Block)
            x = block.forward_trace(x)[0]
        return x

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.embed(idx))
        for block in self.blocks:
            x = block(x)
        return self.unembed(x)

    def forward_trace(self, idx: torch.Tensor) -> tuple[torch.Tensor, Internals]:
        """idx [1, T] -> logits [T, d_vocab] and the internals, batch dimension dropped."""
        x = self.embed(idx)
        resid, patterns = [], []
        for block in self.blocks:
            assert isinstance(block, Block)
            x, pattern = block.forward_trace(x)
            resid.append(x[0])
            patterns.append(pattern[0])
        internals = {
            "attention": {"self": torch.stack(patterns)},  # [n_layers, n_heads, T, T]
            "states": {"resid": torch.stack(resid)},  # [n_layers, T, d_model] (resid_post)
        }
        return self.unembed(x)[0], internals
