"""Transformer encoder–decoder for translation, as in Vaswani et al. (2017), pre-LayerNorm.

Sinusoidal positions; encoder self-attention, decoder masked self-attention and
cross-attention; one joint vocabulary whose embedding is shared by source, target and the
output projection. Three paths share the weights: ``forward`` (training; fused
scaled_dot_product_attention), ``forward_trace`` (teacher forcing with attention written out
as softmax(QKᵀ/√d_k + mask)·V, returning the weights it used) and ``step`` (one decoding
step with cached keys and values, for greedy and beam search). Tests prove the three agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..net import Internals
from ..spec import AttentionKind, ModelSpec
from .net import Memory, Seq2SeqNet, State, key_padding

MAX_POSITIONS = 1024  # sinusoid table length: source and target positions


@dataclass
class MTTransformerConfig:
    d_vocab: int = 8000  # joint English–French vocabulary
    n_ctx: int = 128  # longest source, in tokens with its EOS
    n_layers: int = 3  # encoder layers, and as many decoder layers
    n_heads: int = 4
    d_model: int = 128
    d_mlp: int = 512
    dropout: float = 0.1  # on embeddings and residual branches; none on attention weights

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads


def attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, masked: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention written out. q [B, nh, Q, dh], k and v [B, nh, K, dh];
    ``masked`` (bool, True = not attended) broadcasts to [B, nh, Q, K].

    Returns (output [B, nh, Q, dh], pattern [B, nh, Q, K]); masked keys get exact zeros.
    """
    attn_scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # [B, nh, Q, K]
    if masked is not None:
        attn_scores = attn_scores.masked_fill(masked, float("-inf"))
    pattern = torch.softmax(attn_scores, dim=-1)
    return pattern @ v, pattern


def sinusoids(n: int, d: int) -> torch.Tensor:
    """The paper's positional encoding, [n, d]: sin on even dims, cos on odd."""
    pos = torch.arange(n, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10_000.0) / d))
    table = torch.zeros(n, d)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq)
    return table


class MultiHeadAttention(nn.Module):
    """Queries from x; keys and values from x (self) or from the encoder output (cross)."""

    def __init__(self, cfg: MTTransformerConfig) -> None:
        super().__init__()
        self.n_heads = cfg.n_heads
        self.q = nn.Linear(cfg.d_model, cfg.d_model)
        self.kv = nn.Linear(cfg.d_model, 2 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)

    def heads(self, x: torch.Tensor) -> torch.Tensor:
        """[B, T, d_model] -> [B, nh, T, dh]."""
        b, t, d = x.shape
        return x.view(b, t, self.n_heads, d // self.n_heads).transpose(1, 2)

    def keys_values(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k, v = self.kv(x).chunk(2, dim=-1)
        return self.heads(k), self.heads(v)  # each [B, nh, K, dh]

    def merge(self, y: torch.Tensor) -> torch.Tensor:
        b, nh, t, dh = y.shape
        return self.proj(y.transpose(1, 2).reshape(b, t, nh * dh))  # [B, T, d_model]

    def forward(
        self, x: torch.Tensor, kv: torch.Tensor, attend: torch.Tensor | None, causal: bool = False
    ) -> torch.Tensor:
        """Fast path; ``attend`` (bool, True = attended) broadcasts to [B, nh, Q, K]."""
        k, v = self.keys_values(kv)
        y = F.scaled_dot_product_attention(self.heads(self.q(x)), k, v, attn_mask=attend, is_causal=causal)
        return self.merge(y)

    def forward_trace(
        self, x: torch.Tensor, k: torch.Tensor, v: torch.Tensor, masked: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        y, pattern = attention(self.heads(self.q(x)), k, v, masked)
        return self.merge(y), pattern


def _mlp(cfg: MTTransformerConfig) -> nn.Sequential:
    return nn.Sequential(nn.Linear(cfg.d_model, cfg.d_mlp), nn.GELU(), nn.Linear(cfg.d_mlp, cfg.d_model))


class EncoderLayer(nn.Module):
    def __init__(self, cfg: MTTransformerConfig) -> None:
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(cfg.d_model), nn.LayerNorm(cfg.d_model)
        self.attn = MultiHeadAttention(cfg)
        self.mlp = _mlp(cfg)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, attend: torch.Tensor) -> torch.Tensor:
        h = self.ln_1(x)
        x = x + self.drop(self.attn(h, h, attend))
        return x + self.drop(self.mlp(self.ln_2(x)))

    def forward_trace(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.ln_1(x)
        a, pattern = self.attn.forward_trace(h, *self.attn.keys_values(h), None)
        x = x + a
        return x + self.mlp(self.ln_2(x)), pattern


class DecoderLayer(nn.Module):
    def __init__(self, cfg: MTTransformerConfig) -> None:
        super().__init__()
        self.ln_1, self.ln_2, self.ln_3 = (nn.LayerNorm(cfg.d_model) for _ in range(3))
        self.self_attn = MultiHeadAttention(cfg)
        self.cross_attn = MultiHeadAttention(cfg)
        self.mlp = _mlp(cfg)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, attend: torch.Tensor) -> torch.Tensor:
        h = self.ln_1(x)
        x = x + self.drop(self.self_attn(h, h, None, causal=True))
        x = x + self.drop(self.cross_attn(self.ln_2(x), memory, attend))
        return x + self.drop(self.mlp(self.ln_3(x)))

    def forward_trace(
        self,
        x: torch.Tensor,
        self_kv: tuple[torch.Tensor, torch.Tensor],
        cross_kv: tuple[torch.Tensor, torch.Tensor],
        future: torch.Tensor | None,
        src_masked: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x [B, Q, d_model]; keys and values given (so ``step`` can pass its cache).
        Returns x and the self and cross patterns, [B, nh, Q, K] each."""
        a, self_pattern = self.self_attn.forward_trace(self.ln_1(x), *self_kv, future)
        x = x + a
        a, cross_pattern = self.cross_attn.forward_trace(self.ln_2(x), *cross_kv, src_masked)
        x = x + a
        return x + self.mlp(self.ln_3(x)), self_pattern, cross_pattern


class MTTransformer(Seq2SeqNet):
    def __init__(self, cfg: MTTransformerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.d_vocab, cfg.d_model)  # source, target and output, tied
        self.register_buffer("pos", sinusoids(MAX_POSITIONS, cfg.d_model), persistent=False)
        self.drop = nn.Dropout(cfg.dropout)
        self.encoder: nn.ModuleList = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.n_layers))
        self.decoder: nn.ModuleList = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.n_layers))
        self.ln_enc, self.ln_dec = nn.LayerNorm(cfg.d_model), nn.LayerNorm(cfg.d_model)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
        nn.init.normal_(self.wte.weight, std=cfg.d_model**-0.5)

    @property
    def spec(self) -> ModelSpec:
        cfg = self.cfg
        layers, heads = cfg.n_layers, cfg.n_heads
        return ModelSpec(
            architecture="transformer",
            n_layers=layers,
            n_heads=heads,
            width=cfg.d_model,
            n_ctx=cfg.n_ctx,
            d_vocab=cfg.d_vocab,
            parts=("attention", "resid", "predictions", "logits"),
            attention=(
                AttentionKind("encoder_self", False, "source", "source", layers, heads),
                AttentionKind("decoder_self", True, "target", "target", layers, heads),
                AttentionKind("cross", False, "target", "source", layers, heads),
            ),
            roles=("source", "target"),
            output_role="target",
        )

    def embed(self, idx: torch.Tensor, start: int = 0) -> torch.Tensor:
        """idx [B, T] at positions start.. -> [B, T, d_model]: √d_model·embedding + sinusoid."""
        pos: torch.Tensor = self.pos[start : start + idx.shape[1]]  # type: ignore[index]
        return self.wte(idx) * math.sqrt(self.cfg.d_model) + pos

    def unembed(self, x: torch.Tensor) -> torch.Tensor:
        return self.ln_dec(x) @ self.wte.weight.T  # [..., d_vocab]

    def forward(self, src: torch.Tensor, src_len: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """Training path: src [B, S], src_len [B], tgt_in [B, T] -> logits [B, T, d_vocab]."""
        attend = ~key_padding(src_len, src.shape[1])[:, None, None, :]  # [B, 1, 1, S]
        x = self.drop(self.embed(src))
        for layer in self.encoder:
            x = layer(x, attend)
        memory = self.ln_enc(x)
        y = self.drop(self.embed(tgt_in))
        for layer in self.decoder:
            y = layer(y, memory, attend)
        return self.unembed(y)

    def encode_trace(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """src [1, S] -> memory [1, S, d_model] and encoder patterns [n_layers, nh, S, S]."""
        x, patterns = self.embed(src), []
        for layer in self.encoder:
            assert isinstance(layer, EncoderLayer)
            x, pattern = layer.forward_trace(x)
            patterns.append(pattern[0])
        return self.ln_enc(x), torch.stack(patterns)

    def decoder_layers(self) -> list[DecoderLayer]:
        return [layer for layer in self.decoder if isinstance(layer, DecoderLayer)]

    def cross_kv(self, memory: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return [layer.cross_attn.keys_values(memory) for layer in self.decoder_layers()]

    def forward_trace(self, src: torch.Tensor, tgt: torch.Tensor) -> tuple[torch.Tensor, Internals]:
        """Teacher forcing of one pair: src [1, S], tgt [1, T] (BOS y1 .. ) -> logits [T, d_vocab]
        and every attention pattern and the decoder's residual stream (batch dropped)."""
        memory, enc_patterns = self.encode_trace(src)
        t = tgt.shape[1]
        future = torch.ones(t, t, dtype=torch.bool).triu(1)
        y, self_patterns, cross_patterns, resid = self.embed(tgt), [], [], []
        for layer, cross_kv in zip(self.decoder_layers(), self.cross_kv(memory), strict=True):
            h = layer.ln_1(y)
            y, sp, cp = layer.forward_trace(y, layer.self_attn.keys_values(h), cross_kv, future, None)
            self_patterns.append(sp[0])
            cross_patterns.append(cp[0])
            resid.append(y[0])
        internals = {
            "attention": {
                "encoder_self": enc_patterns,  # [n_layers, nh, S, S]
                "decoder_self": torch.stack(self_patterns),  # [n_layers, nh, T, T]
                "cross": torch.stack(cross_patterns),  # [n_layers, nh, T, S]
            },
            "states": {"resid": torch.stack(resid)},  # [n_layers, T, d_model], resid_post
        }
        return self.unembed(y)[0], internals

    def encode(self, src: torch.Tensor) -> Memory:
        memory, _ = self.encode_trace(src)
        return {"cross_kv": self.cross_kv(memory)}

    def start(self, memory: Memory, batch: int) -> State:
        kv = [(k.expand(batch, -1, -1, -1), v.expand(batch, -1, -1, -1)) for k, v in memory["cross_kv"]]
        empty = torch.zeros(batch, self.cfg.n_heads, 0, self.cfg.d_head)
        return {"cross_kv": kv, "self_kv": [(empty, empty)] * self.cfg.n_layers, "t": 0}

    def step(self, state: State, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, State]:
        """y [B] at position state["t"] -> logits [B, d_vocab], cross patterns
        [B, n_layers, nh, S] and the next state (keys and values cached, none recomputed)."""
        x = self.embed(y[:, None], state["t"])  # [B, 1, d_model]
        self_kv, crosses = [], []
        for layer, (k_past, v_past), cross_kv in zip(
            self.decoder_layers(), state["self_kv"], state["cross_kv"], strict=True
        ):
            k, v = layer.self_attn.keys_values(layer.ln_1(x))
            kv = (torch.cat([k_past, k], dim=2), torch.cat([v_past, v], dim=2))
            x, _, cross = layer.forward_trace(x, kv, cross_kv, None, None)
            self_kv.append(kv)
            crosses.append(cross[:, :, 0])  # [B, nh, S]
        new_state = {**state, "self_kv": self_kv, "t": state["t"] + 1}
        return self.unembed(x[:, 0]), torch.stack(crosses, dim=1), new_state

    def reorder(self, state: State, rows: torch.Tensor) -> State:
        kv = [(k[rows], v[rows]) for k, v in state["self_kv"]]
        cross = [(k[rows], v[rows]) for k, v in state["cross_kv"]]
        return {**state, "self_kv": kv, "cross_kv": cross}
