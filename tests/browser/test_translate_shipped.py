"""/translate on the shipped checkpoints (skipped until the translation models are trained):
both models translate the sample sentences, the alignments are real maps (rows sum to 1), and
the screenshot docs/translate.png is taken (written to translate.png in the artifacts folder,
$ATTENZIONE_TEST_ARTIFACTS or /tmp/attenzione-test-artifacts; copy it to docs/ when the page
changes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest

from models.checkpoint import CHECKPOINT_DIR
from models.translation.checkpoint import MT_DIR
from tests.browser.harness import run_server
from tests.browser.helpers import figure, wait_js, wait_ready

pytestmark = pytest.mark.browser

MODELS = ("transformer-enfr", "lstm-enfr")
TEXT = "Where is the train station?"


@pytest.fixture(scope="module")
def shipped(artifacts: Path) -> Iterator[str]:
    if not (MT_DIR / "transformer-enfr.safetensors").is_file():
        pytest.skip("the shipped translation checkpoints are not here")
    with run_server(CHECKPOINT_DIR, artifacts / "server-translate-shipped.log", timeout=180) as url:
        yield url


def test_translate_on_the_shipped_models(page: Any, shipped: str, artifacts: Path) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{shipped}/translate?text={quote(TEXT)}&beam=4")
    wait_ready(page, TEXT)
    available = page.evaluate(
        "[...document.querySelectorAll('#columns .col:not(.off)')].map(c => c.dataset.model)"
    )
    assert "transformer-enfr" in available
    for name in (m for m in MODELS if m in available):
        assert page.inner_text(f"#columns .col[data-model='{name}'] .translation").strip()
        z = np.array(figure(page, f"#align-{name}")["data"][0]["z"], dtype=float)
        np.testing.assert_allclose(z.sum(1), 1, atol=0.01)  # each row is a softmax over the English
    # the screenshot: the first French token focused, its English tokens lit in every model
    page.hover("#columns .col[data-model='transformer-enfr'] .tgt-strip .tok[data-t='1']")
    wait_js(page, "document.querySelector('#columns .col:not(.off) .src')?.dataset.weight")
    page.screenshot(path=str(artifacts / "translate.png"), full_page=True)
