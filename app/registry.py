"""The model registry: every built-in model, loaded once at start-up.

A model whose files are missing or corrupt is recorded as unavailable with the reason; the
others keep working. Nothing is ever loaded from a path a request names.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from models.checkpoint import ARCHS, TOKENIZER_FILE
from models.errors import CheckpointError
from models.lm import LanguageModel, load_model
from models.tokenizer import Tokenizer
from models.translation import TranslationModel, load_translation_model
from models.translation.checkpoint import NAMES as MT_NAMES

log = logging.getLogger("attenzione.registry")

BUILTIN = ARCHS  # transformer, lstm, gru, rnn
MT_FOLDER = "mt"  # translation models live in a folder of their own beside the language models


def _reason(exc: Exception, folder: Path) -> str:
    """Why a model could not be loaded, for API clients: no folder paths of this server."""
    text = str(exc) if isinstance(exc, CheckpointError) else f"{type(exc).__name__}: {exc}"
    for path in (str(folder.resolve()), str(folder)):
        text = text.replace(path + "/", "").replace(path, "")
    return text[:500]


Model = LanguageModel | TranslationModel


@dataclass(frozen=True)
class Entry:
    name: str
    model: Model | None
    reason: str | None = None  # why it is unavailable

    @property
    def available(self) -> bool:
        return self.model is not None


def _translation_entries(folder: Path) -> dict[str, Entry]:
    """The translation models in ``folder`` (the built-in two first), each loaded on its own."""
    names = [*MT_NAMES.values()]
    names += sorted(p.stem for p in folder.glob("*.json") if p.name != TOKENIZER_FILE and p.stem not in names)
    entries = {}
    for name in names:
        try:
            entries[name] = Entry(name, load_translation_model(name, folder))
        except Exception as exc:
            reason = _reason(exc, folder)
            log.warning("model %s unavailable: %s", name, reason)
            entries[name] = Entry(name, None, reason)
    return entries


class Registry:
    def __init__(self, entries: dict[str, Entry], tokenizer_id: str = "builtin-bpe") -> None:
        self.entries = entries
        self.tokenizer_id = tokenizer_id

    @classmethod
    def load(cls, folder: Path) -> Registry:
        names = list(BUILTIN) + sorted(
            p.stem for p in folder.glob("*.json") if p.name != TOKENIZER_FILE and p.stem not in BUILTIN
        )
        entries: dict[str, Entry] = {}
        try:
            tokenizer: Tokenizer | None = Tokenizer.from_file(folder / TOKENIZER_FILE)
            tok_error = None
        except Exception as exc:
            tokenizer, tok_error = None, _reason(exc, folder)
        for name in names:
            if tokenizer is None:
                entries[name] = Entry(name, None, f"tokenizer unavailable: {tok_error}")
                continue
            try:
                entries[name] = Entry(name, load_model(name, folder, tokenizer))
            except Exception as exc:  # any fault in one model's files leaves the others serving
                reason = _reason(exc, folder)
                log.warning("model %s unavailable: %s", name, reason)
                entries[name] = Entry(name, None, reason)
        vocab = tokenizer.vocab_size if tokenizer else 0
        if (folder / MT_FOLDER).is_dir():
            entries.update(_translation_entries(folder / MT_FOLDER))
        return cls(entries, tokenizer_id=f"builtin-bpe-{vocab}")

    @property
    def names(self) -> list[str]:
        return list(self.entries)

    @property
    def language_models(self) -> list[str]:
        return [n for n, e in self.entries.items() if not isinstance(e.model, TranslationModel)]

    @property
    def translation_models(self) -> list[str]:
        return [
            n
            for n, e in self.entries.items()
            if isinstance(e.model, TranslationModel) or n in MT_NAMES.values()
        ]

    @property
    def available(self) -> list[str]:
        return [n for n, e in self.entries.items() if e.available]

    @property
    def unavailable(self) -> dict[str, str]:
        return {n: e.reason or "" for n, e in self.entries.items() if not e.available}
