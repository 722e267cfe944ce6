"""``LanguageModel``: a network plus its tokenizer, and the thread-safe ``trace(text)``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .checkpoint import CHECKPOINT_DIR, TOKENIZER_FILE, load_net
from .errors import EmptyTextError, TooLongError
from .net import TracedNet
from .spec import DEFAULT_TOP_K, ModelSpec
from .tokenizer import Tokenizer, Tokens
from .trace import Trace, make_trace


class LanguageModel:
    """A named, trained (or random) causal language model that can trace a text.

    ``trace`` writes nothing on the model and runs under ``torch.inference_mode``, so one
    instance serves concurrent callers.
    """

    def __init__(
        self, name: str, net: TracedNet, tokenizer: Tokenizer, card: dict[str, Any] | None = None
    ) -> None:
        net.eval()
        self.name = name
        self.net = net
        self.tokenizer = tokenizer
        self.card = card or {}
        self.spec: ModelSpec = net.spec

    @property
    def n_ctx(self) -> int:
        return self.spec.n_ctx

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.net.parameters())

    def check_length(self, text: str, tokens: Tokens) -> None:
        """``EmptyTextError``, or ``TooLongError`` saying how much of ``text`` (encoded as
        ``tokens``) fits."""
        if len(tokens) == 0:
            raise EmptyTextError()
        if len(tokens) > self.n_ctx:
            raise TooLongError(len(tokens), self.n_ctx, self.tokenizer.prefix_chars(text, self.n_ctx, tokens))

    def trace(self, text: str, top_k: int = DEFAULT_TOP_K) -> Trace:
        """Tokenise ``text`` and return every internal of one forward pass."""
        tokens = self.tokenizer.encode(text)
        self.check_length(text, tokens)
        idx = torch.tensor([tokens.ids], dtype=torch.long)
        with torch.inference_mode():
            logits, internals = self.net.forward_trace(idx)
            return make_trace(
                model=self.name,
                spec=self.spec,
                text=text,
                tokens={"input": tokens},
                logits=logits,
                top_k=top_k,
                **internals,
            )


def load_model(name: str, folder: Path = CHECKPOINT_DIR, tokenizer: Tokenizer | None = None) -> LanguageModel:
    """Load checkpoint ``name`` (e.g. "transformer") and the tokenizer beside it."""
    net, card = load_net(folder, name)
    tokenizer = tokenizer or Tokenizer.from_file(folder / TOKENIZER_FILE)
    return LanguageModel(name, net, tokenizer, card)
