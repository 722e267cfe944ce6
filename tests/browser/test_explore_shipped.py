"""Explore on the shipped checkpoints (skipped where they are missing): the trained LSTM's
cell state has units far larger than the rest, and scaling each unit by its own max |value| brings every
unit into view; the screenshots docs/explore.png and explore-lstm.png are taken (written to
the artifacts folder, $ATTENZIONE_TEST_ARTIFACTS or /tmp/attenzione-test-artifacts; copy
them to docs/ when the page changes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest

from tests.browser.helpers import api_trace, decode, wait_js, wait_ready

pytestmark = pytest.mark.browser

TEXT = "The cat sat on the mat, and the dog sat on the cat."


def open_explore(page: Any, url: str, **params: Any) -> None:
    page.goto(f"{url}/?" + "&".join(f"{k}={quote(str(v))}" for k, v in {"text": TEXT, **params}.items()))
    wait_ready(page, TEXT)


def test_explore_on_the_shipped_models(page: Any, shipped: str, artifacts: Path) -> None:
    open_explore(page, shipped, layer=1, head=2)
    wait_js(page, "document.querySelector('#grid-plot').data?.length === 16")
    assert page.evaluate("document.querySelector('#main-plot').data[0].zmax") == 1  # absolute colours
    page.screenshot(path=str(artifacts / "explore.png"))
    open_explore(page, shipped, model="lstm", view="c", layer=1, unitnorm=1)
    wait_js(page, "document.querySelector('#grid-plot').data?.length === 12")
    c = decode(api_trace(shipped, "lstm", TEXT)["parts"]["c"])[1].T  # units x positions
    top = np.abs(c).max(1)  # each unit's largest |c|: a few units count tokens, far outside [-1, 1]
    assert top.max() > 10 * top.min()  # on one scale the smallest would be one flat colour
    z = np.array(page.evaluate("document.querySelector('#main-plot').data[0].z"))
    np.testing.assert_allclose(z, c / top[:, None], rtol=0, atol=1e-12)
    page.screenshot(path=str(artifacts / "explore-lstm.png"))
