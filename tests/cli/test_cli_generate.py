"""``attenzione generate`` on the tiny checkpoints, in-process: greedy and seeded sampling, the
token table, and bad input that exits 2 with a message."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.cli.conftest import Run


def test_greedy_prints_the_prompt_and_its_continuation(attenzione: Run) -> None:
    r = attenzione("generate", "The cat sat", "--model", "lstm", "--max-new-tokens", "6")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("The cat sat") and len(r.stdout) > len("The cat sat\n")
    assert "[6 tokens, greedy; stopped: reached --max-new-tokens]" in r.stderr
    assert (
        attenzione("generate", "The cat sat", "--model", "lstm", "--max-new-tokens", "6").stdout == r.stdout
    )


def test_the_same_seed_prints_the_same_text(attenzione: Run) -> None:
    args = ("generate", "Once", "-m", "transformer", "-n", "8", "--temperature", "1.5", "--top-k", "100")
    first, second = attenzione(*args, "--seed", "7"), attenzione(*args, "--seed", "7")
    assert first.returncode == 0 and first.stdout == second.stdout
    assert "sampled with seed 7" in first.stderr
    assert attenzione(*args, "--seed", "8").stdout != first.stdout


def test_a_run_without_seed_prints_the_seed_that_reproduces_it(attenzione: Run) -> None:
    args = ("generate", "Once", "-m", "gru", "-n", "5", "--temperature", "2")
    r = attenzione(*args)
    assert r.returncode == 0
    seed = r.stderr.split("seed ")[1].split(";")[0]
    assert attenzione(*args, "--seed", seed).stdout == r.stdout


def test_tokens_prints_one_line_per_token(attenzione: Run) -> None:
    r = attenzione("generate", "The cat", "-m", "rnn", "-n", "4", "--tokens")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
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
    attenzione: Run, args: tuple[str, ...], message: str
) -> None:
    r = attenzione("generate", *args)
    assert r.returncode == 2 and r.stdout == ""
    assert message in r.stderr and "Traceback" not in r.stderr
