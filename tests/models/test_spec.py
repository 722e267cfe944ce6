"""The declared model spec and part registry: every model's trace follows its spec."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from models.lm import LanguageModel
from models.spec import PART_NAMES, PARTS, AttentionKind, ModelSpec

TEXT = "The cat sat on the mat because the cat was tired."


def _spec(**changes: object) -> ModelSpec:
    base = ModelSpec(
        architecture="toy",
        n_layers=1,
        n_heads=2,
        width=8,
        n_ctx=16,
        d_vocab=10,
        parts=("attention", "predictions", "logits"),
        attention=(AttentionKind("self", True, "input", "input", 1, 2),),
    )
    return dataclasses.replace(base, **changes)


def test_registry_names_are_unique_and_only_logits_is_off_by_default() -> None:
    assert len(set(PART_NAMES)) == len(PARTS)
    assert [p.name for p in PARTS if not p.default] == ["logits"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"parts": ("attention", "wings")}, "unknown parts"),
        ({"parts": ("logits", "attention")}, "registry order"),
        ({"attention": ()}, "attention part exactly"),
        ({"parts": ("attention", "gates", "logits")}, "gates part exactly"),
        ({"attention": (AttentionKind("cross", False, "target", "source", 1, 2),)}, "role the model lacks"),
    ],
)
def test_inconsistent_spec_is_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _spec(**changes)


def test_every_model_declares_a_spec_its_trace_follows(lm: LanguageModel) -> None:
    spec, trace = lm.spec, lm.trace(TEXT)
    assert trace.spec == spec and trace.parts == spec.parts
    assert spec.d_vocab == lm.tokenizer.vocab_size and spec.n_ctx == lm.n_ctx
    n = len(trace.tokens["input"])
    for kind in spec.attention:
        assert trace.attention[kind.name].shape == (kind.n_layers, kind.n_heads, n, n)
    assert tuple(trace.gates) == spec.gates
    for name, states in trace.states.items():
        assert name in spec.parts and states.shape == (spec.n_layers, n, spec.width)
    assert "logits" in spec.parts and "logits" not in spec.default_parts


def test_causal_attention_is_declared_causal_and_is_zero_above_the_diagonal(lm: LanguageModel) -> None:
    trace = lm.trace(TEXT)
    for kind in lm.spec.attention:
        assert kind.causal and kind.query_role == kind.key_role == "input"
        pattern = trace.attention[kind.name]
        assert (np.triu(pattern, 1) == 0).all()


def test_spec_as_dict_names_each_attention_kinds_roles_and_causality(lm: LanguageModel) -> None:
    out = lm.spec.to_dict()
    assert out["architecture"] == lm.spec.architecture and out["parts"] == list(lm.spec.parts)
    for kind in out["attention"]:
        assert {"name", "causal", "query_role", "key_role", "n_layers", "n_heads"} <= kind.keys()
