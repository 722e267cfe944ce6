"""Errors raised by the models package, with messages that say what to change."""

from __future__ import annotations

from pathlib import Path


class CheckpointError(RuntimeError):
    """A checkpoint file is missing or unreadable; the message names the file."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = Path(path)
        super().__init__(f"{self.path}: {reason}")


class TextError(ValueError):
    """Text a model cannot trace: empty, or longer than its context."""


class EmptyTextError(TextError):
    def __init__(self) -> None:
        super().__init__("text is empty; type at least one character")


class InvalidTextError(TextError):
    """Text that is not valid Unicode, e.g. a lone surrogate from a broken JSON escape."""

    def __init__(self, position: int, char: str) -> None:
        super().__init__(
            f"text has an invalid character U+{ord(char):04X} (a lone surrogate) at position {position}; "
            "remove it or send well-formed UTF-8"
        )


class TooLongError(TextError):
    def __init__(self, n_tokens: int, n_ctx: int) -> None:
        self.n_tokens = n_tokens
        self.n_ctx = n_ctx
        super().__init__(
            f"text is {n_tokens} tokens long but the model's context n_ctx is {n_ctx} tokens; "
            f"shorten it by at least {n_tokens - n_ctx} tokens"
        )


class InfluenceTooLongError(TextError):
    """Text longer than influence maps accept: their cost grows with the square of its length."""

    def __init__(self, n_tokens: int, limit: int) -> None:
        self.n_tokens = n_tokens
        self.limit = limit
        super().__init__(
            f"text is {n_tokens} tokens long but influence maps take at most {limit} tokens "
            f"(their cost grows with the square of the length); shorten it by at least {n_tokens - limit} tokens"
        )
