"""Text generation with any language model, one token at a time, each new token with the
Transformer's attention row or the recurrent model's state column at its position.

- **Strategies**: "greedy" takes the most likely token (the first on a tie, as ``argmax`` does);
  "sample" draws from softmax(logits / temperature), cut to the ``top_k`` most likely when given,
  with a ``torch.Generator`` of its own: the same seed gives the same tokens whatever the
  global RNG state, and a run without a seed draws one and reports it (``Generation.seed``).
  Greedy checks ``temperature`` and ``top_k`` too but does not use them.
- **Context**: the whole sequence (prompt + new tokens) never exceeds the model's n_ctx:
  generation stops when it is full (``finish == "context"``), so the full sequence can always
  be traced and every streamed row equals the trace's. It also stops after ``max_new_tokens``
  (``"length"``, at most ``MAX_NEW_TOKENS``) or after the end-of-text token (``"end_of_text"``).
- **Cost**: a recurrent model steps its state one token at a time (O(1) per token); the
  Transformer re-runs its traced forward pass over the whole prefix for every token (no key/
  value cache; O(T) per token, fine at n_ctx 256). Any other ``TracedNet`` re-runs too.
- **Text**: generation works on token ids. Decoding them and tokenising the text again can give
  other tokens (BPE merges "␣th" + "e" into "␣the"), so to trace the result exactly, trace its
  ids (``Generation.ids``).

Nothing is written on the model; each ``next()`` runs one step under ``torch.inference_mode``
(not held across yields), so a ``Generation`` may be advanced from any thread, one at a time.
"""

from __future__ import annotations

import codecs
import math
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

import numpy as np
import torch
from torch import nn

from .errors import ChoiceError, EmptyTextError, NoRoomError, OptionError, TemperatureError
from .lm import LanguageModel
from .recurrent import RecurrentLM
from .spec import DEFAULT_TOP_K, MAX_TOP_K
from .tokenizer import Tokens

MAX_NEW_TOKENS = 256  # the most tokens one call generates
MAX_SEED = 2**63 - 1
STRATEGIES = ("greedy", "sample")
Finish = Literal["length", "context", "end_of_text"]


@dataclass(frozen=True)
class GeneratedToken:
    """One new token, what the model thought of it, and its internals at its position."""

    index: int  # 0 for the first new token
    position: int  # its place in the whole sequence, prompt first: len(prompt) + index
    id: int
    string: str  # display string (␣ a space, ↵ a newline)
    text: (
        str  # characters this token completes; "" if it ends inside a UTF-8 character (the next completes it)
    )
    probability: float  # the model's p(token | all before): temperature 1, no top-k
    sampled_probability: float  # its probability in the distribution it was drawn from; 1.0 for greedy
    top_ids: np.ndarray  # int64[k], the model's k most likely tokens at this step, most likely first
    top_strings: tuple[str, ...]  # their display strings
    top_probs: np.ndarray  # float32[k], their probabilities (temperature 1)
    # {kind: float32[n_layers, n_heads, position + 1]}: this token's attention row as the query
    # (the row that then predicts the next token); empty for models without attention
    attention: Mapping[str, np.ndarray]
    # {name: float32[n_layers, width]} at this position: "resid" (Transformer), "h" and "c" (recurrent)
    states: Mapping[str, np.ndarray]
    finish: Finish | None  # set on the last token only: why generation stopped


@dataclass(frozen=True)
class _Step:
    """A forward step's result at the last position."""

    logits: torch.Tensor  # [d_vocab]
    attention: dict[str, np.ndarray]  # {kind: [n_layers, n_heads, T]}
    states: dict[str, np.ndarray]  # {name: [n_layers, width]}


class _Rerun:
    """Any traced net: the whole prefix through ``forward_trace`` for every new token."""

    def __init__(self, model: LanguageModel, prompt: tuple[int, ...]) -> None:
        self.net, self.ids = model.net, list(prompt)

    def start(self) -> _Step:
        return self._run()

    def advance(self, token: int) -> _Step:
        self.ids.append(token)
        return self._run()

    def _run(self) -> _Step:
        logits, internals = self.net.forward_trace(torch.tensor([self.ids]))
        return _Step(
            logits[-1],
            {kind: _numpy(a[:, :, -1]) for kind, a in internals.get("attention", {}).items()},
            {name: _numpy(s[:, -1]) for name, s in internals.get("states", {}).items()},
        )


class _Recurrent:
    """A recurrent LM: the prompt through each layer once, then one token at a time from the
    carried (h, c) state, with PyTorch's own modules as ``forward_trace`` runs them."""

    def __init__(self, model: LanguageModel, prompt: tuple[int, ...]) -> None:
        assert isinstance(model.net, RecurrentLM)
        self.net, self.prompt = model.net, prompt
        self.state: list[torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None] = [None] * len(
            self.net.layers
        )

    def start(self) -> _Step:
        return self._run(list(self.prompt))

    def advance(self, token: int) -> _Step:
        return self._run([token])

    def _run(self, ids: list[int]) -> _Step:
        x = self.net.wte(torch.tensor([ids]))  # [1, n, d_embed]
        hs, cs = [], []
        for k, layer in enumerate(self.net.layers):
            x, self.state[k] = layer(x, self.state[k])  # x: [1, n, d_hidden]
            hs.append(x[0, -1])
            if isinstance(layer, nn.LSTM):
                cs.append(self.state[k][1][0, 0])  # type: ignore[index]
        states = {"h": _numpy(torch.stack(hs))}
        if cs:
            states["c"] = _numpy(torch.stack(cs))
        return _Step(self.net.unembed(x[0, -1]), {}, states)


def _numpy(x: torch.Tensor) -> np.ndarray:
    arr = np.ascontiguousarray(x.detach().numpy(), dtype=np.float32)
    arr.flags.writeable = False
    return arr


def next_token(
    logits: torch.Tensor,
    strategy: str,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
) -> tuple[int, float]:
    """The token chosen from ``logits`` [d_vocab] and its probability in the distribution it was
    chosen from (1.0 for greedy)."""
    if strategy == "greedy":
        return int(torch.argmax(logits)), 1.0
    shifted = (logits.double() - logits.max()) / temperature  # shift first: any τ > 0 is stable
    if top_k is not None and top_k < shifted.numel():
        keep = torch.topk(shifted, top_k).indices
        shifted = torch.full_like(shifted, -math.inf).index_copy_(0, keep, shifted[keep])
    probs = torch.softmax(shifted, dim=-1)
    token = int(torch.multinomial(probs, 1, generator=generator))
    return token, float(probs[token])


class Generation(Iterator[GeneratedToken]):
    """An iterator over the new tokens of one generation; ``generate`` makes it, checking every
    option first, so a bad request fails before the first token."""

    def __init__(
        self,
        model: LanguageModel,
        prompt: Tokens,
        max_new_tokens: int,
        strategy: str,
        temperature: float,
        top_k: int | None,
        seed: int | None,
        alternatives: int,
    ) -> None:
        self.model, self.prompt = model, prompt
        self.strategy, self.temperature, self.top_k = strategy, temperature, top_k
        self.max_new_tokens, self.alternatives = max_new_tokens, alternatives
        self.seed = seed if strategy == "sample" else None  # the seed used (drawn when none was given)
        self._generator = torch.Generator()
        if self.seed is not None:
            self._generator.manual_seed(self.seed)
        self.limit = min(max_new_tokens, model.n_ctx - len(prompt))  # tokens this run makes at most
        self._new: list[int] = []
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        runner = _Recurrent if isinstance(model.net, RecurrentLM) else _Rerun
        self._runner = runner(model, prompt.ids)
        self._step: _Step | None = None
        self._done = False

    @property
    def ids(self) -> tuple[int, ...]:
        """The whole sequence so far: the prompt's ids, then the new ones."""
        return (*self.prompt.ids, *self._new)

    @property
    def new_ids(self) -> tuple[int, ...]:
        return tuple(self._new)

    def __iter__(self) -> Generation:
        return self

    def __next__(self) -> GeneratedToken:
        if self._done:
            raise StopIteration
        with torch.inference_mode():
            if self._step is None:
                self._step = self._runner.start()
            logits = self._step.logits
            token, sampled = next_token(logits, self.strategy, self.temperature, self.top_k, self._generator)
            probs = torch.softmax(logits.double(), dim=-1)
            top = torch.topk(probs, self.alternatives)
            self._new.append(token)
            self._step = self._runner.advance(token)
        finish = self._finish(token)
        self._done = finish is not None
        tok = self.model.tokenizer
        is_eot = token == tok.eot_id
        return GeneratedToken(
            index=len(self._new) - 1,
            position=len(self.prompt) + len(self._new) - 1,
            id=token,
            string=tok.display(token),
            text=self._decoder.decode(b"" if is_eot else tok.token_bytes(token), final=self._done),
            probability=float(probs[token]),
            sampled_probability=sampled,
            top_ids=_frozen_ids(top.indices),
            top_strings=tuple(tok.display(int(i)) for i in top.indices),
            top_probs=_numpy(top.values.float()),
            attention=MappingProxyType(self._step.attention),
            states=MappingProxyType(self._step.states),
            finish=finish,
        )

    def _finish(self, token: int) -> Finish | None:
        if token == self.model.tokenizer.eot_id:
            return "end_of_text"
        if len(self._new) == self.max_new_tokens:
            return "length"
        if len(self.prompt) + len(self._new) == self.model.n_ctx:
            return "context"
        return None


def _frozen_ids(x: torch.Tensor) -> np.ndarray:
    arr = x.numpy().astype(np.int64)
    arr.flags.writeable = False
    return arr


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not low <= value <= high:
        raise OptionError(name, value, low, high)
    return int(value)


def generate(
    model: LanguageModel,
    prompt: str,
    max_new_tokens: int,
    strategy: str = "greedy",
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int | None = None,
    alternatives: int = DEFAULT_TOP_K,
) -> Generation:
    """Continue ``prompt`` with ``model``: an iterator of ``GeneratedToken``, one per new token.

    Raises, before any token: ``EmptyTextError`` (empty prompt), ``NoRoomError`` (the prompt
    fills n_ctx), ``ChoiceError`` (unknown strategy), ``TemperatureError`` (not a finite
    number above 0), ``OptionError`` (max_new_tokens not 1..MAX_NEW_TOKENS, top_k not
    1..d_vocab, seed not 0..2⁶³−1, alternatives not 1..MAX_TOP_K).
    """
    if strategy not in STRATEGIES:
        raise ChoiceError("strategy", strategy, STRATEGIES)
    max_new_tokens = _check_int("max_new_tokens", max_new_tokens, 1, MAX_NEW_TOKENS)
    if isinstance(temperature, bool) or not isinstance(temperature, int | float):
        raise TemperatureError(temperature)
    if not (math.isfinite(temperature) and temperature > 0):
        raise TemperatureError(temperature)
    if top_k is not None:
        top_k = _check_int("top_k", top_k, 1, model.spec.d_vocab)
    if seed is not None:
        seed = _check_int("seed", seed, 0, MAX_SEED)
    elif strategy == "sample":
        seed = secrets.randbelow(MAX_SEED + 1)
    alternatives = _check_int("alternatives", alternatives, 1, MAX_TOP_K)
    tokens = model.tokenizer.encode(prompt)
    if len(tokens) == 0:
        raise EmptyTextError()
    if len(tokens) >= model.n_ctx:
        raise NoRoomError(len(tokens), model.n_ctx)
    return Generation(model, tokens, max_new_tokens, strategy, float(temperature), top_k, seed, alternatives)
