"""LSTM encoder–decoder with additive attention (Bahdanau, Cho and Bengio, 2015).

A bidirectional LSTM reads the source into annotations h_j = [→h_j; ←h_j]. At each target
step the decoder's previous state s_{t-1} scores every annotation with
e_tj = vᵀ·tanh(W_q·s_{t-1} + W_k·h_j + b), the softmax over j is the alignment a_t, and the
context c_t = Σ_j a_tj·h_j is fed with the embedding of the previous target token y_t into
the decoder LSTM: s_t = LSTM([E·y_t; c_t], s_{t-1}). The output tanh(W_o·[s_t; c_t; E·y_t])
scores the next token through the shared embedding (source, target and output are tied).

``forward`` (training) runs ``nn.LSTMCell``; ``step`` writes the cell out and returns its
gates i, f, g, o, so the trace carries h, c, gates and the alignment of every step; tests
check them against an independent float64 recomputation and the training path.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..net import Internals
from ..spec import AttentionKind, ModelSpec
from .net import Memory, Seq2SeqNet, State, key_padding

GATES = ("i", "f", "g", "o")  # PyTorch's row order in the LSTM weights


@dataclass
class MTLSTMConfig:
    d_vocab: int = 8000  # joint English–French vocabulary
    n_ctx: int = 128  # longest source, in tokens with its EOS
    d_embed: int = 128  # shared embedding width
    d_encoder: int = 128  # each direction of the bidirectional encoder
    d_hidden: int = 256  # decoder LSTM state
    d_attn: int = 256  # additive attention's hidden layer
    dropout: float = 0.2  # on embeddings, annotations and the output layer


def lstm_cell(
    cell: nn.LSTMCell, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    """One LSTM step written out with ``cell``'s weights: x [B, d_in], h and c [B, d]."""
    pre = x @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh  # [B, 4d]
    i, f, g, o = pre.chunk(4, dim=-1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c = f * c + i * g
    return o * torch.tanh(c), c, {"i": i, "f": f, "g": g, "o": o}


class MTLSTM(Seq2SeqNet):
    def __init__(self, cfg: MTLSTMConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d_ann = 2 * cfg.d_encoder
        self.wte = nn.Embedding(cfg.d_vocab, cfg.d_embed)
        self.encoder = nn.LSTM(cfg.d_embed, cfg.d_encoder, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(d_ann, cfg.d_hidden)  # s_0 = tanh(W·[→h_last; ←h_first])
        self.att_query = nn.Linear(cfg.d_hidden, cfg.d_attn, bias=False)
        self.att_key = nn.Linear(d_ann, cfg.d_attn)
        self.att_v = nn.Linear(cfg.d_attn, 1, bias=False)
        self.cell = nn.LSTMCell(cfg.d_embed + d_ann, cfg.d_hidden)
        self.out = nn.Linear(cfg.d_hidden + d_ann + cfg.d_embed, cfg.d_embed)
        self.drop = nn.Dropout(cfg.dropout)
        nn.init.normal_(self.wte.weight, std=cfg.d_embed**-0.5)
        biases = [getattr(self.encoder, n) for n in ("bias_ih_l0", "bias_ih_l0_reverse")] + [
            self.cell.bias_ih
        ]
        for bias in biases:
            d = bias.shape[0] // 4
            nn.init.ones_(bias.data[d : 2 * d])  # forget gates open at first

    @property
    def spec(self) -> ModelSpec:
        cfg = self.cfg
        return ModelSpec(
            architecture="lstm",
            n_layers=1,
            n_heads=None,
            width=cfg.d_hidden,
            n_ctx=cfg.n_ctx,
            d_vocab=cfg.d_vocab,
            parts=("attention", "h", "c", "gates", "predictions", "logits"),
            gates=GATES,
            attention=(AttentionKind("cross", False, "target", "source", 1, 1),),
            roles=("source", "target"),
            output_role="target",
        )

    def annotate(self, src: torch.Tensor, src_len: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """src [B, S] -> annotations [B, S, 2·d_encoder] and the initial state s_0 [B, d_hidden]."""
        x = self.drop(self.wte(src))
        if src_len is None:  # one unpadded sentence
            ann = self.encoder(x)[0]
            last = src.new_full((src.shape[0],), src.shape[1] - 1)
        else:
            packed = pack_padded_sequence(x, src_len, batch_first=True, enforce_sorted=False)
            ann = pad_packed_sequence(self.encoder(packed)[0], batch_first=True, total_length=src.shape[1])[0]
            last = src_len - 1
        d = self.cfg.d_encoder
        rows = torch.arange(src.shape[0])
        summary = torch.cat([ann[rows, last, :d], ann[:, 0, d:]], dim=-1)  # [B, 2·d_encoder]
        return self.drop(ann), torch.tanh(self.bridge(summary))

    def attend(
        self, keys: torch.Tensor, ann: torch.Tensor, masked: torch.Tensor | None, s: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Additive attention of state s [B, d_hidden] over keys [B, S, d_attn] (W_k·h_j + b)
        -> context [B, 2·d_encoder] and alignment [B, S] (masked positions exactly 0)."""
        energy = self.att_v(torch.tanh(keys + self.att_query(s)[:, None, :]))[..., 0]  # [B, S]
        if masked is not None:
            energy = energy.masked_fill(masked, float("-inf"))
        align = torch.softmax(energy, dim=-1)
        return (align[:, None, :] @ ann)[:, 0], align

    def logits(self, s: torch.Tensor, ctx: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        out = self.drop(torch.tanh(self.out(torch.cat([s, ctx, emb], dim=-1))))
        return out @ self.wte.weight.T  # [..., d_vocab]

    def forward(self, src: torch.Tensor, src_len: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """Training path: src [B, S], src_len [B], tgt_in [B, T] -> logits [B, T, d_vocab]."""
        ann, s = self.annotate(src, src_len)
        keys, masked = self.att_key(ann), key_padding(src_len, src.shape[1])
        emb = self.drop(self.wte(tgt_in))  # [B, T, d_embed]
        c = torch.zeros_like(s)
        states, contexts = [], []
        for t in range(tgt_in.shape[1]):
            ctx, _ = self.attend(keys, ann, masked, s)
            s, c = self.cell(torch.cat([emb[:, t], ctx], dim=-1), (s, c))
            states.append(s)
            contexts.append(ctx)
        return self.logits(torch.stack(states, dim=1), torch.stack(contexts, dim=1), emb)

    def encode(self, src: torch.Tensor) -> Memory:
        ann, s0 = self.annotate(src, None)
        return {"ann": ann, "keys": self.att_key(ann), "s0": s0}

    def start(self, memory: Memory, batch: int) -> State:
        ann, keys, s0 = (memory[k].expand(batch, *memory[k].shape[1:]) for k in ("ann", "keys", "s0"))
        return {"ann": ann, "keys": keys, "h": s0, "c": torch.zeros_like(s0), "gates": {}}

    def step(self, state: State, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, State]:
        """y [B] -> logits [B, d_vocab], alignment [B, 1, 1, S] and the next state, whose
        "h", "c" and "gates" are this step's."""
        emb = self.wte(y)
        ctx, align = self.attend(state["keys"], state["ann"], None, state["h"])
        h, c, gates = lstm_cell(self.cell, torch.cat([emb, ctx], dim=-1), state["h"], state["c"])
        new_state = {**state, "h": h, "c": c, "gates": gates}
        return self.logits(h, ctx, emb), align[:, None, None, :], new_state

    def reorder(self, state: State, rows: torch.Tensor) -> State:
        return {**state, "h": state["h"][rows], "c": state["c"][rows]}

    def forward_trace(self, src: torch.Tensor, tgt: torch.Tensor) -> tuple[torch.Tensor, Internals]:
        """Teacher forcing of one pair, step by step: src [1, S], tgt [1, T] -> logits
        [T, d_vocab]; alignment [1, 1, T, S]; h, c and gates [1, T, d_hidden]."""
        state = self.start(self.encode(src), 1)
        logits, aligns, hs, cs, gates = [], [], [], [], []
        for t in range(tgt.shape[1]):
            step_logits, align, state = self.step(state, tgt[:, t])
            logits.append(step_logits[0])
            aligns.append(align[0, 0, 0])
            hs.append(state["h"][0])
            cs.append(state["c"][0])
            gates.append(state["gates"])
        internals = {
            "attention": {"cross": torch.stack(aligns)[None, None]},  # [1, 1, T, S]
            "states": {"h": torch.stack(hs)[None], "c": torch.stack(cs)[None]},  # [1, T, d_hidden]
            "gates": {g: torch.stack([step[g][0] for step in gates])[None] for g in GATES},
        }
        return torch.stack(logits), internals
