"""The explore page in a real Chromium: what it draws must be what the API returns."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest

from tests.browser.helpers import api_trace, decode, figure, hover_cell, wait_js, wait_ready

pytestmark = pytest.mark.browser

REPEATED = "the cat saw the cat"
MAIN = "#main-plot"


def z_matrix(fig: dict[str, Any]) -> np.ndarray:
    """The heatmap's z with masked (null) cells as NaN."""
    return np.array([[np.nan if v is None else v for v in row] for row in fig["data"][0]["z"]])


def open_explore(page: Any, server: str, text: str, **params: Any) -> None:
    query = "&".join(f"{k}={quote(str(v))}" for k, v in {"text": text, **params}.items())
    page.goto(f"{server}/?{query}")
    wait_ready(page, text)


def test_typing_a_sentence_draws_attention_with_one_row_per_token(page: Any, server: str) -> None:
    page.goto(server + "/")
    wait_ready(page)
    page.fill("#text", REPEATED)  # fires input: the debounced trace
    wait_ready(page, REPEATED)
    wait_js(page, f"document.querySelector('{MAIN}').data[0].z.length === 5")
    strings = api_trace(server, "transformer", REPEATED)["tokens"]["strings"]
    assert strings.count("␣cat") == 2  # the sentence really repeats a token
    fig = figure(page, MAIN)
    told_apart = ["the", "␣cat₁", "␣saw", "␣the", "␣cat₄"]  # repeated tokens: their position as a subscript
    assert fig["layout"]["yaxis"]["ticktext"] == told_apart
    assert fig["layout"]["xaxis"]["ticktext"] == told_apart
    assert fig["layout"]["yaxis"]["tickvals"] == [0, 1, 2, 3, 4]
    assert fig["data"][0]["y"] == [0, 1, 2, 3, 4]
    assert len(fig["data"][0]["z"]) == 5 and all(len(r) == 5 for r in fig["data"][0]["z"])
    strip = page.locator("#strip .tok").all_inner_texts()
    assert strip == strings


def test_heatmap_values_and_hover_label_equal_the_api(page: Any, server: str) -> None:
    open_explore(page, server, REPEATED)
    page.select_option("#layer", "1")
    page.select_option("#head", "1")
    wait_js(page, f"document.querySelector('{MAIN}').layout.title.text.startsWith('Layer 1 · head 1')")
    api = api_trace(server, "transformer", REPEATED)
    want = decode(api["parts"]["attention"]["self"])[1, 1]
    got = z_matrix(figure(page, MAIN))
    lower = np.tril(np.ones_like(want, dtype=bool))
    assert np.array_equal(got[lower], want[lower])  # exact: f16 decoded in JS = numpy
    assert np.isnan(got[~lower]).all()  # the masked future is blank, not a weight
    label = page.evaluate(
        """() => { const gd = document.querySelector('#main-plot');
        Plotly.Fx.hover(gd, {xval: 1, yval: 4});
        return [...gd.querySelectorAll('.hoverlayer .hovertext text')].map(t => t.textContent).join(' '); }"""
    )
    assert "query #4 ␣cat" in label and "key #1 ␣cat" in label
    assert f"weight {want[4, 1]:.4f}" in label


def test_mean_max_and_rollout_match_numpy(page: Any, server: str) -> None:
    open_explore(page, server, REPEATED, layer=1)
    att = decode(api_trace(server, "transformer", REPEATED)["parts"]["attention"]["self"])
    mask = np.tril(np.ones(att.shape[-2:], dtype=bool))
    expected = {"mean": att[1].mean(0), "max": att[1].max(0)}
    mixed = [0.5 * att[layer].mean(0) + 0.5 * np.eye(5) for layer in range(2)]
    mixed = [m / m.sum(1, keepdims=True) for m in mixed]
    expected["rollout"] = mixed[1] @ mixed[0]
    for view, want in expected.items():
        page.select_option("#view", view)
        wait_js(
            page,
            "w => document.querySelector('#main-plot').layout.title.text.toLowerCase().includes(w)",
            arg={"mean": "mean over heads", "max": "max over heads", "rollout": "rollout"}[view],
        )
        got = z_matrix(figure(page, MAIN))
        np.testing.assert_allclose(got[mask], want[mask], rtol=0, atol=1e-12)
    assert page.is_disabled("#head")  # aggregates span every head


def test_hiding_the_sink_renormalises_rows_and_topk_keeps_k(page: Any, server: str) -> None:
    open_explore(page, server, REPEATED, sink=1)
    assert page.is_checked("#sink")
    fig = figure(page, MAIN)
    strings = api_trace(server, "transformer", REPEATED)["tokens"]["strings"]
    assert fig["layout"]["yaxis"]["ticktext"] == ["␣cat₁", "␣saw", "␣the", "␣cat₄"]  # subscripts: repeated
    assert strings[1:] == ["␣cat", "␣saw", "␣the", "␣cat"]
    z = np.nan_to_num(z_matrix(fig))
    np.testing.assert_allclose(z.sum(1), 1, atol=1e-9)
    page.select_option("#filter", "topk")
    page.fill("#filter-value", "1")
    wait_js(
        page, "document.querySelector('#main-plot').layout.annotations[0]?.text.includes('top 1 per row')"
    )
    z = np.nan_to_num(z_matrix(figure(page, MAIN)))
    assert ((z > 0).sum(1) == 1).all()


def test_switching_to_lstm_shows_h_c_and_gates(page: Any, server: str) -> None:
    open_explore(page, server, REPEATED)
    page.select_option("#model", "lstm")
    wait_ready(page)
    wait_js(page, "document.querySelector('#main-plot').layout.title.text.includes('Hidden state h')")
    assert page.is_visible("#rnn-controls") and not page.is_visible("#attn-controls")
    assert page.locator("#part option").evaluate_all("os => os.map(o => o.value)") == list("hcifgo")
    surprisal = api_trace(server, "lstm", REPEATED)["predictions"]["surprisal_bits"]
    tip = page.get_attribute("#strip .tok[data-t='1']", "title") or ""
    assert f"surprisal {surprisal[0]:.2f} bits" in tip  # the strip shows this model's surprisal
    wait_js(page, "document.querySelector('#grid-plot').data?.length === 12")  # 6 parts x 2 layers
    grid = figure(page, "#grid-plot")
    labels = [a["text"] for a in grid["layout"]["annotations"]]
    assert labels[:6] == list("hcifgo") and labels[6:] == ["L0", "L1"]
    api = api_trace(server, "lstm", REPEATED)
    for part, label in [("c", "Cell state c"), ("f", "forget gate f")]:  # the registry's labels
        page.select_option("#part", part)
        page.select_option("#rlayer", "1")
        wait_js(
            page,
            "p => document.querySelector('#main-plot').layout.title.text.startsWith('Layer 1 · ' + p)",
            label,
        )
        enc = api["parts"][part] if part == "c" else api["parts"]["gates"][part]
        want = decode(enc)[1].T  # units x positions
        assert np.array_equal(z_matrix(figure(page, MAIN)), want)
    lines = figure(page, "#lines-plot")
    assert len(lines["data"]) == 3 and all(d["type"] == "scatter" for d in lines["data"])


def test_a_transformer_shows_its_residual_stream_as_a_view_of_its_own(page: Any, server: str) -> None:
    open_explore(page, server, REPEATED)
    # the model declares attention and a residual stream: a chooser offers both
    assert page.is_visible("#kinds")
    options = page.locator("#kind-options input").evaluate_all("is => is.map(i => [i.value, i.checked])")
    assert options == [["attention:self", True], ["states", False]]
    assert page.locator("#kind-options label").all_inner_texts() == ["Attention", "Residual stream"]
    page.check("#kind-options input[value='states']")
    wait_js(page, "document.querySelector('#main-plot').layout.title.text === 'Layer 0 · Residual stream'")
    wait_js(page, "new URLSearchParams(location.search).get('view') === 'resid'")
    assert page.is_visible("#rnn-controls") and not page.is_visible("#attn-controls")
    assert page.text_content("#rnn-controls legend") == "Residual stream"
    assert page.locator("#part option").evaluate_all("os => os.map(o => o.value)") == ["resid"]
    page.select_option("#rlayer", "1")
    wait_js(page, "document.querySelector('#main-plot').layout.title.text === 'Layer 1 · Residual stream'")
    want = decode(api_trace(server, "transformer", REPEATED)["parts"]["resid"])[1].T  # units x positions
    assert np.array_equal(z_matrix(figure(page, MAIN)), want)
    wait_js(page, "document.querySelector('#grid-plot').data?.length === 2")  # 1 part x 2 layers
    hover_cell(page, MAIN, 2, 4)  # token 2, unit 4
    wait_js(page, "document.querySelector(\"#strip .tok.focus\")?.dataset.t === '2'")
    page.check("#kind-options input[value='attention:self']")
    wait_js(page, "document.querySelector('#main-plot').layout.title.text.startsWith('Layer 1 · head 0')")
    wait_js(page, "new URLSearchParams(location.search).get('view') === 'head'")
    assert page.is_visible("#attn-controls") and not page.is_visible("#rnn-controls")
    open_explore(page, server, REPEATED, view="resid")  # a link to the residual stream
    assert page.is_checked("#kind-options input[value='states']")
    assert figure(page, MAIN)["layout"]["title"]["text"] == "Layer 0 · Residual stream"


def test_a_model_with_one_kind_of_view_has_no_chooser(page: Any, server: str) -> None:
    open_explore(page, server, REPEATED, model="lstm")
    assert page.is_hidden("#kinds")
    assert page.text_content("#rnn-controls legend") == "States and gates"


@pytest.mark.parametrize(("model", "parts"), [("gru", list("hrzn")), ("rnn", ["h"])])
def test_gru_and_rnn_show_their_own_parts(page: Any, server: str, model: str, parts: list[str]) -> None:
    open_explore(page, server, REPEATED, model=model)
    assert page.locator("#part option").evaluate_all("os => os.map(o => o.value)") == parts
    wait_js(page, f"document.querySelector('#grid-plot').data?.length === {2 * len(parts)}")
    grid = figure(page, "#grid-plot")
    assert [a["text"] for a in grid["layout"]["annotations"]][: len(parts)] == parts


def test_units_sort_by_variance_and_plot_chosen_units(page: Any, server: str) -> None:
    open_explore(page, server, REPEATED, model="lstm", sort="variance", units="5,7")
    h0 = decode(api_trace(server, "lstm", REPEATED)["parts"]["h"])[0]  # [T, D]
    ticks = figure(page, MAIN)["layout"]["yaxis"]["ticktext"]
    assert int(ticks[0]) == int(np.argmax(h0.var(0)))
    names = [d["name"] for d in figure(page, "#lines-plot")["data"]]
    assert names == ["unit 5", "unit 7"]


def test_hovering_a_token_highlights_it_in_every_view(page: Any, server: str) -> None:
    open_explore(page, server, REPEATED)
    wait_js(page, "document.querySelector('#grid-plot').data?.length === 4")
    page.hover("#strip .tok[data-t='3']")
    wait_js(page, "document.querySelector('#main-plot').layout.shapes.length >= 2")
    shapes = figure(page, MAIN)["layout"]["shapes"]
    assert {(s["x0"], s["x1"]) for s in shapes} >= {(2.5, 3.5)}  # the key column
    assert {(s["y0"], s["y1"]) for s in shapes} >= {(2.5, 3.5)}  # the query row
    grid_shapes = figure(page, "#grid-plot")["layout"]["shapes"]
    assert sum(s.get("x0") == 2.5 for s in grid_shapes) == 4  # every thumbnail
    assert "focus" in (page.get_attribute("#strip .tok[data-t='3']", "class") or "")
    assert "After ␣the (#3)" in page.inner_text("#predictions")
    # and the other way: hovering the heatmap (query row 1) marks the token in the strip
    hover_cell(page, MAIN, 0, 1)
    wait_js(page, "document.querySelector(\"#strip .tok[data-t='1']\").classList.contains('focus')")


def test_permalink_restores_text_model_and_view(page: Any, server: str) -> None:
    text = "It was the best of times, it was the worst of times."
    open_explore(page, server, text, model="transformer", layer=1, head=1, view="head", sink=1)
    assert page.input_value("#layer") == "1" and page.input_value("#head") == "1"
    assert page.input_value("#view") == "head" and page.is_checked("#sink")
    assert figure(page, MAIN)["layout"]["title"]["text"].startswith("Layer 1 · head 1")
    page.select_option("#view", "rollout")
    wait_js(page, "location.search.includes('view=rollout')")
    url = page.url
    page.goto("about:blank")
    page.goto(url)
    wait_ready(page, text)
    assert page.input_value("#view") == "rollout" and page.input_value("#layer") == "1"
    assert figure(page, MAIN)["layout"]["title"]["text"].startswith("Rollout through layers 0–1")
    assert page.input_value("#text") == text


def test_an_api_error_is_shown_to_the_user(page: Any, server: str, recorder: Any) -> None:
    recorder.allow_console(r"status of 422")
    open_explore(page, server, REPEATED)
    page.fill("#text", "cat " * 300)  # 300 tokens: over the context of 256
    wait_js(page, "document.body.dataset.status === 'error'")
    message = page.inner_text("#error")
    assert "256" in message and "shorten" in message
    # the last picture stays on show, dimmed: it belongs to the text before
    assert page.is_visible("#views") and "stale" in page.get_attribute("#views", "class")
    page.fill("#text", REPEATED)
    wait_ready(page, REPEATED)
    assert page.is_hidden("#error")
    assert page.locator("#strip .tok").count() == 5  # the same text as before the error: redrawn


def test_empty_text_shows_the_empty_state(page: Any, server: str) -> None:
    open_explore(page, server, REPEATED)
    page.fill("#text", "   ")
    wait_js(page, "document.body.dataset.status === 'empty'")
    assert page.is_visible("#empty") and page.is_hidden("#views")


def test_typing_fast_sends_few_requests_and_shows_the_last_text(
    page: Any, server: str, recorder: Any
) -> None:
    open_explore(page, server, REPEATED)
    before = sum("/api/v1/trace" in u for u in recorder.urls)
    page.click("#text")
    page.keyboard.press("End")
    page.keyboard.type(" and the dog", delay=20)  # 12 keystrokes, well inside 300 ms each
    wait_ready(page, REPEATED + " and the dog")
    wait_js(page, "document.querySelector('#main-plot').data[0].z.length === 8")
    assert sum("/api/v1/trace" in u for u in recorder.urls) - before <= 2


def test_downloads_trace_json_matrix_csv_and_chart_images(page: Any, server: str, tmp_path: Path) -> None:
    open_explore(page, server, REPEATED)
    with page.expect_download() as dl:
        page.click("#dl-json")
    data = json.loads(Path(dl.value.path()).read_text())
    assert data["tokens"]["strings"][1] == "␣cat" and data["encoding"] == "json"
    with page.expect_download() as dl:
        page.click("#dl-csv")
    lines = Path(dl.value.path()).read_text().splitlines()
    corner = "query \\ key · model transformer · view head · layer 0 · head 0 · sink shown · filter none"
    corner += " · colours abs · values as sent (float16): 4 significant digits"
    assert lines[0] == f'"{corner}","#0 the","#1 ␣cat₁","#2 ␣saw","#3 ␣the","#4 ␣cat₄"'
    assert len(lines) == 6
    for fmt in ["png", "svg"]:
        with page.expect_download() as dl:
            page.click(f"#dl-{fmt}")
        assert dl.value.suggested_filename.endswith(f".{fmt}")
        assert Path(dl.value.path()).stat().st_size > 1000


def test_modebar_has_png_and_svg_export(page: Any, server: str) -> None:
    open_explore(page, server, REPEATED)
    page.hover(MAIN)
    titles = page.locator(f"{MAIN} .modebar-btn").evaluate_all(
        "bs => bs.map(b => b.getAttribute('data-title'))"
    )
    assert "Download plot as a PNG" in titles and "Download plot as SVG" in titles
    assert not [t for t in titles if "Share" in t or "Cloud" in t]  # nothing leaves the machine
    with page.expect_download() as dl:
        page.click(f"{MAIN} .modebar-btn[data-title='Download plot as SVG']")
    assert Path(dl.value.path()).read_text().lstrip().startswith("<svg")


def test_keyboard_reaches_tokens_with_visible_focus(page: Any, server: str) -> None:
    open_explore(page, server, REPEATED)
    page.focus("#strip .tok[data-t='0']")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.dataset.t") == "2"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    wait_js(page, "location.search.includes('token=2')")  # focusing selects
    assert "After ␣saw (#2)" in page.inner_text("#predictions")


def test_unavailable_models_are_listed_disabled_with_the_reason(page: Any, server_partial: str) -> None:
    page.goto(server_partial + "/")
    wait_ready(page)
    option = page.locator("#model option[value='gru']")
    assert option.is_disabled()
    assert "missing" in (option.get_attribute("title") or "")
    assert re.search(r"unavailable: .*missing", option.inner_text())


def test_screenshot_explore(page: Any, server: str, artifacts: Path) -> None:
    open_explore(page, server, "It was the best of times, it was the worst of times.", layer=1, head=0)
    wait_js(page, "document.querySelector('#grid-plot').data?.length === 4")
    page.screenshot(path=str(artifacts / "explore.png"))
    open_explore(page, server, "It was the best of times, it was the worst of times.", model="lstm")
    wait_js(page, "document.querySelector('#grid-plot').data?.length === 12")
    page.screenshot(path=str(artifacts / "explore-lstm.png"))
