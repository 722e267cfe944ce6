"""The compare page in a real Chromium: columns, synchronised token focus, the table."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest

from tests.browser.helpers import api_post, click_cell, decode, figure, hover_cell, wait_js, wait_ready

pytestmark = pytest.mark.browser

REPEATED = "the cat saw the cat"


def open_compare(page: Any, server: str, text: str, **params: Any) -> None:
    query = "&".join(f"{k}={quote(str(v), safe=',')}" for k, v in {"text": text, **params}.items())
    page.goto(f"{server}/compare?{query}")
    wait_ready(page, text)


def highlighted_columns(page: Any, selector: str) -> set[float]:
    """x0 + 0.5 of every highlight band in a plot: the token positions outlined."""
    shapes = figure(page, selector)["layout"].get("shapes", [])
    return {s["x0"] + 0.5 for s in shapes if s.get("line", {}).get("dash") == "dot"}


def test_two_models_in_columns_with_their_own_views(page: Any, server: str) -> None:
    open_compare(page, server, REPEATED, models="transformer,lstm")
    cols = page.locator("#columns .col")
    assert cols.evaluate_all("cs => cs.map(c => c.dataset.model)") == ["transformer", "lstm"]
    att = figure(page, "#plot-transformer")
    assert att["layout"]["yaxis"]["ticktext"] == ["the", "␣cat", "␣saw", "␣the", "␣cat"]
    assert att["layout"]["title"]["text"].startswith("Layer 0 · head 0")
    state = figure(page, "#plot-lstm")
    assert state["layout"]["title"]["text"] == "Layer 0 · Hidden state h"
    assert len(state["data"][0]["z"]) == 24 and len(state["data"][0]["z"][0]) == 5  # units x positions
    # the state parts offered are those the LSTM declares, labelled by the part registry
    options = page.locator("#part option").evaluate_all("os => os.map(o => [o.value, o.textContent])")
    assert [v for v, _ in options] == list("hcifgo")
    assert options[0][1] == "Hidden state h" and options[3][1] == "forget gate f"


def test_hovering_a_token_highlights_it_in_both_columns_and_the_table(page: Any, server: str) -> None:
    open_compare(page, server, REPEATED, models="transformer,lstm")
    page.hover("#strip .tok[data-t='3']")
    wait_js(page, "document.querySelector('#plot-lstm').layout.shapes?.length > 0")
    assert 3 in highlighted_columns(page, "#plot-transformer")
    assert highlighted_columns(page, "#plot-lstm") == {3}
    assert "focus" in (page.get_attribute("#pred-table tbody tr[data-t='3']", "class") or "")
    # hovering a cell of one model's plot moves the focus in the other model's plot
    hover_cell(page, "#plot-lstm", 1, 10)
    wait_js(page, "document.querySelector(\"#strip .tok[data-t='1']\").classList.contains('focus')")
    wait_js(page, "document.querySelector('#plot-transformer').layout.shapes.some(s => s.x0 === 0.5)")


def columns_drawn(page: Any, names: list[str]) -> None:
    wait_js(
        page,
        "ns => document.body.dataset.status === 'ready' && JSON.stringify([...document.querySelectorAll("
        "'#columns .col')].map(c => c.dataset.model)) === JSON.stringify(ns) && ns.every(n => "
        "document.querySelector('#plot-' + n)?.data)",
        names,
    )


def test_hover_and_click_follow_a_change_of_models(page: Any, server: str) -> None:
    open_compare(page, server, REPEATED, models="transformer,lstm")
    page.uncheck("#model-boxes input[value='transformer']")
    page.check("#model-boxes input[value='gru']")
    columns_drawn(page, ["lstm", "gru"])
    hover_cell(page, "#plot-gru", 3, 1)  # token 3, unit 1
    wait_js(page, "document.querySelector(\"#strip .tok.focus\")?.dataset.t === '3'")
    wait_js(page, "document.querySelector('#plot-lstm').layout.shapes.some(s => s.x0 === 2.5)")
    click_cell(page, "#plot-gru", 2, 4)
    wait_js(page, "document.querySelector(\"#strip .tok.selected\")?.dataset.t === '2'")
    page.check("#model-boxes input[value='transformer']")
    columns_drawn(page, ["lstm", "gru", "transformer"])
    hover_cell(page, "#plot-transformer", 0, 1)  # key 0, query 1
    wait_js(page, "document.querySelector(\"#strip .tok.focus\")?.dataset.t === '1'")
    wait_js(page, "document.querySelector('#plot-gru').layout.shapes.some(s => s.x0 === 0.5)")


def test_table_shows_every_models_guesses_surprisal_and_disagreements(page: Any, server: str) -> None:
    open_compare(page, server, REPEATED, models="transformer,gru")
    api = api_post(
        server, "/api/v1/compare", {"models": ["transformer", "gru"], "text": REPEATED, "encoding": "f16"}
    )
    rows = page.locator("#pred-table tbody tr")
    assert rows.count() == 5
    tops = [m["predictions"]["top_strings"] for m in api["models"]]
    for t in range(5):
        cls = rows.nth(t).get_attribute("class") or ""
        assert ("disagree" in cls) == (tops[0][t][0] != tops[1][t][0])
    cells = rows.nth(0).locator("td").all_inner_texts()
    bits = [m["predictions"]["surprisal_bits"][0] for m in api["models"]]
    assert cells[5] == f"{bits[0]:.2f}" and cells[7] == f"{bits[1]:.2f}"
    foot = page.locator("#pred-table tfoot td").all_inner_texts()
    means = [m["predictions"]["mean_surprisal_bits"] for m in api["models"]]
    assert f"{means[0]:.2f}" in foot and f"{means[1]:.2f}" in foot
    header = page.inner_text("#columns .col[data-model='gru'] header")
    assert f"mean surprisal {means[1]:.2f} bits/token" in header


def test_aggregate_attention_next_to_recurrent_state(page: Any, server: str) -> None:
    open_compare(page, server, REPEATED, models="transformer,lstm", view="mean", layer=1, part="c")
    assert page.input_value("#view") == "mean" and page.input_value("#layer") == "1"
    api = api_post(
        server, "/api/v1/compare", {"models": ["transformer", "lstm"], "text": REPEATED, "encoding": "f16"}
    )
    att = decode(api["models"][0]["parts"]["attention"]["self"])[1].mean(0)
    z = np.array(
        [[np.nan if v is None else v for v in r] for r in figure(page, "#plot-transformer")["data"][0]["z"]]
    )
    mask = np.tril(np.ones_like(att, dtype=bool))
    np.testing.assert_allclose(z[mask], att[mask], atol=1e-12)
    c = decode(api["models"][1]["parts"]["c"])[1].T
    assert np.array_equal(np.array(figure(page, "#plot-lstm")["data"][0]["z"]), c)


def test_permalink_restores_models_and_view(page: Any, server: str) -> None:
    open_compare(page, server, REPEATED, models="gru,rnn,lstm", view="max", layer=1)
    checked = page.locator("#model-boxes input:checked").evaluate_all("is => is.map(i => i.value)")
    assert checked == ["lstm", "gru", "rnn"]  # boxes in model-list order
    assert page.locator("#columns .col").evaluate_all("cs => cs.map(c => c.dataset.model)") == [
        "gru",
        "rnn",
        "lstm",
    ]
    assert page.input_value("#view") == "max"
    page.uncheck("#model-boxes input[value='rnn']")
    wait_js(
        page, "location.search.includes('models=gru,lstm') || location.search.includes('models=gru%2Clstm')"
    )
    wait_ready(page)
    page.reload()
    wait_ready(page, REPEATED)
    assert page.locator("#columns .col").evaluate_all("cs => cs.map(c => c.dataset.model)") == ["gru", "lstm"]


def test_one_model_is_not_enough(page: Any, server: str) -> None:
    open_compare(page, server, REPEATED, models="transformer,lstm")
    page.uncheck("#model-boxes input[value='lstm']")
    wait_js(page, "document.body.dataset.status === 'empty'")
    assert "at least two" in page.inner_text("#empty")


def test_four_models_fill_four_columns(page: Any, server: str, artifacts: Path) -> None:
    open_compare(
        page, server, "It was the best of times, it was the worst of times.", models="transformer,lstm"
    )
    for name in ["gru", "rnn"]:
        page.check(f"#model-boxes input[value='{name}']")
    wait_js(page, "[...document.querySelectorAll('#columns .col .plot')].filter(p => p.data).length === 4")
    wait_ready(page)
    assert len(page.locator("#pred-table thead th").all_inner_texts()) == 4 + 2 * 4
    page.screenshot(path=str(artifacts / "compare-4.png"))


def test_compare_error_is_shown(page: Any, server: str, recorder: Any) -> None:
    recorder.allow_console(r"status of 422")
    open_compare(page, server, REPEATED, models="transformer,lstm")
    page.fill("#text", "cat " * 300)
    wait_js(page, "document.body.dataset.status === 'error'")
    assert "256" in page.inner_text("#error")


def test_screenshot_compare(page: Any, server: str, artifacts: Path) -> None:
    open_compare(
        page, server, "It was the best of times, it was the worst of times.", models="transformer,lstm"
    )
    page.screenshot(path=str(artifacts / "compare.png"))
