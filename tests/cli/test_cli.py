"""The ``attenzione`` command: models, trace (table and JSON), serve --help."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from models.checkpoint import ARCHS


def test_models_lists_every_model_with_its_facts(attenzione):
    r = attenzione("models")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:2] == ["name", "family"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert list(rows) == list(ARCHS)
    assert "attention" in rows["transformer"] and "2.500" in rows["transformer"]
    assert "gates" in rows["lstm"] and "64" in rows["transformer"]


def test_models_shows_an_unavailable_model_with_its_reason(attenzione, cli_checkpoints: Path, tmp_path: Path):
    for f in cli_checkpoints.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    (tmp_path / "rnn.safetensors").write_bytes(b"garbage")
    r = attenzione("models", models_dir=tmp_path)
    assert r.returncode == 0, r.stderr
    rnn = next(line for line in r.stdout.splitlines() if line.startswith("rnn"))
    assert "unavailable" in rnn and "rnn.safetensors" in rnn


def test_trace_json_parses_and_has_tokens_and_predictions(attenzione):
    r = attenzione("trace", "The cat sat.", "--model", "lstm", "--format", "json", "--top-k", "2")
    assert r.returncode == 0, r.stderr
    body = json.loads(r.stdout)
    assert body["model"] == "lstm"
    n = len(body["tokens"]["ids"])
    assert n == len(body["tokens"]["strings"]) == len(body["tokens"]["spans"]) > 1
    p = body["predictions"]
    assert len(p["top_ids"]) == n and all(len(row) == 2 for row in p["top_ids"])
    assert p["surprisal_bits"][-1] is None


def test_trace_table_shows_tokens_and_surprisal(attenzione):
    r = attenzione("trace", "The cat sat on the mat", "--model", "transformer")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "transformer (transformer)" in out
    assert "surprisal" in out
    for token in ("The", "␣cat", "␣sat", "␣mat"):
        assert token in out
    assert " b " in out  # surprisal in bits
    assert "mean surprisal:" in out


def test_trace_defaults_to_the_transformer_table(attenzione):
    r = attenzione("trace", "Hello")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("transformer")


def test_trace_unknown_model_exits_non_zero_with_a_clear_message(attenzione):
    r = attenzione("trace", "Hello", "--model", "bert")
    assert r.returncode != 0
    assert "'bert'" in r.stderr and "unknown" in r.stderr
    assert "transformer, lstm, gru, rnn" in r.stderr
    assert "Traceback" not in r.stderr


def test_trace_text_over_the_context_exits_non_zero_with_a_clear_message(attenzione):
    r = attenzione("trace", "word " * 90, "--model", "transformer")
    assert r.returncode != 0
    assert "n_ctx is 64" in r.stderr
    assert "Traceback" not in r.stderr


def test_trace_empty_text_exits_non_zero_with_a_clear_message(attenzione):
    r = attenzione("trace", "", "--model", "gru")
    assert r.returncode != 0
    assert "empty" in r.stderr and "Traceback" not in r.stderr


def test_serve_help_lists_its_options(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for option in ("--host", "--port", "--reload"):
        assert option in out


def test_no_command_exits_non_zero_with_usage(capsys):
    with pytest.raises(SystemExit) as exit_:
        main([])
    assert exit_.value.code == 2
    assert "usage: attenzione" in capsys.readouterr().err


def test_trace_top_k_out_of_range_exits_non_zero_naming_the_range(attenzione):
    r = attenzione("trace", "Hello", "--top-k", "-1")
    assert r.returncode == 2
    assert "1 to 50" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("value", ["0", "51", "many"])
def test_trace_top_k_is_checked_before_any_model_loads(capsys, value):
    with pytest.raises(SystemExit) as exit_:
        main(["trace", "Hello", "--top-k", value])
    assert exit_.value.code == 2
    assert "--top-k" in capsys.readouterr().err


def test_trace_argument_that_is_not_utf8_exits_non_zero_with_a_clear_message(attenzione_process):
    r = attenzione_process("trace", "bad \udcff byte")  # the byte 0xff on the command line
    assert r.returncode != 0
    assert "surrogate" in r.stderr and "Traceback" not in r.stderr
