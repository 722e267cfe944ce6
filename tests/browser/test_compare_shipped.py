"""/compare on the shipped checkpoints (skipped where they are missing): four models on one
text, the first one's map large and labelled without overlaps, the others as small multiples,
and the screenshot docs/compare.png (written to compare.png in the artifacts folder,
$ATTENZIONE_TEST_ARTIFACTS or /tmp/attenzione-test-artifacts; copy it to docs/ when the page
changes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.browser.helpers import wait_js, wait_ready
from tests.browser.test_compare import columns_laid_out, influence_ready, tick_labels_fit, ytick_labels_fit

pytestmark = pytest.mark.browser

SHIPPED = ["transformer", "lstm", "gru", "rnn"]
TEXT = (
    "The keys to the old cabinet were on the table, and the key to the cabinets was not. "
    "She opened the cabinet with the small key and left the keys on the table."
)


def test_compare_on_the_shipped_models(page: Any, shipped: str, artifacts: Path) -> None:
    params = {"text": TEXT, "models": ",".join(SHIPPED), "layer": 1, "head": 0}
    page.goto(f"{shipped}/compare?" + "&".join(f"{k}={quote(str(v), safe=',')}" for k, v in params.items()))
    wait_ready(page, TEXT)
    # too many tokens for four maps side by side at 1280 px: the Transformer's large
    columns_laid_out(page, "transformer", SHIPPED)
    tick_labels_fit(page, "#plot-transformer")
    ytick_labels_fit(page, "#plot-transformer")
    influence_ready(page)
    wait_js(page, "document.querySelector('#pair').dataset.status === 'ready'")
    # the screenshot: the models' maps, the section's head at the top of the window
    page.evaluate(
        "window.scrollTo(0, document.querySelector('#columns-title').getBoundingClientRect().top + scrollY - 8)"
    )
    wait_js(page, "Math.abs(document.querySelector('#columns-title').getBoundingClientRect().top - 8) < 1")
    page.screenshot(path=str(artifacts / "compare.png"))
