"""Decoding: beam 1 is greedy; step-by-step logits and cross-attention equal the teacher-forced
ones of the same output; forced decoding of the model's own output gives the probabilities it
decoded with; the beam's alternatives are ranked by their normalised scores."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from models.translation.model import TranslationModel
from models.translation.search import beam_search, greedy

from .conftest import SENTENCES


@pytest.mark.parametrize("text", SENTENCES)
def test_beam_1_equals_greedy(mt: TranslationModel, text: str) -> None:
    src = torch.tensor([mt.source_tokens(text).ids])
    want = greedy(mt.net, src, mt.bos, mt.eos, 20)
    (got,) = beam_search(mt.net, src, mt.bos, mt.eos, 20, beam=1)
    assert got.ids == want.ids
    np.testing.assert_allclose(got.token_log_probs, want.token_log_probs, atol=1e-6)
    assert mt.translate(text, beam=1, max_len=20).alternatives[0].ids == want.ids


def test_greedy_stops_at_eos_when_the_model_emits_it(mt: TranslationModel) -> None:
    """Forcing EOS to be likeliest: the output is EOS alone, and the target is [BOS, EOS]."""
    net = mt.net
    src = torch.tensor([mt.source_tokens("Hi.").ids])
    state = net.start(net.encode(src), 1)
    logits, _, _ = net.step(state, torch.tensor([mt.bos]))
    hyp = greedy(net, src, mt.bos, int(logits.argmax()), 20)
    assert len(hyp.ids) == 1 and hyp.finished


@pytest.mark.parametrize("beam", [1, 4])
def test_step_by_step_logits_and_cross_attention_equal_teacher_forcing(
    mt: TranslationModel, beam: int
) -> None:
    net = mt.net
    result = mt.translate(SENTENCES[3], beam=beam, max_len=15)
    target = torch.tensor(result.trace.tokens["target"].ids)
    state = net.start(net.encode(torch.tensor([result.trace.tokens["source"].ids])), 1)
    steps, crosses = [], []
    with torch.inference_mode():
        for y in target:
            logits, cross, state = net.step(state, y[None])
            steps.append(logits[0])
            crosses.append(cross[0])
    np.testing.assert_allclose(torch.stack(steps), result.trace.logits, atol=1e-4, rtol=1e-4)
    cross_trace = result.trace.attention["cross"]  # [L, H, T, S]
    np.testing.assert_allclose(torch.stack(crosses).permute(1, 2, 0, 3), cross_trace, atol=1e-5)


@pytest.mark.parametrize("beam", [1, 3])
def test_forced_decoding_of_own_output_gives_the_same_probabilities(mt: TranslationModel, beam: int) -> None:
    for text in SENTENCES:
        decoded = mt.translate(text, beam=beam, max_len=12)
        forced = mt.force_ids(text, decoded.alternatives[0].ids)
        assert forced.trace.tokens["target"] == decoded.trace.tokens["target"]
        np.testing.assert_allclose(forced.token_probs, decoded.token_probs, rtol=1e-4, atol=1e-7)
        assert forced.log_prob == pytest.approx(decoded.log_prob, abs=1e-3)
        # and the trace's predictions say the same: surprisal of each next token
        bits = forced.trace.predictions.surprisal[: len(forced.token_probs)]
        np.testing.assert_allclose(bits, -np.log2(decoded.token_probs), rtol=1e-4, atol=1e-4)


def test_beam_alternatives_are_ranked_by_length_normalised_score(mt: TranslationModel) -> None:
    for alpha in (0.0, 1.0):
        result = mt.translate(SENTENCES[0], beam=4, max_len=10, alpha=alpha)
        alts = result.alternatives
        assert 1 <= len(alts) <= 4
        assert result.text == alts[0].text and result.log_prob == alts[0].log_prob
        assert [a.score for a in alts] == sorted((a.score for a in alts), reverse=True)
        for a in alts:
            assert a.log_prob == pytest.approx(math.fsum(map(math.log, a.token_probs)), abs=1e-9)
            assert a.score == pytest.approx(a.log_prob / len(a.ids) ** alpha)
            assert a.finished == (a.ids[-1] == mt.eos)
        assert len({a.ids for a in alts}) == len(alts)


def test_wider_beam_never_scores_worse_than_greedy_on_finished_outputs(mt: TranslationModel) -> None:
    """Not a law of beam search, but for tiny models and short outputs it holds; a broken
    beam (e.g. rows reordered wrongly) tends to break it."""
    for text in SENTENCES:
        g = mt.translate(text, beam=1, max_len=8)
        b = mt.translate(text, beam=8, max_len=8, alpha=0.0)
        if g.finished and b.finished:
            assert b.log_prob >= g.log_prob - 1e-6


def test_max_len_cuts_the_output_without_eos(mt: TranslationModel) -> None:
    for beam in (1, 2):
        result = mt.translate(SENTENCES[3], beam=beam, max_len=3)
        ids, target = result.alternatives[0].ids, result.trace.tokens["target"]
        assert len(ids) <= 3
        assert target.ids == (mt.bos, *ids)
        assert result.finished == (ids[-1] == mt.eos)
        assert result.finished or len(ids) == 3


def test_concurrent_translations_equal_sequential_ones(mt: TranslationModel) -> None:
    jobs = [(text, beam) for text in SENTENCES for beam in (1, 3)] * 2
    sequential = [mt.translate(t, beam=b, max_len=10) for t, b in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(lambda job: mt.translate(job[0], beam=job[1], max_len=10), jobs))
    for a, b in zip(sequential, concurrent, strict=True):
        assert a.alternatives == b.alternatives
        np.testing.assert_array_equal(a.trace.attention["cross"], b.trace.attention["cross"])
