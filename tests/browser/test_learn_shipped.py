"""/learn on the shipped checkpoints (skipped where they are missing): every section renders,
the step-by-step identities hold on the trained models' numbers (a trained LSTM's c reaches
the hundreds, attention is far from uniform), and the screenshot docs/learn.png is taken
(written to learn.png in the artifacts folder, $ATTENZIONE_TEST_ARTIFACTS or
/tmp/attenzione-test-artifacts; copy it to docs/ when the page changes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.browser.helpers import wait_js
from tests.browser.test_learn import PARTS, TOLERANCE, checks

pytestmark = pytest.mark.browser

TEXT = "It was the best of times, it was the worst of times."


def test_learn_on_the_shipped_models(page: Any, shipped: str, artifacts: Path) -> None:
    # the query: the second "␣the" (token 9), which can look back at the first one
    params = {"text": TEXT, "layer": 1, "head": 1, "token": 9, "tau": 0.5, "rmodel": "lstm", "rlayer": 1}
    page.goto(f"{shipped}/learn?" + "&".join(f"{k}={quote(str(v))}" for k, v in params.items()))
    wait_js(
        page,
        "ids => ids.every(i => ['ready', 'error'].includes(document.getElementById(i).dataset.status))",
        PARTS,
        timeout=180,
    )
    statuses = page.evaluate("ids => ids.map(i => document.getElementById(i).dataset.status)", PARTS)
    assert statuses == ["ready"] * len(PARTS), dict(zip(PARTS, statuses, strict=True))
    for section in ("attention", "gates"):
        got = checks(page, section)
        assert got and all(d <= TOLERANCE for d in got.values()), (section, got)
    # the screenshot: the attention step, from its scores to the model's map
    page.evaluate(
        """() => { const y = document.querySelector('#attention .whatif').getBoundingClientRect().top;
                   window.scrollBy(0, y - 250); }"""
    )
    page.wait_for_timeout(300)  # plotly's resize after the scroll settles
    page.screenshot(path=str(artifacts / "learn.png"))
