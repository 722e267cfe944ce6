"""Schemathesis hooks for the contract test (loaded with SCHEMATHESIS_HOOKS).

A JSON schema cannot say that a text must fit the chosen model's n_ctx in tokens, that a
layer or head index must exist in that model, that a model has a given part (attention,
gates), that a model name is a model of the endpoint's task (a language model or a
translation model), or that the whole response must fit the size budget. Schema-valid requests broken
only by such a rule are refused with 413 or 422 and a problem type naming the rule; this
check lets exactly those through and fails on any other refusal of valid data.
"""

from __future__ import annotations

import schemathesis

PER_MODEL_RULES = {
    "bad-text",
    "bad-selection",
    "bad-parts",
    "bad-option",
    "missing-part",
    "response-too-large",
    "wrong-task",
}


@schemathesis.check
def refused_only_for_per_model_rules(ctx, response, case):  # type: ignore[no-untyped-def]
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code not in (413, 422):
        return None
    kind = str(response.json().get("type", "")).rsplit(":", 1)[-1]
    if kind not in PER_MODEL_RULES:
        where = f"{meta.generation.mode} {meta.phase.name} {meta.components}"
        raise AssertionError(
            f"schema-valid request refused ({response.status_code} {kind}) {where}: {response.text[:300]}"
        )
    return None
