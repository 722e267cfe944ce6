"""``models.generate`` on the tiny models of every architecture: greedy tokens are the trace's
argmax at each step, seeded sampling is reproducible whatever the global RNG, the streamed
attention row / state column equals the trace of the whole generated sequence at its position,
the context and length limits, the end-of-text stop, the text pieces, and the errors."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
import torch

from models.checkpoint import ARCHS, CHECKPOINT_DIR
from models.errors import ChoiceError, EmptyTextError, NoRoomError, OptionError, TemperatureError
from models.generate import MAX_NEW_TOKENS, GeneratedToken, generate
from models.lm import LanguageModel, load_model
from models.tokenizer import Tokenizer
from tests.conftest import make_tiny_model

PROMPT = "The cat sat on the"
N = 12
TOL = {"atol": 1e-5, "rtol": 1e-5}


def _trace_ids(
    lm: LanguageModel, ids: tuple[int, ...]
) -> tuple[torch.Tensor, dict[str, dict[str, torch.Tensor]]]:
    """The model's traced forward pass over token ids (generated ids need not survive a
    decode-and-encode round trip, so the text is not re-tokenised)."""
    with torch.inference_mode():
        return lm.net.forward_trace(torch.tensor([ids]))


def _ids(tokens: list[GeneratedToken]) -> list[int]:
    return [t.id for t in tokens]


def test_greedy_tokens_are_the_argmax_of_the_trace_at_each_step(lm: LanguageModel) -> None:
    gen = generate(lm, PROMPT, N)
    tokens = list(gen)
    assert len(tokens) == N and gen.ids == (*gen.prompt.ids, *_ids(tokens))
    for i, tok in enumerate(tokens):
        logits, _ = _trace_ids(lm, gen.ids[: len(gen.prompt) + i])
        last = logits[-1]
        assert tok.id == int(last.argmax()) or float(last.max() - last[tok.id]) < 1e-5
        probs = torch.softmax(last.double(), -1)
        assert math.isclose(tok.probability, float(probs[tok.id]), rel_tol=1e-4)
        top = torch.topk(probs, len(tok.top_ids))
        np.testing.assert_array_equal(tok.top_ids, top.indices.numpy())
        np.testing.assert_allclose(tok.top_probs, top.values.numpy(), rtol=1e-4)
        assert tok.top_strings == tuple(lm.tokenizer.display(int(j)) for j in tok.top_ids)
        assert tok.sampled_probability == 1.0 and tok.string == lm.tokenizer.display(tok.id)
        assert (tok.index, tok.position) == (i, len(gen.prompt) + i)


def test_greedy_tokens_are_the_argmax_of_model_trace_of_the_prefix_text() -> None:
    """On a trained model, whose English continuation mostly re-tokenises to the same ids, each
    greedy token is the argmax of ``model.trace(prompt + the text generated so far)``."""
    if not (CHECKPOINT_DIR / "transformer.safetensors").is_file():
        pytest.skip("shipped transformer not trained yet")
    lm = load_model("transformer")
    text = "It was a dark and stormy night, and"
    gen, checked = generate(lm, text, 16), 0
    for tok in gen:
        trace = lm.trace(text)
        if trace.tokens["input"].ids == gen.ids[: tok.position]:
            assert tok.id == int(np.argmax(trace.logits[-1]))
            checked += 1
        text += tok.text
    assert checked >= 12


def test_streamed_row_and_column_equal_the_trace_of_the_whole_sequence(lm: LanguageModel) -> None:
    for strategy in ("greedy", "sample"):
        gen = generate(lm, PROMPT, N, strategy=strategy, seed=5)
        tokens = list(gen)
        _, internals = _trace_ids(lm, gen.ids)
        for tok in tokens:
            p = tok.position
            assert set(tok.attention) == set(internals.get("attention", {}))
            for kind, pattern in internals.get("attention", {}).items():
                assert tok.attention[kind].shape == (*pattern.shape[:2], p + 1)
                np.testing.assert_allclose(tok.attention[kind], pattern[:, :, p, : p + 1].numpy(), **TOL)
            assert set(tok.states) == set(internals["states"])
            for name, states in internals["states"].items():
                np.testing.assert_allclose(tok.states[name], states[:, p].numpy(), **TOL)
                assert not tok.states[name].flags.writeable


@pytest.mark.parametrize("name", ARCHS)
def test_streamed_row_and_column_equal_the_trace_for_the_shipped_models(name: str) -> None:
    if not (CHECKPOINT_DIR / f"{name}.safetensors").is_file():
        pytest.skip(f"shipped {name} not trained yet")
    lm = load_model(name)
    gen = generate(lm, "Alice was beginning to get very tired", 8)
    tokens = list(gen)
    _, internals = _trace_ids(lm, gen.ids)
    for tok in tokens:
        p = tok.position
        for kind, pattern in internals.get("attention", {}).items():
            np.testing.assert_allclose(tok.attention[kind], pattern[:, :, p, : p + 1].numpy(), **TOL)
        for state, values in internals["states"].items():  # LSTM cell states reach the hundreds
            np.testing.assert_allclose(tok.states[state], values[:, p].numpy(), atol=1e-4, rtol=1e-5)


def test_the_same_seed_gives_the_same_tokens_whatever_the_global_rng(lm: LanguageModel) -> None:
    torch.manual_seed(1)
    first = _ids(list(generate(lm, PROMPT, N, strategy="sample", seed=42)))
    torch.manual_seed(2)
    np.random.seed(3)
    state = torch.get_rng_state()
    second = _ids(list(generate(lm, PROMPT, N, strategy="sample", seed=42)))
    assert first == second
    assert torch.equal(torch.get_rng_state(), state)  # the global RNG was not drawn from


def test_different_seeds_give_different_tokens(lm: LanguageModel) -> None:
    runs = {tuple(_ids(list(generate(lm, PROMPT, N, strategy="sample", seed=s)))) for s in range(4)}
    assert len(runs) == 4


def test_a_run_without_seed_reports_the_seed_that_reproduces_it(lm: LanguageModel) -> None:
    gen = generate(lm, PROMPT, N, strategy="sample", temperature=1.5, top_k=50)
    tokens = _ids(list(gen))
    assert isinstance(gen.seed, int)
    again = generate(lm, PROMPT, N, strategy="sample", temperature=1.5, top_k=50, seed=gen.seed)
    assert _ids(list(again)) == tokens
    assert generate(lm, PROMPT, N).seed is None  # greedy draws nothing


@pytest.mark.parametrize("options", [{"top_k": 1}, {"temperature": 1e-9}])
def test_sampling_with_top_k_1_or_a_tiny_temperature_is_greedy(
    lm: LanguageModel, options: dict[str, float]
) -> None:
    greedy = _ids(list(generate(lm, PROMPT, N)))
    sampled = list(generate(lm, PROMPT, N, strategy="sample", seed=0, **options))  # type: ignore[arg-type]
    assert _ids(sampled) == greedy
    assert all(math.isclose(t.sampled_probability, 1.0) for t in sampled)


def test_top_k_sampling_draws_only_from_the_k_most_likely(lm: LanguageModel) -> None:
    k = 3
    for seed in range(3):
        gen = generate(lm, PROMPT, N, strategy="sample", top_k=k, seed=seed, alternatives=k)
        for tok in gen:
            assert tok.id in tok.top_ids  # the alternatives are the model's top k at that step
            kept = tok.top_probs.astype(np.float64)
            want = float(tok.top_probs[list(tok.top_ids).index(tok.id)] / kept.sum())
            assert math.isclose(tok.sampled_probability, want, rel_tol=1e-4)


def test_temperature_reshapes_the_sampling_distribution(lm: LanguageModel) -> None:
    tok = next(generate(lm, PROMPT, 1, strategy="sample", temperature=0.5, seed=9))
    logits, _ = _trace_ids(lm, lm.tokenizer.encode(PROMPT).ids)
    want = torch.softmax(logits[-1].double() / 0.5, -1)[tok.id]
    assert math.isclose(tok.sampled_probability, float(want), rel_tol=1e-4)


def test_generation_stops_at_max_new_tokens_and_says_why(lm: LanguageModel) -> None:
    tokens = list(generate(lm, PROMPT, 3))
    assert len(tokens) == 3
    assert [t.finish for t in tokens] == [None, None, "length"]


def test_generation_stops_when_the_context_is_full(lm: LanguageModel) -> None:
    n_ctx = lm.n_ctx
    prompt = " cat" * (n_ctx - 4)
    assert len(lm.tokenizer.encode(prompt)) == n_ctx - 4
    gen = generate(lm, prompt, 10)
    tokens = list(gen)
    assert len(tokens) == gen.limit == 4 and tokens[-1].finish == "context"
    assert tokens[-1].position == n_ctx - 1 and len(gen.ids) == n_ctx
    lm.net.forward_trace(torch.tensor([gen.ids]))  # the whole sequence still fits


def test_generation_stops_after_the_end_of_text_token(arch: str, tokenizer: Tokenizer) -> None:
    """A model made to always predict end-of-text: one token, then stop."""
    lm = make_tiny_model(arch, tokenizer)
    with torch.no_grad():
        if arch == "transformer":
            lm.net.ln_f.weight.zero_()
            lm.net.ln_f.bias.copy_(lm.net.wte.weight[tokenizer.eot_id])
        else:
            lm.net.proj.weight.zero_()
            lm.net.proj.bias.copy_(lm.net.wte.weight[tokenizer.eot_id])
        lm.net.wte.weight[tokenizer.eot_id] *= 100  # its own logit beats every other
    tokens = list(generate(lm, PROMPT, 5))
    assert len(tokens) == 1
    (tok,) = tokens
    assert tok.id == tokenizer.eot_id and tok.finish == "end_of_text"
    assert tok.text == "" and tok.string == "<|endoftext|>"


def test_text_pieces_join_into_the_decoded_tokens(lm: LanguageModel) -> None:
    """Random tokens split UTF-8 characters; the pieces still add up to the decoded bytes."""
    for seed in range(3):
        gen = generate(lm, PROMPT, 30, strategy="sample", temperature=3.0, seed=seed)
        tokens = list(gen)
        assert "".join(t.text for t in tokens) == lm.tokenizer.decode(gen.new_ids)


def test_recurrent_models_step_their_state_instead_of_rerunning_the_prefix(
    arch: str, tokenizer: Tokenizer
) -> None:
    lm = make_tiny_model(arch, tokenizer)
    if "h" not in lm.spec.parts:
        pytest.skip("the Transformer re-runs its prefix")
    lengths: list[int] = []
    lm.net.layers[0].register_forward_pre_hook(lambda _, args: lengths.append(args[0].shape[1]))

    def refuse(*_: object) -> None:
        raise AssertionError("forward_trace re-runs the prefix")

    lm.net.forward_trace = refuse  # type: ignore[method-assign]
    gen = generate(lm, PROMPT, 5)
    list(gen)
    assert lengths == [len(gen.prompt), 1, 1, 1, 1, 1]


def test_two_generations_interleaved_on_one_model_do_not_disturb_each_other(lm: LanguageModel) -> None:
    alone = [_ids(list(generate(lm, p, 6, strategy="sample", seed=1))) for p in (PROMPT, "Once upon")]
    a = generate(lm, PROMPT, 6, strategy="sample", seed=1)
    b = generate(lm, "Once upon", 6, strategy="sample", seed=1)
    mixed: tuple[list[int], list[int]] = ([], [])
    for ta, tb in zip(a, b, strict=True):
        mixed[0].append(ta.id)
        mixed[1].append(tb.id)
    assert list(mixed) == alone


def test_a_generation_may_be_advanced_from_another_thread(lm: LanguageModel) -> None:
    want = _ids(list(generate(lm, PROMPT, 4)))
    gen = generate(lm, PROMPT, 4)
    got = [next(gen).id]
    worker = threading.Thread(target=lambda: got.extend(t.id for t in gen))
    worker.start()
    worker.join()
    assert got == want and torch.is_inference_mode_enabled() is False


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"prompt": ""}, EmptyTextError, "empty"),
        (
            {"max_new_tokens": 0},
            OptionError,
            f"max_new_tokens is 0; choose a value from 1 to {MAX_NEW_TOKENS}",
        ),
        ({"max_new_tokens": MAX_NEW_TOKENS + 1}, OptionError, f"from 1 to {MAX_NEW_TOKENS}"),
        ({"temperature": 0.0}, TemperatureError, "temperature is 0.0; choose a finite number above 0"),
        ({"temperature": -1}, TemperatureError, "above 0"),
        ({"temperature": math.nan}, TemperatureError, "above 0"),
        ({"temperature": math.inf}, TemperatureError, "above 0"),
        ({"top_k": 0}, OptionError, "top_k is 0; choose a value from 1 to 4096"),
        ({"top_k": 5000}, OptionError, "from 1 to 4096"),
        ({"seed": -1}, OptionError, "seed is -1"),
        ({"strategy": "beam"}, ChoiceError, "strategy is 'beam'; choose one of greedy, sample"),
        ({"alternatives": 51}, OptionError, "alternatives is 51; choose a value from 1 to 50"),
    ],
)
def test_bad_options_fail_before_the_first_token_saying_what_to_change(
    tiny_models: dict[str, LanguageModel], kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    args: dict[str, object] = {"prompt": PROMPT, "max_new_tokens": 5, "strategy": "sample", **kwargs}
    with pytest.raises(error, match=message.replace("(", r"\(")):
        generate(tiny_models["lstm"], **args)  # type: ignore[arg-type]


@pytest.mark.parametrize("extra", [0, 3])
def test_a_prompt_that_fills_the_context_leaves_no_room(lm: LanguageModel, extra: int) -> None:
    with pytest.raises(
        NoRoomError, match=f"leaves no room to generate; shorten it by at least {extra + 1} tokens"
    ):
        generate(lm, " cat" * (lm.n_ctx + extra), 5)
