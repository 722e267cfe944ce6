"""``TranslationModel``: clear errors, target tokens with spans into the output, checkpoints
that round-trip through safetensors + JSON and fail naming the file."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from models.checkpoint import save_checkpoint
from models.errors import (
    CheckpointError,
    EmptyTextError,
    EmptyTranslationError,
    OptionError,
    TooLongError,
    TranslationTooLongError,
)
from models.tokenizer import Tokenizer
from models.translation.checkpoint import MT_DIR, TOKENIZER_FILE
from models.translation.model import (
    BOS_STRING,
    EOS_STRING,
    TranslationModel,
    load_translation_model,
    target_tokens,
)

from .conftest import SENTENCES


def test_empty_text_is_refused(mt: TranslationModel) -> None:
    with pytest.raises(EmptyTextError):
        mt.translate("")
    with pytest.raises(EmptyTextError):
        mt.force("", "Bonjour.")
    with pytest.raises(EmptyTranslationError, match="translation is empty"):
        mt.force("Hello.", "")


def test_too_long_source_is_refused_with_the_limit(mt: TranslationModel) -> None:
    with pytest.raises(TooLongError, match=f"n_ctx is {mt.spec.n_ctx} tokens; shorten it"):
        mt.translate("word " * mt.spec.n_ctx)
    mt.translate("word " * (mt.spec.n_ctx // 2 - 1), max_len=2)  # just fits (a token per " word", plus EOS)


def test_too_long_translation_is_refused(mt: TranslationModel) -> None:
    with pytest.raises(TranslationTooLongError, match="at most 256"):
        mt.force("Hello.", " mot" * 300)


@pytest.mark.parametrize(
    ("options", "name"),
    [({"beam": 0}, "beam"), ({"beam": 9}, "beam"), ({"beam": 2.0}, "beam"), ({"max_len": 0}, "max_len"),
     ({"max_len": 257}, "max_len"), ({"alpha": -1.0}, "alpha"), ({"top_k": 0}, "top_k")],
)  # fmt: skip
def test_bad_options_are_refused_with_their_range(mt: TranslationModel, options: dict, name: str) -> None:
    with pytest.raises(OptionError, match=f"^{name} is .*; choose a value from"):
        mt.translate("Hello.", **options)


def test_trace_tokens_carry_roles_specials_and_spans(mt: TranslationModel) -> None:
    text = "I'm here\u202f!"
    result = mt.translate(text, beam=2, max_len=10)
    source, target = result.trace.tokens["source"], result.trace.tokens["target"]
    assert result.trace.text == text and result.trace.spec.output_role == "target"
    assert (
        source.ids[-1] == mt.eos
        and source.strings[-1] == EOS_STRING
        and source.spans[-1] == (len(text), len(text))
    )
    assert "".join(text[a:b] for a, b in source.spans) == text
    assert target.ids[0] == mt.bos and target.strings[0] == BOS_STRING and target.spans[0] == (0, 0)
    out = result.text
    assert "".join(out[a:b] for a, b in target.spans) == out
    assert result.trace.logits.shape == (len(target), mt.spec.d_vocab)
    assert len(result.token_probs) == len(target) - 1  # one per token after BOS


def test_target_tokens_give_whole_characters_to_the_token_that_completes_them(
    mt_tokenizer: Tokenizer,
) -> None:
    eos = mt_tokenizer.eot_id
    raw = "é".encode()  # two bytes; byte tokens split it
    ids = tuple(mt_tokenizer.encode_ids("a")) + tuple(
        next(i for i in range(mt_tokenizer.vocab_size) if mt_tokenizer.token_bytes(i) == bytes([b]))
        for b in raw
    )
    text, tokens = target_tokens(mt_tokenizer, (*ids, eos), eos)
    assert text == "aé"
    assert tokens.spans == ((0, 0), (0, 1), (1, 1), (1, 2), (2, 2))
    assert tokens.strings[-1] == EOS_STRING and tokens.strings[2] == "\\xc3"


def test_checkpoint_round_trip_and_errors_name_the_file(mt: TranslationModel, tmp_path: Path) -> None:
    (tmp_path / TOKENIZER_FILE).write_bytes((MT_DIR / TOKENIZER_FILE).read_bytes())
    card = {"name": "tiny", "arch": mt.spec.architecture, "config": dataclasses.asdict(mt.net.cfg)}
    save_checkpoint(tmp_path, "tiny", mt.net, card)
    loaded = load_translation_model("tiny", tmp_path)
    for text in SENTENCES:
        a, b = mt.translate(text, beam=2, max_len=8), loaded.translate(text, beam=2, max_len=8)
        assert a.alternatives == b.alternatives
        np.testing.assert_array_equal(a.trace.logits, b.trace.logits)
    (tmp_path / "tiny.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError, match=r"tiny\.safetensors"):
        load_translation_model("tiny", tmp_path)
    (tmp_path / "tiny.json").write_text(json.dumps({**card, "arch": "gru"}))
    with pytest.raises(CheckpointError, match=r"tiny\.json"):
        load_translation_model("tiny", tmp_path)
    with pytest.raises(CheckpointError, match=r"missing\.json"):
        load_translation_model("missing", tmp_path)
