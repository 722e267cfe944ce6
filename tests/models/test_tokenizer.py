"""The byte-level BPE tokenizer: lossless on any Unicode, spans, display strings, and an
end-of-text token that typed text cannot produce."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from models.data import EOT
from models.errors import InvalidTextError
from models.tokenizer import Tokenizer

WORDS = st.lists(st.sampled_from(["the", "cat", "sat", "on", "mat", "whale", "Ishmael", "a"]), min_size=1)


@settings(max_examples=200, deadline=None)
@given(text=st.text())
@example(text="")
@example(text="\x00\x01\x02\x07\x1b\x7f\x80\x9f\t\n\r\x0b\x0c")
@example(text="emoji 😀👍🏽👨‍👩‍👧🇮🇹 end")
@example(text="right to left: مرحبا بالعالم שלום")
@example(text="combining e\u0301 a\u0308\u0304 \u0301\u0301 Z\u0351")
@example(text="\u200b\u200d\ufeff\u2028\u2029\U0010ffff")
@example(text=EOT + " and " + EOT)
@example(text="   leading and trailing   ")
def test_tokenizer_round_trips_any_text_with_valid_ids_and_spans(tokenizer: Tokenizer, text: str) -> None:
    tokens = tokenizer.encode(text)
    assert tokenizer.decode(tokens.ids) == text
    assert list(tokens.ids) == tokenizer.encode_ids(text)
    assert len(tokens.ids) == len(tokens.strings) == len(tokens.spans)
    assert all(0 <= i < tokenizer.vocab_size for i in tokens.ids)
    assert tokenizer.eot_id not in tokens.ids
    starts = [start for start, _ in tokens.spans]
    assert starts == sorted(starts)
    assert all(0 <= start <= end <= len(text) for start, end in tokens.spans)
    assert b"".join(tokenizer.token_bytes(i) for i in tokens.ids) == text.encode("utf-8")
    if text:
        assert tokens.spans[0][0] == 0 and tokens.spans[-1][1] == len(text)


@settings(max_examples=50, deadline=None)
@given(words=WORDS)
def test_display_strings_show_word_initial_space_as_open_box(tokenizer: Tokenizer, words: list[str]) -> None:
    text = " ".join(words)
    tokens = tokenizer.encode(text)
    for string, (start, end) in zip(tokens.strings, tokens.spans, strict=True):
        assert string == text[start:end].replace(" ", "␣")
    assert sum(s.startswith("␣") for s in tokens.strings) == len(words) - 1
    assert all(" " not in s for s in tokens.strings)


def test_repeated_tokens_keep_repeated_ids_and_distinct_spans(tokenizer: Tokenizer) -> None:
    tokens = tokenizer.encode("the the the")
    assert len(tokens) == 3
    assert tokens.ids[1] == tokens.ids[2]
    assert tokens.strings[1:] == ("␣the", "␣the")
    assert len(set(tokens.spans)) == 3
    assert [("the the the")[a:b] for a, b in tokens.spans] == ["the", " the", " the"]


def test_typed_end_of_text_marker_is_not_the_eot_token(tokenizer: Tokenizer) -> None:
    tokens = tokenizer.encode(EOT)
    assert tokenizer.eot_id not in tokens.ids
    assert len(tokens) > 1
    assert tokenizer.decode(tokens.ids) == EOT
    assert tokenizer.display(tokenizer.eot_id) == EOT  # the real token still exists for data


def test_control_characters_display_as_visible_symbols(tokenizer: Tokenizer) -> None:
    strings = tokenizer.encode("a\nb\tc\x00").strings
    joined = "".join(strings)
    assert "↵" in joined and "⇥" in joined and "\\x00" in joined
    assert all(ch.isprintable() for s in strings for ch in s)


def test_lone_surrogate_raises_invalid_text_error_naming_the_position(tokenizer: Tokenizer) -> None:
    with pytest.raises(InvalidTextError, match=r"U\+D800.*position 3"):
        tokenizer.encode("abc\ud800def")


@settings(max_examples=100, deadline=None)
@given(text=st.text(min_size=1), n=st.integers(1, 12))
@example(text="a😀b héllo 日本語 cat", n=3)
@example(text="😀😀😀", n=2)
def test_prefix_chars_cuts_at_a_token_boundary_within_n_tokens(
    tokenizer: Tokenizer, text: str, n: int
) -> None:
    cut = tokenizer.prefix_chars(text, n)
    assert len(tokenizer.encode_ids(text[:cut])) <= n
    spans = tokenizer.encode(text).spans
    if len(spans) <= n:
        assert cut == len(text)
    # a boundary: no token of the whole text straddles the cut
    assert all(end <= cut or start >= cut for start, end in spans)


@settings(max_examples=50, deadline=None)
@given(words=WORDS, n=st.integers(1, 6))
def test_prefix_chars_of_plain_words_keeps_the_first_n_tokens(
    tokenizer: Tokenizer, words: list[str], n: int
) -> None:
    text = " ".join(words * 3)
    tokens = tokenizer.encode(text)
    want = tokens.spans[n - 1][1] if len(tokens) > n else len(text)
    assert tokenizer.prefix_chars(text, n) == want
