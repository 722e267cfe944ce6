"""``attenzione translate``: the output, each token's probability and its most attended
source token, beam alternatives, forced decoding, and clear errors (in-process)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from models.translation import load_translation_model
from tests.tiny import write_tiny_translation_checkpoints


@pytest.fixture(scope="module")
def with_translation(cli_checkpoints: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli-translation")
    shutil.copytree(cli_checkpoints, folder, dirs_exist_ok=True)
    write_tiny_translation_checkpoints(folder / "mt")
    return folder


def test_translate_prints_the_models_translation_and_alignment(attenzione, with_translation):
    r = attenzione(
        "translate", "I am cold.", "--model", "lstm-enfr", "--beam", "2", models_dir=with_translation
    )
    assert r.returncode == 0, r.stderr
    own = load_translation_model("lstm-enfr", with_translation / "mt").translate("I am cold.", beam=2)
    lines = r.stdout.splitlines()
    assert lines[0] == own.text
    assert "beam 2" in lines[1]
    assert sum(1 for line in lines if "<-" in line) == len(own.token_probs)


def test_translate_forced_scores_the_given_french(attenzione, with_translation):
    r = attenzione("translate", "I am cold.", "--model", "transformer-enfr", "--target", "J'ai froid.",
                   models_dir=with_translation)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("forced: J'ai froid.") and "teacher-forced" in r.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--model", "lstm"], ["not a translation model", "transformer-enfr"]),
        (["--model", "bert"], ["unknown"]),
        (["--beam", "12"], ["beam", "1 to 8"]),
    ],
)
def test_translate_errors_exit_2_with_a_message(attenzione, with_translation, args, words):
    r = attenzione("translate", "I am cold.", *args, models_dir=with_translation)
    assert r.returncode == 2 and all(w in r.stderr for w in words), r.stderr
