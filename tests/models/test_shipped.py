"""The checkpoints shipped in ``models/checkpoints``: loadable, small, comparable in size and
budget, honest about their recorded loss and copying numbers, carrying their recipe and
sweep, and speaking recognisable English.

While training is still running, a checkpoint that is not there yet is skipped, not failed.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from models.checkpoint import ARCHS, CHECKPOINT_DIR, TOKENIZER_FILE
from models.copying import CopyProbe, common_words, copy_ratio, induction_scores
from models.data import Corpus
from models.evaluate import Stream, score
from models.lm import LanguageModel, load_model
from models.probe import ProbeConfig, ProbeData, generator, positional_scores
from models.report import chosen_setting, quality_table, sweep_table
from models.train import greedy

FOLDER: Path = CHECKPOINT_DIR
NAME = "{arch}"  # checkpoint name of each architecture
MAX_WEIGHTS_BYTES = 15 * 1024 * 1024
PARAM_SPREAD = 0.10
MIN_ENGLISH_SHARE = 0.7


def _paths(arch: str) -> tuple[Path, Path]:
    name = NAME.format(arch=arch)
    return FOLDER / f"{name}.safetensors", FOLDER / f"{name}.json"


def _require(arch: str) -> None:
    for path in _paths(arch):
        if not path.is_file():
            pytest.skip(f"{path} does not exist yet (train it with python -m models.train --arch {arch})")


@pytest.fixture(scope="module")
def shipped() -> dict[str, LanguageModel]:
    """Cache of loaded shipped models, filled on first use."""
    return {}


def _shipped(arch: str, shipped: dict[str, LanguageModel]) -> LanguageModel:
    _require(arch)
    if arch not in shipped:
        shipped[arch] = load_model(NAME.format(arch=arch), folder=FOLDER)
    return shipped[arch]


@pytest.fixture
def model(arch: str, shipped: dict[str, LanguageModel]) -> LanguageModel:
    return _shipped(arch, shipped)


def _all_cards() -> dict[str, dict[str, Any]]:
    for arch in ARCHS:
        _require(arch)
    return {arch: json.loads(_paths(arch)[1].read_text()) for arch in ARCHS}


def test_shipped_checkpoint_loads_and_traces(arch: str, model: LanguageModel) -> None:
    assert model.spec.architecture == arch
    assert model.card["arch"] == arch
    assert model.card["config"]["d_vocab"] == model.tokenizer.vocab_size
    assert model.card["data"]["tokenizer"] == TOKENIZER_FILE
    trace = model.trace("It was a dark and stormy night, and the rain fell in torrents.")
    assert np.isfinite(trace.logits).all()


def test_shipped_weights_file_is_at_most_15_mb(arch: str, model: LanguageModel) -> None:
    size = _paths(arch)[0].stat().st_size
    assert size <= MAX_WEIGHTS_BYTES, f"{size / 2**20:.1f} MiB"


def test_shipped_parameter_count_matches_card(model: LanguageModel) -> None:
    assert model.n_params == model.card["n_params"]


def test_shipped_card_has_required_fields_and_corpus_hashes(model: LanguageModel, check_card: Any) -> None:
    check_card(model.card)


def test_shipped_model_reproduces_recorded_validation_slice_loss(
    model: LanguageModel, valid_stream: Stream
) -> None:
    recorded = model.card["metrics"]["valid_slice"]
    ids = valid_stream.ids[: recorded["tokens"]]
    assert len(ids) == recorded["tokens"]
    loss = score(model.net, ids, model.tokenizer.eot_id, recorded["window"]).loss
    assert loss == pytest.approx(recorded["loss"], abs=1e-4)


def test_shipped_greedy_sample_is_reproducible(model: LanguageModel) -> None:
    sample = model.card["sample"]
    assert greedy(model.net, model.tokenizer, sample["prompt"]) == sample["greedy"]


def test_shipped_greedy_sample_is_mostly_english_words(
    model: LanguageModel, corpus_vocabulary: set[str]
) -> None:
    sample = model.card["sample"]
    continuation = sample["greedy"].removeprefix(sample["prompt"])
    words = re.findall(r"[^\W\d_]+", continuation.lower())
    assert len(words) >= 5, f"continuation has few words: {continuation!r}"
    known = [w for w in words if w in corpus_vocabulary]
    assert len(known) >= MIN_ENGLISH_SHARE * len(words), (
        f"only {len(known)}/{len(words)} words are English: {continuation!r}"
    )


def test_shipped_parameter_counts_are_within_10_percent_of_each_other() -> None:
    counts = {arch: card["n_params"] for arch, card in _all_cards().items()}
    low, high = min(counts.values()), max(counts.values())
    assert high <= (1 + PARAM_SPREAD) * low, counts


def test_shipped_models_saw_the_same_token_budget() -> None:
    cards = _all_cards()
    assert len({card["tokens_seen"] for card in cards.values()}) == 1, {
        arch: card["tokens_seen"] for arch, card in cards.items()
    }
    assert len({json.dumps(card["data"]["files"], sort_keys=True) for card in cards.values()}) == 1


def test_shipped_card_records_recipe_sweep_and_copying_over_training(arch: str, model: LanguageModel) -> None:
    card = model.card
    assert {"augmentation", "extra_train_files", "smeared_keys"} <= card["recipe"].keys()
    assert card["sweep"]["arch"] == arch and card["sweep"]["results"], "the sweep behind the settings"
    chosen = chosen_setting(card["sweep"])  # the best unless the README says why not
    assert chosen in card["sweep"]["results"]
    assert chosen["lr"] == card["train"]["lr"]
    assert all(card["config"][k] == v for k, v in chosen["model"].items())
    history = card["history"]
    assert history and all(math.isfinite(h["copy_ratio"]) for h in history)
    if "attention" in model.spec.parts:
        n_layers, n_heads = card["config"]["n_layers"], card["config"]["n_heads"]
        assert all(len(h["induction"]) == n_layers and len(h["induction"][0]) == n_heads for h in history)
    assert math.isfinite(card["metrics"]["copying"]["copy_ratio"])
    assert card["wall_time_s"] > 0 and card["machine"]


def test_shipped_copying_numbers_are_reproducible(model: LanguageModel, corpus: Corpus) -> None:
    probe = CopyProbe.for_context(
        common_words(corpus.train, model.tokenizer), model.tokenizer.eot_id, model.n_ctx
    )
    recorded = model.card["metrics"]["copying"]
    assert copy_ratio(model.net, probe) == pytest.approx(recorded["copy_ratio"], abs=1e-4)
    if "induction" in recorded:
        torch.testing.assert_close(
            induction_scores(model.net, probe), torch.tensor(recorded["induction"]), atol=1e-3, rtol=0
        )


SINK_SCORE = 0.3  # a first-token score this high would be a sink head worth the name


def test_shipped_transformer_head_scores_are_reproducible_and_it_has_no_sink_head(
    shipped: dict[str, LanguageModel], corpus: Corpus
) -> None:
    """The card's previous- and first-token scores come back from the weights, and the
    glossary's "the shipped Transformer has no such head" (static/js/glossary.js, sink) holds."""
    lm = _shipped("transformer", shipped)
    recorded = lm.card["probes"]["heads"]
    cfg = ProbeConfig(**lm.card["probes"]["config"])
    data = ProbeData.load(lm.tokenizer, corpus)
    windows = data.windows(cfg.head_windows, min(256, lm.n_ctx), generator(cfg, "heads"))
    previous, first = positional_scores(lm.net, windows)
    torch.testing.assert_close(previous, torch.tensor(recorded["previous_token"]), atol=1e-4, rtol=0)
    torch.testing.assert_close(first, torch.tensor(recorded["first_token"]), atol=1e-4, rtol=0)
    assert first.max() < SINK_SCORE, "a head now attends to the first token: update the glossary's 'sink'"
    assert "has no such head" in (Path(__file__).parents[2] / "static/js/glossary.js").read_text()


def test_readme_shows_the_shipped_quality_and_sweep_tables() -> None:
    """The README's tables are `python -m models.report` on the committed cards, not older numbers."""
    _all_cards()
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert quality_table() in readme, "README quality table is stale: paste `python -m models.report`"
    assert sweep_table() in readme, "README sweep table is stale: paste `python -m models.report`"
