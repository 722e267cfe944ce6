"""The training corpus: which books, how they are cleaned, and the fixed train/validation split.

The data lives outside the repository (``../shared/data/english`` by default); only its
sha256 sums are recorded in model cards.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

# Ten novels; Huckleberry Finn (pg76) is left out for its heavy dialect and Tiny
# Shakespeare for its verse layout.
BOOKS: tuple[str, ...] = (
    "pg1342.txt",  # Pride and Prejudice
    "pg11.txt",  # Alice's Adventures in Wonderland
    "pg1661.txt",  # The Adventures of Sherlock Holmes
    "pg98.txt",  # A Tale of Two Cities
    "pg345.txt",  # Dracula
    "pg174.txt",  # The Picture of Dorian Gray
    "pg16.txt",  # Peter Pan
    "pg236.txt",  # The Jungle Book
    "pg5200.txt",  # Metamorphosis
    "pg2701.txt",  # Moby Dick
)
# Texts that may be added to the training split only, whole: the held-out text stays the last
# 5% of the ten books above, so bits per character stay comparable across recipes.
EXTRA_BOOKS: dict[str, str] = {
    "pg76.txt": "Adventures of Huckleberry Finn",
    "tinyshakespeare.txt": "Tiny Shakespeare",
}
HELD_OUT_FRACTION = 0.05
EOT = "<|endoftext|>"
DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "english"

_PARAGRAPH = re.compile(r"\n\s*\n")


def data_dir() -> Path:
    """The corpus folder: ``$ATTENZIONE_DATA_DIR`` or ``../shared/data/english``."""
    return Path(os.environ.get("ATTENZIONE_DATA_DIR", DEFAULT_DATA_DIR))


def clean(raw: str) -> str:
    """Unwrap hard-wrapped lines inside paragraphs; keep paragraph breaks as one blank line.

    Gutenberg texts wrap at ~70 columns. People type sentences without line breaks, so the
    models are trained on prose as it is typed.
    """
    paragraphs = (" ".join(p.split()) for p in _PARAGRAPH.split(raw.replace("\r\n", "\n")))
    return "\n\n".join(p for p in paragraphs if p)


def split_book(text: str, fraction: float = HELD_OUT_FRACTION) -> tuple[str, str]:
    """Split a cleaned book at the first paragraph break after (1 - fraction) of its length."""
    cut = text.find("\n\n", int(len(text) * (1.0 - fraction)))
    if cut < 0:
        raise ValueError("book has no paragraph break in its last part")
    return text[:cut], text[cut + 2 :]


@dataclass(frozen=True)
class Corpus:
    """Cleaned train and validation texts, one entry per book, plus provenance."""

    train: tuple[str, ...]
    valid: tuple[str, ...]
    files: dict[str, str]  # file name -> sha256 of the raw file

    def describe(self) -> dict[str, object]:
        return {
            "files": self.files,
            "cleaning": "hard line wraps joined into spaces; paragraphs separated by one blank line",
            "split": f"last {HELD_OUT_FRACTION:.0%} of each book, cut at a paragraph break",
            "train_chars": sum(map(len, self.train)),
            "valid_chars": sum(map(len, self.valid)),
        }


def load_corpus(folder: Path | None = None, books: tuple[str, ...] = BOOKS) -> Corpus:
    folder = folder or data_dir()
    train, valid, files = [], [], {}
    for name in books:
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(
                f"training text {path} is missing; set ATTENZIONE_DATA_DIR to the folder "
                "that holds the English novels"
            )
        raw = path.read_bytes()
        files[name] = hashlib.sha256(raw).hexdigest()
        head, tail = split_book(clean(raw.decode("utf-8")))
        train.append(head)
        valid.append(tail)
    return Corpus(tuple(train), tuple(valid), files)


def load_extra(names: tuple[str, ...], folder: Path | None = None) -> tuple[tuple[str, ...], dict[str, str]]:
    """Cleaned whole texts of ``names`` (from ``EXTRA_BOOKS``) for training, and their sha256."""
    folder = folder or data_dir()
    texts, files = [], {}
    for name in names:
        if name not in EXTRA_BOOKS:
            raise ValueError(f"unknown extra text {name!r}; choose from {', '.join(EXTRA_BOOKS)}")
        raw = (folder / name).read_bytes()
        files[name] = hashlib.sha256(raw).hexdigest()
        texts.append(clean(raw.decode("utf-8")))
    return tuple(texts), files
