"""The probe suite (``models.probe``, ``models.agreement``): each probe on the tiny models
(shapes, determinism), a planted behaviour detected by each (a copier copies at every gap, a
subject-reading oracle agrees, a context-blind model's loss ignores k, hand-set attention
scores 1 on its head), and the gradient curve against float64 finite differences."""

from __future__ import annotations

import copy
import json
import math
from dataclasses import replace

import pytest
import torch
from torch import nn

from models import probe
from models.agreement import ATTRACTORS, NOUNS, STRUCTURES, make_pairs, verb_logit_margins, wilson
from models.copying import CopyProbe, common_words
from models.lm import LanguageModel
from models.net import Internals, TracedNet
from models.spec import AttentionKind, ModelSpec
from models.tokenizer import Tokenizer
from tests.models.test_copying import Oracle
from tests.models.test_influence import _finite_difference_gradients

PROSE = (
    "It is a truth universally acknowledged, that a single man in possession of a good fortune, "
    "must be in want of a wife. However little known the feelings or views of such a man may be "
    "on his first entering a neighbourhood, this truth is so well fixed in the minds of the "
    "surrounding families, that he is considered the rightful property of some one or other of "
    "their daughters. "
)
CFG = probe.ProbeConfig(
    copy_words=8,
    copy_sequences=4,
    gaps=(0, 16, 200),  # the last fits no tiny model
    agreement_pairs=6,
    context_ks=(1, 2, 4, 8, 16, 32),
    context_targets=6,
    gradient_windows=1,
    gradient_length=12,
    head_windows=1,
    ablation_tokens=96,
)


@pytest.fixture(scope="module")
def data(tokenizer: Tokenizer) -> probe.ProbeData:
    """A small held-out stream: two 'books' of prose, and a pool of its words."""
    book = tokenizer.encode_ids(PROSE * 4)
    valid = torch.tensor([tokenizer.eot_id, *book, tokenizer.eot_id, *book])
    return probe.ProbeData(valid, tuple(common_words([PROSE], tokenizer, size=40)), tokenizer.eot_id)


def test_windows_are_seeded_distinct_and_never_cross_a_book_boundary(data: probe.ProbeData) -> None:
    a = data.windows(20, 50, torch.Generator().manual_seed(1))
    b = data.windows(20, 50, torch.Generator().manual_seed(1))
    assert a.shape == (20, 50) and torch.equal(a, b)
    assert not (a == data.eot_id).any()
    with pytest.raises(ValueError, match="fewer than"):
        data.windows(3, len(data.valid), torch.Generator())


def test_every_probe_gives_the_same_json_twice_with_the_documented_shapes(
    lm: LanguageModel, arch: str, data: probe.ProbeData
) -> None:
    first, seconds = probe.probe_model(lm, data, CFG)
    again, _ = probe.probe_model(lm, data, CFG)
    assert json.loads(json.dumps(first)) == first == again
    assert set(seconds) == {
        "copying_vs_distance",
        "agreement",
        "context_length",
        "gradient_vs_distance",
        "heads",
    }
    copying = first["copying_vs_distance"]["results"]
    fits = [1 + 2 * CFG.copy_words + g <= lm.n_ctx for g in CFG.gaps]
    assert [row is not None for row in copying] == fits and not all(fits)
    assert all(row["ci95"][0] <= row["ratio"] <= row["ci95"][1] for row in copying if row)
    assert len(first["agreement"]["conditions"]) == len(STRUCTURES) * len(ATTRACTORS)
    assert [r["k"] for r in first["context_length"]["results"]] == [
        k for k in CFG.context_ks if k <= lm.n_ctx
    ]
    curve = first["gradient_vs_distance"]["mean_grad_norm"]
    assert len(curve) == CFG.gradient_length and all(v > 0 for v in curve)
    if arch == "transformer":
        cfg = lm.net.cfg
        for name in ("previous_token", "first_token", "induction", "duplicate_token", "ablation_bits"):
            scores = torch.tensor(first["heads"][name])
            assert scores.shape == (cfg.n_layers, cfg.n_heads), name
    else:
        assert first["heads"] is None
    assert "| model |" in probe.tables({lm.name: first})


def test_a_copier_copies_at_every_gap_and_a_context_blind_model_does_not(
    data: probe.ProbeData,
) -> None:
    cfg = replace(CFG, gaps=(0, 16, 64, 200))
    prose = torch.randperm(400, generator=torch.Generator().manual_seed(0)) + 1000  # no token twice
    distinct = probe.ProbeData(torch.cat([torch.tensor([0]), prose]), tuple(range(3000, 3100)), 0)
    copier = probe.copying_vs_distance(Oracle(copy=True), distinct, cfg)["results"]
    blind = probe.copying_vs_distance(Oracle(copy=False), distinct, cfg)["results"]
    # every word of each second copy but its first (which nothing announces) is copied
    assert [row["ratio"] for row in copier] == pytest.approx([1 / cfg.copy_words] * len(cfg.gaps), rel=1e-5)
    assert all(row["ratio"] == 1.0 for row in blind)


class Agreeing(TracedNet):
    """Reads the subject (the second word after the end-of-text token) from the word lists and
    prefers the verb form of its number, or always the singular form."""

    def __init__(self, tokenizer: Tokenizer, always_singular: bool = False) -> None:
        super().__init__()
        self.tokenizer, self.always_singular = tokenizer, always_singular
        self.plural = {p for _, p in NOUNS}
        self.forms = [tokenizer.encode_ids(f" {v}")[0] for v in ("is", "are", "was", "were", "has", "have")]

    @property
    def spec(self) -> ModelSpec:
        return ModelSpec("agreeing", 1, None, 1, 512, self.tokenizer.vocab_size, ("logits",))

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(*idx.shape, self.tokenizer.vocab_size)
        for b, seq in enumerate(idx):
            subject = self.tokenizer.decode(seq[1:].tolist()).split()[1]
            plural = subject in self.plural and not self.always_singular
            logits[b, -1, self.forms[int(plural) :: 2]] = 5.0
        return logits


def test_agreement_is_perfect_for_a_subject_reader_and_at_chance_for_a_singular_bias(
    tokenizer: Tokenizer,
) -> None:
    pairs = make_pairs(per_condition=20, seed=3)
    assert len(pairs) == 20 * len(STRUCTURES) * len(ATTRACTORS) and pairs == make_pairs(20, seed=3)
    assert sum(p.plural for p in pairs) == len(pairs) // 2
    assert (verb_logit_margins(Agreeing(tokenizer), tokenizer, pairs) > 0).all()
    biased = verb_logit_margins(Agreeing(tokenizer, always_singular=True), tokenizer, pairs)
    for row in probe.agreement_summary(pairs, biased):
        assert row["accuracy"] == 0.5 and row["at_chance"]
        assert (row["singular"], row["plural"]) == (1.0, 0.0)


def test_agreement_pairs_differ_only_in_the_verb_and_attractors_have_the_other_number() -> None:
    number = {w: plural for pair in NOUNS for plural, w in enumerate(pair)}
    for pair in make_pairs(per_condition=30, seed=0):
        words = pair.prefix.split()
        nouns = [words[1], words[4], words[7]]  # "The S p the N1 p the N2" or "The S that the N1 p the N2 v"
        assert all(n in number for n in nouns), pair.prefix
        assert number[nouns[0]] == pair.plural
        assert sum(number[n] != pair.plural for n in nouns[1:]) == pair.attractors
        assert {pair.right, pair.wrong} in ({"is", "are"}, {"was", "were"}, {"has", "have"})


def test_wilson_interval_holds_the_proportion_and_narrows_with_more_data() -> None:
    lo, hi = wilson(50, 100)
    assert lo < 0.5 < hi and math.isclose(lo + hi, 1.0)
    assert wilson(500, 1000)[1] - wilson(500, 1000)[0] < hi - lo
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == pytest.approx(1.0)


class ContextBlind(TracedNet):
    """Predicts from the current token alone: every k gives the same loss."""

    def __init__(self, d_vocab: int) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.wte = nn.Embedding(d_vocab, 8)
        self.out = nn.Linear(8, d_vocab)

    @property
    def spec(self) -> ModelSpec:
        return ModelSpec("blind", 1, None, 8, 512, self.out.out_features, ("logits",))

    def features(self, tok_emb: torch.Tensor) -> torch.Tensor:
        return tok_emb

    def unembed(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(x)


def test_context_length_loss_is_flat_for_a_model_blind_to_context(
    data: probe.ProbeData, tokenizer: Tokenizer, tiny_models: dict[str, LanguageModel]
) -> None:
    blind = probe.context_length(ContextBlind(tokenizer.vocab_size), data, CFG)["results"]
    assert [r["k"] for r in blind] == list(CFG.context_ks)
    assert max(r["loss"] for r in blind) - min(r["loss"] for r in blind) < 1e-5
    seeing = probe.context_length(tiny_models["lstm"].net, data, CFG)["results"]
    assert len({round(r["loss"], 4) for r in seeing}) > 1


def test_gradient_curve_equals_float64_finite_differences(
    tiny_models: dict[str, LanguageModel], arch: str, data: probe.ProbeData
) -> None:
    net = copy.deepcopy(tiny_models[arch].net).double()
    cfg = replace(CFG, gradient_length=6)
    curve = torch.tensor(probe.gradient_vs_distance(net, data, cfg)["mean_grad_norm"], dtype=torch.float64)
    (window,) = data.windows(1, 7, probe.generator(cfg, "gradient"))
    fd = _finite_difference_gradients(net, window)[:, :6]  # rows predict tokens 1..6 from tokens 0..5
    norms = torch.linalg.vector_norm(fd, dim=-1)  # [6, 6]
    want = torch.stack([norms.diagonal(-d).mean() for d in range(6)])
    assert float(((curve - want).abs() / want).max()) <= 1e-5


class Planted(TracedNet):
    """One layer, four hand-set heads: previous token, first token, induction (the token after
    the earlier occurrence of the current one) and duplicate token (that earlier occurrence)."""

    @property
    def spec(self) -> ModelSpec:
        kind = AttentionKind("self", True, "input", "input", 1, 4)
        return ModelSpec("planted", 1, 4, 1, 512, 4096, ("attention", "logits"), attention=(kind,))

    def forward_trace(self, idx: torch.Tensor) -> tuple[torch.Tensor, Internals]:
        seq, t = idx[0].tolist(), idx.shape[1]
        pattern = torch.zeros(1, 4, t, t)
        for q in range(t):
            earlier = [j for j in range(q) if seq[j] == seq[q]]
            pattern[0, 0, q, max(q - 1, 0)] = 1.0
            pattern[0, 1, q, 0] = 1.0
            pattern[0, 2, q, earlier[-1] + 1 if earlier else q] = 1.0
            pattern[0, 3, q, earlier[-1] if earlier else q] = 1.0
        return torch.zeros(t, 4096), {"attention": {"self": pattern}}


def test_hand_set_heads_score_one_on_their_own_probe_and_little_on_the_others(data: probe.ProbeData) -> None:
    net = Planted()
    previous, first = probe.positional_scores(net, data.windows(2, 40, torch.Generator().manual_seed(0)))
    copies = CopyProbe.build(list(range(300, 1300)), data.eot_id, n=24, sequences=4)
    from models.copying import induction_scores

    scores = torch.stack(
        [previous[0], first[0], induction_scores(net, copies)[0], probe.duplicate_scores(net, copies)[0]]
    )
    assert (scores.diagonal() > 0.95).all(), scores
    assert (scores - torch.diag(scores.diagonal()) < 0.1).all(), scores


def test_a_head_that_writes_nothing_costs_nothing_when_ablated(
    tiny_models: dict[str, LanguageModel], data: probe.ProbeData
) -> None:
    net = copy.deepcopy(tiny_models["transformer"].net)
    d_head = net.cfg.d_head
    with torch.no_grad():
        net.blocks[1].attn.proj.weight[:, :d_head] = 0.0  # layer 1, head 0 adds nothing
    costs = torch.tensor(probe.heads(net, data, CFG)["ablation_bits"])
    assert costs[1, 0] == 0.0 and (costs.flatten()[[0, 1, 3]].abs() > 1e-4).all()
    assert all(not block.attn.proj._forward_pre_hooks for block in net.blocks)
