"""``attenzione generate``, run in-process on the tiny checkpoints: greedy and seeded sampling,
the token table, and errors that exit 2 with a message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import main
from app.settings import get_settings


@pytest.fixture(autouse=True)
def tiny_models_dir(cli_checkpoints: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ATTENZIONE_MODELS_DIR", str(cli_checkpoints))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["generate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_greedy_prints_the_prompt_and_its_continuation(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "The cat sat", "--model", "lstm", "--max-new-tokens", "6")
    assert code == 0, err
    assert out.startswith("The cat sat") and len(out) > len("The cat sat\n")
    assert "[6 tokens, greedy; stopped: reached --max-new-tokens]" in err
    assert _run(capsys, "The cat sat", "--model", "lstm", "--max-new-tokens", "6")[1] == out


def test_the_same_seed_prints_the_same_text(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("Once", "-m", "transformer", "-n", "8", "--temperature", "1.5", "--top-k", "100", "--seed", "7")
    first, second = _run(capsys, *args), _run(capsys, *args)
    assert first[0] == 0 and first[1] == second[1]
    assert "sampled with seed 7" in first[2]
    other = _run(capsys, *args[:-1], "8")
    assert other[1] != first[1]


def test_a_run_without_seed_prints_the_seed_that_reproduces_it(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "Once", "-m", "gru", "-n", "5", "--temperature", "2")
    assert code == 0
    seed = err.split("seed ")[1].split(";")[0]
    assert _run(capsys, "Once", "-m", "gru", "-n", "5", "--temperature", "2", "--seed", seed)[1] == out


def test_tokens_prints_one_line_per_token(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "The cat", "-m", "rnn", "-n", "4", "--tokens")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 4 and all("%" in line for line in lines)
    assert lines[0].split()[0] == "2"  # the position after the two prompt tokens


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("", "-m", "lstm"), "empty"),
        (("Hi", "-n", "999"), "max_new_tokens is 999; choose a value from 1 to 256"),
        (("Hi", "--temperature", "0"), "temperature is 0.0; choose a finite number above 0"),
        (("Hi", "--top-k", "0"), "top_k is 0; choose a value from 1 to 4096"),
        (("Hi", "-m", "bert"), "'bert' is unknown; valid names: transformer, lstm, gru, rnn"),
        (("word " * 90,), "leaves no room to generate"),
    ],
)
def test_bad_input_exits_2_saying_what_to_change(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    code, out, err = _run(capsys, *args)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err
