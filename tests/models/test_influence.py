"""Influence maps (``models.influence``): gradients equal float64 finite differences, occlusion
equals explicit re-runs with one token replaced, no prediction is influenced by a later
token, and the public ``influence()`` has the documented shape, limits and thread safety."""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from models import influence as inf
from models.errors import ChoiceError, InfluenceTooLongError
from models.lm import LanguageModel
from models.net import TracedNet
from models.tokenizer import Tokenizer
from tests.tiny import tiny_net

TEXT = "The old man saw the ship, and the ship saw him."


def _ids(lm: LanguageModel, text: str = TEXT) -> torch.Tensor:
    return torch.tensor(lm.tokenizer.encode(text).ids)


def _float64(lm: LanguageModel) -> TracedNet:
    return copy.deepcopy(lm.net).double().eval()


@pytest.fixture(params=["transformer", "smeared", "lstm", "gru", "rnn"])
def any_lm(
    request: pytest.FixtureRequest, tiny_models: dict[str, LanguageModel], tokenizer: Tokenizer
) -> LanguageModel:
    if request.param != "smeared":
        return tiny_models[request.param]
    plain = tiny_models["transformer"]
    net = tiny_net("transformer", {**dataclasses.asdict(plain.net.cfg), "smear_keys": True}, seed=7)
    return LanguageModel("tiny-smeared", net.eval(), tokenizer)


def test_forward_embedded_equals_forward(any_lm: LanguageModel) -> None:
    net = any_lm.net
    idx = torch.stack([_ids(any_lm)[:10], _ids(any_lm)[2:12]])
    with torch.no_grad():
        torch.testing.assert_close(net.forward_embedded(net.wte(idx)), net(idx), atol=1e-5, rtol=1e-5)


def _finite_difference_gradients(net: TracedNet, ids: torch.Tensor, h: float = 1e-6) -> torch.Tensor:
    """∂ log p(x_{t+1}) / ∂e_s by central differences in float64: [T - 1, T, d_embed]."""
    emb = net.wte.weight.detach()[ids]
    targets = ids[1:]

    def rows(e: torch.Tensor) -> torch.Tensor:
        return inf.target_logp(net, net.features(e[None])[0, :-1], targets)

    grads = torch.zeros(len(ids) - 1, *emb.shape, dtype=torch.float64)
    with torch.no_grad():
        for s in range(len(ids)):
            for k in range(emb.shape[1]):
                up, down = emb.clone(), emb.clone()
                up[s, k] += h
                down[s, k] -= h
                grads[:, s, k] = (rows(up) - rows(down)) / (2 * h)
    return grads


@pytest.mark.parametrize("chunk", [32, 3])
def test_gradient_x_input_and_norm_equal_float64_finite_differences(
    any_lm: LanguageModel, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inf, "ROW_CHUNK", chunk)  # several chunks of rows, and one
    net, ids = _float64(any_lm), _ids(any_lm)[:11]
    values, norms, _ = inf.gradient_maps(net, ids, ids[1:])
    fd = _finite_difference_gradients(net, ids)
    emb = net.wte.weight.detach()[ids]
    want_values, want_norms = (fd * emb).sum(-1), torch.linalg.vector_norm(fd, dim=-1)
    for got, want in ((values, want_values), (norms, want_norms)):
        assert got.dtype == torch.float64
        rel = float((got - want).abs().max() / want.abs().max())
        assert rel <= 1e-5, rel
    below = torch.tril_indices(len(ids) - 1, len(ids))
    assert (want_norms[below[0], below[1]] > 0).all(), "every earlier token moves every prediction"


def test_gradient_maps_equal_autograd_on_a_batch_of_copies(any_lm: LanguageModel) -> None:
    """In float32 too: row r from copy r of the text, all copies in one ordinary backward pass."""
    net, ids = any_lm.net, _ids(any_lm)
    n_rows = len(ids) - 1
    with torch.enable_grad():
        emb = net.wte.weight.detach()[ids].repeat(n_rows, 1, 1).requires_grad_(True)  # [R, T, d]
        x = net.features(emb)[torch.arange(n_rows), torch.arange(n_rows)]  # row r at position r
        (grad,) = torch.autograd.grad(inf.target_logp(net, x, ids[1:]).sum(), emb)
    values, norms, _ = inf.gradient_maps(net, ids, ids[1:])
    torch.testing.assert_close(values, (grad * emb.detach()).sum(-1), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(norms, torch.linalg.vector_norm(grad, dim=-1), atol=1e-5, rtol=1e-4)


def test_occlusion_equals_explicit_runs_with_one_token_replaced(
    any_lm: LanguageModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inf, "OCCLUSION_FLOATS", 3 * 12 * 4096)  # replacements in several batches
    net, ids = any_lm.net, _ids(any_lm)
    neutral = inf.neutral_token(any_lm)
    got, base = inf.occlusion_map(net, ids, ids[1:], neutral)
    with torch.no_grad():
        logp = torch.log_softmax(net(ids[None])[0, :-1], -1).gather(1, ids[1:, None])[:, 0]
        torch.testing.assert_close(base, logp, atol=1e-5, rtol=0)
        for s in range(len(ids)):
            replaced = ids.clone()
            replaced[s] = neutral
            rerun = torch.log_softmax(net(replaced[None])[0, :-1], -1).gather(1, ids[1:, None])[:, 0]
            torch.testing.assert_close(got[:, s], logp - rerun, atol=1e-5, rtol=0)
    lower = torch.tril_indices(*got.shape)
    nonzero = got[lower[0], lower[1]] != 0
    assert torch.equal(nonzero, ids[lower[1]] != neutral), "zero exactly where the token is already ','"


@pytest.mark.parametrize("method", inf.METHODS)
def test_a_later_token_has_exactly_zero_influence_on_an_earlier_prediction(
    any_lm: LanguageModel, method: inf.Method
) -> None:
    full = inf.influence(any_lm, TEXT, method)
    t = len(full.tokens)
    rows = full.values[:-1]
    assert (rows[np.triu_indices(t - 1, k=1, m=t)] == 0).all()
    assert (np.abs(rows[np.tril_indices(t - 1, m=t)]) > 0).mean() > 0.9, "not vacuous"
    # changing every token after position k leaves rows < k as they were
    k = 6
    other = any_lm.tokenizer.decode([*full.tokens.ids[: k + 1], *full.tokens.ids[k + 1 :][::-1]])
    changed = inf.influence(any_lm, other, method)
    assert changed.tokens.ids[: k + 1] == full.tokens.ids[: k + 1]
    np.testing.assert_allclose(changed.values[:k, : k + 1], full.values[:k, : k + 1], atol=1e-5, rtol=1e-4)


def test_influence_has_the_documented_shapes_and_read_only_arrays(any_lm: LanguageModel) -> None:
    for method in inf.METHODS:
        result = inf.influence(any_lm, TEXT, method)
        t = len(result.tokens)
        assert result.method == method and result.model == any_lm.name
        assert result.tokens == any_lm.tokenizer.encode(TEXT)
        arrays = [result.values, result.logp] + ([] if result.grad_norm is None else [result.grad_norm])
        assert (result.grad_norm is None) == (method == "occlusion")
        assert (result.neutral_id is None) == (method == "gradient")
        assert result.values.shape == (t, t) and result.logp.shape == (t,)
        for arr in arrays:
            assert arr.dtype == np.float32 and not arr.flags.writeable
            assert np.isnan(arr[-1]).all() and np.isfinite(arr[:-1]).all()
        surprisal = any_lm.trace(TEXT).predictions.surprisal[:-1]
        np.testing.assert_allclose(-result.logp[:-1] / math.log(2), surprisal, atol=1e-4, rtol=1e-5)


def test_a_one_token_text_has_a_single_nan(any_lm: LanguageModel) -> None:
    result = inf.influence(any_lm, "a", "gradient")
    assert result.values.shape == (1, 1) and np.isnan(result.values).all()


def test_texts_over_the_influence_limit_are_refused_with_the_limit_named(tokenizer: Tokenizer) -> None:
    net = tiny_net("rnn", {"n_layers": 1, "d_embed": 8, "d_hidden": 8, "n_ctx": 1024}, seed=0)
    lm = LanguageModel("tiny-long", net, tokenizer)
    text = "the" + " the" * inf.MAX_INFLUENCE_TOKENS
    with pytest.raises(InfluenceTooLongError, match=str(inf.MAX_INFLUENCE_TOKENS)) as info:
        inf.influence(lm, text)
    assert (info.value.n_tokens, info.value.limit) == (inf.MAX_INFLUENCE_TOKENS + 1, inf.MAX_INFLUENCE_TOKENS)
    with pytest.raises(ChoiceError, match="gradient, occlusion"):
        inf.influence(lm, "the", "saliency")  # type: ignore[arg-type]


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One torch intra-op thread: with more, a call may get fewer threads while others run,
    which changes the order of a sum (last-bit differences) but is no interference."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.usefixtures("one_thread")
def test_concurrent_influence_equals_sequential_and_leaves_the_net_untouched(any_lm: LanguageModel) -> None:
    jobs = [(TEXT[: 12 + 5 * i], method) for i in range(4) for method in inf.METHODS]
    sequential = [inf.influence(any_lm, text, method) for text, method in jobs]

    def in_worker(job: tuple[str, inf.Method]) -> inf.Influence:
        torch.set_num_threads(1)  # the setting is per thread
        return inf.influence(any_lm, *job)

    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(in_worker, jobs))
    with torch.inference_mode():  # as a server's inference thread may call it
        concurrent.append(inf.influence(any_lm, *jobs[-2]))
    sequential.append(sequential[-2])
    for got, want in zip(concurrent, sequential, strict=True):
        np.testing.assert_array_equal(got.values, want.values)
    assert all(p.grad is None for p in any_lm.net.parameters())
    assert not any_lm.net.training
