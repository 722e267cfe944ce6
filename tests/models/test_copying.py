"""The copying probes of ``models.copying``: the induction score reads the attention the
definition names, the copy ratio is 1 for a model blind to context and near 0 for one that
copies, and the word pool is single tokens of frequent words."""

from __future__ import annotations

import torch

from models.copying import CopyProbe, common_words, copy_ratio, copying_summary, induction_scores
from models.lm import LanguageModel
from models.net import Internals, TracedNet
from models.spec import AttentionKind, ModelSpec
from models.tokenizer import Tokenizer

POOL = list(range(300, 400))
EOT = 0


class Oracle(TracedNet):
    """Predicts the token that followed the last earlier occurrence of the current token, and
    attends exactly there in head 1 of its one layer (head 0 attends to position 0)."""

    def __init__(self, d_vocab: int = 4096, copy: bool = True) -> None:
        super().__init__()
        self.copy = copy
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.d_vocab = d_vocab

    @property
    def spec(self) -> ModelSpec:
        return ModelSpec(
            architecture="oracle",
            n_layers=1,
            n_heads=2,
            width=1,
            n_ctx=512,
            d_vocab=self.d_vocab,
            parts=("attention", "logits"),
            attention=(AttentionKind("self", True, "input", "input", 1, 2),),
        )

    def _targets(self, seq: torch.Tensor) -> list[int | None]:
        """Per position, the key the copy comes from: one after the earlier occurrence."""
        out: list[int | None] = []
        for t, tok in enumerate(seq.tolist()):
            earlier = [j for j in range(t) if seq[j] == tok]
            out.append(earlier[-1] + 1 if earlier else None)
        return out

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(*idx.shape, self.d_vocab)
        for b, seq in enumerate(idx):
            for t, src in enumerate(self._targets(seq)):
                if self.copy and src is not None:
                    logits[b, t, seq[src]] = 30.0
        return logits

    def forward_trace(self, idx: torch.Tensor) -> tuple[torch.Tensor, Internals]:
        t = idx.shape[1]
        pattern = torch.zeros(1, 2, t, t)
        pattern[0, 0, :, 0] = 1.0
        for q, src in enumerate(self._targets(idx[0])):
            pattern[0, 1, q, src if src is not None else q] = 1.0
        return self.forward(idx)[0], {"attention": {"self": pattern}}


def test_probe_sequences_are_eot_then_a_block_repeated_twice() -> None:
    probe = CopyProbe.build(POOL, EOT, n=10, n_words=6, sequences=3, seed=1)
    assert probe.induction.shape == (3, 21) and probe.words.shape == (3, 13)
    for seqs, n in ((probe.induction, 10), (probe.words, 6)):
        assert (seqs[:, 0] == EOT).all()
        assert torch.equal(seqs[:, 1 : n + 1], seqs[:, n + 1 :])
        assert set(seqs[:, 1:].flatten().tolist()) <= set(POOL)
    assert all(len(set(row[1:7].tolist())) == 6 for row in probe.words), "words are distinct"
    again = CopyProbe.build(POOL, EOT, n=10, n_words=6, sequences=3, seed=1)
    assert torch.equal(again.induction, probe.induction) and torch.equal(again.words, probe.words)


def test_induction_score_is_the_attention_to_the_token_after_the_earlier_occurrence() -> None:
    probe = CopyProbe.build(POOL, EOT, n=12, sequences=4)
    scores = induction_scores(Oracle(), probe)
    assert scores.shape == (1, 2)
    assert float(scores[0, 0]) == 0.0
    # a token repeated inside a block sends the oracle to its later occurrence instead
    assert float(scores[0, 1]) > 0.8


def test_copy_ratio_is_one_without_context_and_near_zero_for_a_copier() -> None:
    probe = CopyProbe.build(POOL, EOT, n_words=20, sequences=4)
    assert copy_ratio(Oracle(copy=False), probe) == 1.0
    assert copy_ratio(Oracle(copy=True), probe) < 0.1


def test_copying_summary_reports_induction_only_for_attention_models(
    tiny_models: dict[str, LanguageModel], tokenizer: Tokenizer
) -> None:
    probe = CopyProbe.build(POOL, tokenizer.eot_id, n=8, n_words=5, sequences=2)
    with_attention = copying_summary(tiny_models["transformer"].net, probe)
    recurrent = copying_summary(tiny_models["lstm"].net, probe)
    layers, heads = tiny_models["transformer"].net.cfg.n_layers, tiny_models["transformer"].net.cfg.n_heads
    induction = with_attention["induction"]
    assert isinstance(induction, list) and len(induction) == layers and len(induction[0]) == heads
    assert "induction" not in recurrent and recurrent["copy_ratio"] > 0


def test_common_words_are_single_tokens_of_the_most_frequent_words(tokenizer: Tokenizer) -> None:
    text = "the cat sat on the mat. the cat ran; a dog ran to the cat and the xylophonist."
    pool = common_words([text], tokenizer, size=3)
    assert [tokenizer.decode([i]) for i in pool] == [" the", " cat", " ran"]
    assert all(len(tokenizer.encode_ids(tokenizer.decode([i]))) == 1 for i in pool)
