"""``TranslationModel``: an encoder–decoder plus its tokenizer, with thread-safe ``translate``
(greedy or beam search) and ``force`` (teacher-forced scoring and alignment of a given
translation), each returning a ``Translation`` that holds a ``Trace``.

Token convention: the source role is the English tokens then EOS; the target role is BOS,
the French tokens, then EOS (absent when decoding stopped at ``max_len``). Row t of the
target's logits, cross-attention and states belongs to the step that reads target token t
and predicts token t + 1, as in a language model's trace; BOS and EOS have empty spans.
"""

from __future__ import annotations

import codecs
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import EmptyTextError, EmptyTranslationError, OptionError, TooLongError, TranslationTooLongError
from ..spec import DEFAULT_TOP_K, MAX_TOP_K, ModelSpec
from ..tokenizer import Tokenizer, Tokens
from ..trace import Trace, make_trace
from .checkpoint import MT_DIR, TOKENIZER_FILE, load_mt_net
from .net import Seq2SeqNet
from .search import Hypothesis, beam_search, greedy

MAX_BEAM = 8
MAX_TARGET_TOKENS = 256  # longest output, in tokens with its EOS
BOS_STRING, EOS_STRING = "<s>", "</s>"


@dataclass(frozen=True)
class Alternative:
    """One hypothesis of the search, as text."""

    text: str
    ids: tuple[int, ...]  # target ids without BOS; ends with EOS when ``finished``
    token_probs: tuple[float, ...]  # probability of each of ``ids`` at its decoding step
    log_prob: float  # natural log-probability of ``ids``
    score: float  # what the search ranked by: log_prob / len(ids)**alpha
    finished: bool


@dataclass(frozen=True)
class Translation:
    """The output of ``translate`` or ``force``.

    ``trace`` holds tokens by role ("source", "target"), every attention kind, states, gates,
    logits and predictions of the teacher-forced pass over the output. ``token_probs[i]`` is the
    probability the model gave output token i (EOS included): at its decoding step for
    ``translate``, from the teacher-forced pass for ``force``; ``log_prob`` is the sum of their
    natural logs. ``alternatives`` are the search's final hypotheses, best first
    (``alternatives[0]`` is the output); greedy search and ``force`` give one.
    """

    model: str
    source: str
    text: str  # the French output, or the given French for ``force``
    trace: Trace
    token_probs: np.ndarray  # float64[n_output_tokens]
    log_prob: float
    alternatives: tuple[Alternative, ...]
    beam: int  # 1 for greedy search, 0 for forced decoding
    finished: bool  # the output ends with EOS


def target_tokens(tokenizer: Tokenizer, ids: tuple[int, ...], eos: int) -> tuple[str, Tokens]:
    """The text of output ``ids`` and its target tokens [BOS, ids..] with character spans into
    that text (a token that ends inside a character gets the span up to the last whole one)."""
    body = ids[:-1] if ids and ids[-1] == eos else ids
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    parts, spans, pos = [], [], 0
    for token in body:
        piece = decoder.decode(tokenizer.token_bytes(token))
        parts.append(piece)
        spans.append((pos, pos + len(piece)))
        pos += len(piece)
    tail = decoder.decode(b"", final=True)
    text = "".join(parts) + tail
    if tail and spans:
        spans[-1] = (spans[-1][0], len(text))
    strings = [tokenizer.display(t) for t in body]
    all_ids, all_strings, all_spans = [eos, *body], [BOS_STRING, *strings], [(0, 0), *spans]
    if len(body) < len(ids):
        all_ids.append(eos)
        all_strings.append(EOS_STRING)
        all_spans.append((len(text), len(text)))
    return text, Tokens(tuple(all_ids), tuple(all_strings), tuple(all_spans))


class TranslationModel:
    """A named English→French model. ``translate`` and ``force`` write nothing on the model
    and run under ``torch.inference_mode``, so one instance serves concurrent callers."""

    def __init__(
        self, name: str, net: Seq2SeqNet, tokenizer: Tokenizer, card: dict[str, Any] | None = None
    ) -> None:
        net.eval()
        self.name = name
        self.net = net
        self.tokenizer = tokenizer
        self.card = card or {}
        self.spec: ModelSpec = net.spec
        self.eos = self.bos = tokenizer.eot_id
        self.max_target_tokens = MAX_TARGET_TOKENS

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.net.parameters())

    def source_tokens(self, text: str) -> Tokens:
        """The English ``text`` tokenised, EOS appended; raises if empty or too long."""
        tokens = self.tokenizer.encode(text)
        if not tokens.ids:
            raise EmptyTextError()
        if len(tokens) + 1 > self.spec.n_ctx:
            raise TooLongError(len(tokens) + 1, self.spec.n_ctx)
        end = (len(text), len(text))
        return Tokens((*tokens.ids, self.eos), (*tokens.strings, EOS_STRING), (*tokens.spans, end))

    def default_max_len(self, n_source: int) -> int:
        return min(self.max_target_tokens, 2 * n_source + 10)

    def translate(
        self,
        text: str,
        beam: int = 1,
        max_len: int | None = None,
        alpha: float = 1.0,
        top_k: int = DEFAULT_TOP_K,
    ) -> Translation:
        """Translate English ``text`` by greedy search (``beam=1``) or beam search (2-8),
        producing at most ``max_len`` tokens (EOS included; default 2·source + 10, at most 256).
        ``alpha`` is the length-normalisation exponent."""
        if not isinstance(beam, int) or not 1 <= beam <= MAX_BEAM:
            raise OptionError("beam", beam, 1, MAX_BEAM)
        if not 0.0 <= alpha <= 2.0:
            raise OptionError("alpha", alpha, 0.0, 2.0)
        source = self.source_tokens(text)
        if max_len is None:
            max_len = self.default_max_len(len(source))
        if not isinstance(max_len, int) or not 1 <= max_len <= self.max_target_tokens:
            raise OptionError("max_len", max_len, 1, self.max_target_tokens)
        src = torch.tensor([source.ids])
        with torch.inference_mode():
            if beam == 1:
                hyps = [greedy(self.net, src, self.bos, self.eos, max_len)]
            else:
                hyps = beam_search(self.net, src, self.bos, self.eos, max_len, beam, alpha)
        alternatives = tuple(self._alternative(h) for h in hyps)
        return self._result(text, source, hyps[0].ids, alternatives, beam, top_k)

    def force(self, text: str, french: str, top_k: int = DEFAULT_TOP_K) -> Translation:
        """Score the given French translation of ``text`` token by token (teacher forcing) and
        return its alignment; its own tokenisation of ``french`` is used."""
        if not french:
            raise EmptyTranslationError()
        return self.force_ids(text, (*self.tokenizer.encode_ids(french), self.eos), top_k)

    def force_ids(self, text: str, ids: tuple[int, ...], top_k: int = DEFAULT_TOP_K) -> Translation:
        """``force`` for target ``ids`` (without BOS; EOS last if the output ended)."""
        source = self.source_tokens(text)
        if not ids:
            raise EmptyTranslationError()
        if len(ids) > self.max_target_tokens:
            raise TranslationTooLongError(len(ids), self.max_target_tokens)
        return self._result(text, source, tuple(ids), (), 0, top_k)

    def _alternative(self, hyp: Hypothesis) -> Alternative:
        text, _ = target_tokens(self.tokenizer, hyp.ids, self.eos)
        probs = tuple(math.exp(lp) for lp in hyp.token_log_probs)
        return Alternative(text, hyp.ids, probs, hyp.log_prob, hyp.score, hyp.finished)

    def _result(
        self,
        text: str,
        source: Tokens,
        ids: tuple[int, ...],
        alternatives: tuple[Alternative, ...],
        beam: int,
        top_k: int,
    ) -> Translation:
        if not 1 <= top_k <= MAX_TOP_K:
            raise OptionError("top_k", top_k, 1, MAX_TOP_K)
        output, target = target_tokens(self.tokenizer, ids, self.eos)
        with torch.inference_mode():
            logits, internals = self.net.forward_trace(torch.tensor([source.ids]), torch.tensor([target.ids]))
            trace = make_trace(
                model=self.name,
                spec=self.spec,
                text=text,
                tokens={"source": source, "target": target},
                logits=logits,
                top_k=top_k,
                **internals,
            )
            logp = torch.log_softmax(logits[: len(ids)].float(), dim=-1)
            chosen = logp.gather(1, torch.tensor(ids)[:, None])[:, 0].tolist()  # [n_output]
        if not alternatives:
            log_prob = math.fsum(chosen)
            probs = tuple(math.exp(lp) for lp in chosen)
            alternatives = (
                Alternative(output, ids, probs, log_prob, log_prob / len(ids), ids[-1] == self.eos),
            )
        best = alternatives[0]
        token_probs = np.array(best.token_probs, dtype=np.float64)
        token_probs.flags.writeable = False
        return Translation(
            model=self.name,
            source=text,
            text=output,
            trace=trace,
            token_probs=token_probs,
            log_prob=best.log_prob,
            alternatives=alternatives,
            beam=beam,
            finished=ids[-1] == self.eos,
        )


def load_translation_model(name: str, folder: Path | None = None) -> TranslationModel:
    """Load ``folder/name.{json,safetensors}`` and ``folder/tokenizer.json`` (default folder:
    ``models/checkpoints/mt``)."""
    folder = folder or MT_DIR
    net, card = load_mt_net(folder, name)
    return TranslationModel(name, net, Tokenizer.from_file(folder / TOKENIZER_FILE), card)
