"""Errors raised by the models package, with messages that say what to change."""

from __future__ import annotations

from pathlib import Path


class CheckpointError(RuntimeError):
    """A checkpoint file is missing or unreadable; the message names the file (by its name
    only: messages reach API clients, who need not learn the server's folders)."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = Path(path)
        super().__init__(f"{self.path.name}: {reason}")


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
    """More tokens than the model reads. ``fits_chars``, where known: the text's first
    ``fits_chars`` characters are its longest prefix, cut at a token boundary, that the
    model reads (what a page offers to trace instead)."""

    def __init__(self, n_tokens: int, n_ctx: int, fits_chars: int | None = None) -> None:
        self.n_tokens = n_tokens
        self.n_ctx = n_ctx
        self.fits_chars = fits_chars
        super().__init__(
            f"text is {n_tokens} tokens long but the model's context n_ctx is {n_ctx} tokens; "
            f"shorten it by at least {n_tokens - n_ctx} tokens"
        )


class EmptyTranslationError(TextError):
    def __init__(self) -> None:
        super().__init__("translation is empty; type the French sentence to align with the English text")


class TranslationTooLongError(TextError):
    def __init__(self, n_tokens: int, max_tokens: int) -> None:
        self.n_tokens = n_tokens
        self.max_tokens = max_tokens
        super().__init__(
            f"translation is {n_tokens} tokens long with its end token but the model decodes at most "
            f"{max_tokens}; shorten it by at least {n_tokens - max_tokens} tokens"
        )


class OptionError(ValueError):
    """A decoding option out of its range; the message names the range."""

    def __init__(self, name: str, value: object, low: int | float, high: int | float) -> None:
        self.name = name
        super().__init__(f"{name} is {value!r}; choose a value from {low} to {high}")


class TemperatureError(OptionError):
    """A softmax temperature that is not a finite number above 0."""

    def __init__(self, value: object) -> None:
        self.name = "temperature"
        ValueError.__init__(
            self,
            f"temperature is {value!r}; choose a finite number above 0 "
            "(1 keeps the model's own distribution, below 1 sharpens it, above 1 flattens it)",
        )


class ChoiceError(OptionError):
    """An option that must be one of a few names."""

    def __init__(self, name: str, value: object, choices: tuple[str, ...]) -> None:
        self.name = name
        ValueError.__init__(self, f"{name} is {value!r}; choose one of {', '.join(choices)}")


class NoRoomError(TextError):
    """A prompt that fills the model's whole context, leaving no place for a new token."""

    def __init__(self, n_tokens: int, n_ctx: int) -> None:
        self.n_tokens = n_tokens
        self.n_ctx = n_ctx
        super().__init__(
            f"prompt is {n_tokens} tokens long and the model's context n_ctx is {n_ctx} tokens, which "
            f"leaves no room to generate; shorten it by at least {n_tokens - n_ctx + 1} tokens"
        )


class MissingPartError(ValueError):
    """A step-by-step view asked of a model that lacks what it shows (attention, gates)."""

    def __init__(self, model: str, architecture: str, lacks: str, choose: str) -> None:
        self.model = model
        super().__init__(f"model {model!r} ({architecture}) has no {lacks}; choose {choose}")


class InfluenceTooLongError(TextError):
    """Text longer than influence maps accept: their cost grows with the square of its length."""

    def __init__(self, n_tokens: int, limit: int) -> None:
        self.n_tokens = n_tokens
        self.limit = limit
        super().__init__(
            f"text is {n_tokens} tokens long but influence maps take at most {limit} tokens "
            f"(their cost grows with the square of the length); shorten it by at least {n_tokens - limit} tokens"
        )
