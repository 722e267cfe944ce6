"""Byte-level BPE tokenizer: training, loading, and tokens with display strings and spans.

Any Unicode text encodes without an unknown token (every byte is in the vocabulary) and
decodes back exactly. The end-of-text token is in the vocabulary but cannot be produced
from typed text: only the data pipeline inserts it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Encoding, decoders, models, pre_tokenizers, trainers
from tokenizers import Tokenizer as HFTokenizer

from .data import EOT
from .errors import CheckpointError, InvalidTextError

_CONTROL_NAMES = {"\n": "↵", "\t": "⇥", "\r": "␍"}


@lru_cache(maxsize=1)
def _unicode_to_byte() -> dict[str, int]:
    """Inverse of GPT-2's byte-level alphabet (printable bytes map to themselves, the other
    bytes to code points from 256 up, in byte order), which ``tokenizers`` also uses."""
    printable = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    mapping = {b: b for b in printable}
    extra = 256
    for b in range(256):
        if b not in mapping:
            mapping[b] = extra
            extra += 1
    return {chr(cp): b for b, cp in mapping.items()}


def display(raw: bytes) -> str:
    """A readable label for a token's bytes: a word-initial space shows as '␣', newlines as
    '↵', other control characters and partial UTF-8 sequences as escapes."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(chr(b) if 0x20 < b < 0x7F else f"\\x{b:02x}" for b in raw)
    out = []
    for ch in text:
        if ch == " ":
            out.append("␣")
        elif ch in _CONTROL_NAMES:
            out.append(_CONTROL_NAMES[ch])
        elif ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)


@dataclass(frozen=True)
class Tokens:
    """One tokenised text: ids, display strings and [start, end) character spans."""

    ids: tuple[int, ...]
    strings: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]

    def __len__(self) -> int:
        return len(self.ids)


class Tokenizer:
    """A thin wrapper over a trained ``tokenizers`` byte-level BPE."""

    def __init__(self, hf: HFTokenizer) -> None:
        self._hf = hf
        self.vocab_size = hf.get_vocab_size()
        eot_id = hf.token_to_id(EOT)
        if eot_id is None:
            raise ValueError(f"tokenizer has no {EOT} token")
        self.eot_id: int = eot_id
        table = _unicode_to_byte()
        self._bytes: list[bytes] = []
        for i in range(self.vocab_size):
            piece = hf.id_to_token(i) or ""
            self._bytes.append(piece.encode() if i == self.eot_id else bytes(table[c] for c in piece))
        self._display = [EOT if i == self.eot_id else display(b) for i, b in enumerate(self._bytes)]
        self._display_array = np.array(self._display, dtype=object)

    @classmethod
    def from_file(cls, path: Path) -> Tokenizer:
        if not Path(path).is_file():  # tokenizers reports a missing file as a bare Exception
            raise CheckpointError(path, "file is missing")
        try:
            return cls(HFTokenizer.from_file(str(path)))
        except Exception as exc:  # tokenizers raises a bare Exception on bad JSON
            raise CheckpointError(path, f"not a valid tokenizer file ({exc})") from exc

    def save(self, path: Path) -> None:
        self._hf.save(str(path))

    def _encode(self, text: str) -> Encoding:
        try:
            return self._hf.encode(text, add_special_tokens=False)
        except TypeError:  # the Rust side rejects lone surrogates
            bad = next((i for i, ch in enumerate(text) if 0xD800 <= ord(ch) <= 0xDFFF), None)
            if bad is None:
                raise
            raise InvalidTextError(bad, text[bad]) from None

    def encode(self, text: str) -> Tokens:
        enc = self._encode(text)
        ids = tuple(enc.ids)
        return Tokens(ids, tuple(self._display[i] for i in ids), tuple(enc.offsets))

    def encode_ids(self, text: str) -> list[int]:
        return list(self._encode(text).ids)

    def prefix_chars(self, text: str, n: int, tokens: Tokens | None = None) -> int:
        """The length in characters of the longest prefix of ``text`` that ends at a token
        boundary and encodes to at most ``n`` tokens (0: none); ``tokens``: the text's own, if
        the caller has them. A boundary inside a character (its UTF-8 bytes split over tokens)
        is no boundary; the prefix is encoded again, as BPE need not cut a prefix where it cut
        the whole."""
        spans = (self.encode(text) if tokens is None else tokens).spans
        for k in range(min(n, len(spans)), 0, -1):
            end = spans[k - 1][1]
            at_boundary = k == len(spans) or spans[k][0] >= end
            if at_boundary and len(self.encode_ids(text[:end])) <= n:
                return end
        return 0

    def decode(self, ids: Iterable[int]) -> str:
        return b"".join(self._bytes[i] for i in ids).decode("utf-8", errors="replace")

    def token_bytes(self, token_id: int) -> bytes:
        return self._bytes[token_id]

    def display(self, token_id: int) -> str:
        return self._display[token_id]

    def displays(self, ids: np.ndarray) -> list[Any]:
        """Display strings of an array of ids, as nested lists of the same shape."""
        return self._display_array[ids].tolist()


def train_tokenizer(texts: Iterable[str], vocab_size: int = 4096) -> Tokenizer:
    """Train a byte-level BPE on ``texts``; the end-of-text token gets id 0."""
    hf = HFTokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    hf.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    hf.train_from_iterator(texts, trainer=trainer)
    # Drop EOT from the added tokens so typed text containing "<|endoftext|>" is encoded as
    # ordinary bytes; the id stays in the BPE vocabulary for the data pipeline.
    spec = json.loads(hf.to_str())
    spec["added_tokens"] = []
    return Tokenizer(HFTokenizer.from_str(json.dumps(spec)))
