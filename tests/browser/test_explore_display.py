"""How Explore draws what the API returns: colour scales (absolute by default, the 99th
percentile cap as an option, filtered-out cells their own colour), recurrent states scaled
per unit, byte-level tokens as characters, exports, the model's held-out numbers, the
sidebar's layout and the glossary's tips."""

from __future__ import annotations

import csv
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.browser.helpers import api_trace, decode, figure, wait_js
from tests.browser.test_compare import influence_ready, open_compare, trace_props
from tests.browser.test_explore import MAIN, REPEATED, open_explore, z_matrix

pytestmark = pytest.mark.browser

GRID = "#grid-plot"
VIRIDIS_ZERO = "#440154"


def colour_cap(values: np.ndarray) -> float:
    """The page's 99th-percentile cap (figures.js colourCap) of the finite values."""
    v = np.sort(values[np.isfinite(values)])
    cap = v[min(len(v) - 1, int(np.floor(0.99 * len(v))))]
    return float(cap) if 0 < cap < v[-1] else float(v[-1] or 1)


def title_of(page: Any, selector: str = MAIN) -> str:
    return page.evaluate("s => document.querySelector(s).layout.title.text", selector)


def test_attention_colours_are_absolute_0_to_1_on_every_map_by_default(page: Any, server: str) -> None:
    open_explore(page, server, REPEATED)
    wait_js(page, f"document.querySelector('{GRID}').data?.length === 4")
    (main,) = trace_props(page, MAIN, "zmin", "zmax", "colorscale", "colorbar")
    assert (main["zmin"], main["zmax"]) == (0, 1)
    assert main["colorscale"][0] == [0, VIRIDIS_ZERO]
    assert "tickvals" not in main["colorbar"]  # plotly's own ticks over the drawn 0-1
    thumbs = trace_props(page, GRID, "zmin", "zmax")
    assert {(t["zmin"], t["zmax"]) for t in thumbs} == {(0, 1)}  # shared by every head
    assert "colours 0–1" in title_of(page, GRID)
    assert page.input_value("#scale") == "abs"


def test_the_99th_percentile_cap_is_an_option_kept_in_the_url(page: Any, server: str) -> None:
    text = "It was the best of times, it was the worst of times."
    open_explore(page, server, text, layer=1, head=1)
    page.select_option("#scale", "p99")
    wait_js(page, "new URLSearchParams(location.search).get('scale') === 'p99'")
    wait_js(page, "document.querySelector('#main-plot').layout.annotations[0]?.text.includes('99th')")
    att = decode(api_trace(server, "transformer", text)["parts"]["attention"]["self"])
    lower = np.tril(np.ones(att.shape[-2:], dtype=bool))
    (main,) = trace_props(page, MAIN, "zmin", "zmax")
    assert main["zmin"] == 0 and main["zmax"] == colour_cap(att[1, 1][lower])
    wait_js(page, "document.querySelector('#grid-plot').layout.title.text.includes('99th')")
    thumbs = trace_props(page, GRID, "zmax")
    masked = np.where(lower, att, np.nan)
    assert {t["zmax"] for t in thumbs} == {colour_cap(masked.ravel())}  # one cap shared by every head
    page.reload()
    wait_js(page, "document.body.dataset.status === 'ready'")
    assert page.input_value("#scale") == "p99"


def test_filtered_out_cells_are_grey_not_the_colour_of_a_small_weight(page: Any, server: str) -> None:
    open_explore(page, server, REPEATED, filter="threshold", thr=0.3)
    (main,) = trace_props(page, MAIN, "zmin", "zmax", "colorscale", "colorbar", "text")
    assert main["zmin"] < 0 and main["zmax"] == 1
    assert main["colorscale"][0][1] == main["colorscale"][1][1] != VIRIDIS_ZERO  # the grey band
    assert main["colorscale"][2][1] == VIRIDIS_ZERO  # then the scale from its zero
    assert main["colorbar"]["ticktext"][0] == "filtered out"
    assert main["zmin"] < main["colorbar"]["tickvals"][0] < 0  # the label sits on the band
    want = decode(api_trace(server, "transformer", REPEATED)["parts"]["attention"]["self"])[0, 0]
    got = z_matrix({"data": [{"z": page.evaluate("document.querySelector('#main-plot').data[0].z")}]})
    lower = np.tril(np.ones_like(want, dtype=bool))
    removed = lower & (want < 0.3)
    assert removed.any() and (~removed & lower).any()
    assert (got[removed] == main["zmin"]).all()  # grey, below every weight
    assert np.array_equal(got[lower & ~removed], want[lower & ~removed])
    assert np.isnan(got[~lower]).all()  # the masked future stays blank, not grey
    i, j = np.argwhere(removed)[0]
    assert main["text"][i][j].endswith("filtered out")
    notes = page.evaluate("document.querySelector('#main-plot').layout.annotations[0].text")
    assert "grey: removed by the filter" in notes
    assert "grey: filtered out" in title_of(page, GRID)


def test_states_scaled_per_unit_show_real_values_on_hover(page: Any, server: str) -> None:
    open_explore(page, server, REPEATED, model="lstm", view="c", layer=1)
    assert not page.is_checked("#unitnorm")
    page.check("#unitnorm")
    wait_js(page, "new URLSearchParams(location.search).get('unitnorm') === '1'")
    wait_js(page, "document.querySelector('#main-plot').layout.title.text.includes('scaled')")
    c = decode(api_trace(server, "lstm", REPEATED)["parts"]["c"])[1].T  # units x positions
    top = np.abs(c).max(1, keepdims=True)
    (main,) = trace_props(page, MAIN, "z", "customdata", "zmin", "zmax", "colorbar")
    np.testing.assert_allclose(np.array(main["z"]), c / top, rtol=0, atol=1e-12)
    assert np.array_equal(np.array(main["customdata"]), c)  # the real values, for the hover
    assert (main["zmin"], main["zmax"]) == (-1, 1)
    assert main["colorbar"]["title"]["text"] == "c ÷ its unit's max |c|"
    label = page.evaluate(
        """() => { const gd = document.querySelector('#main-plot');
        Plotly.Fx.hover(gd, {xval: 2, yval: 3});
        return [...gd.querySelectorAll('.hoverlayer .hovertext text')].map(t => t.textContent).join(' '); }"""
    )
    assert f"c {c[3, 2]:.4f}" in label
    wait_js(page, "document.querySelector('#grid-plot').layout.title.text.includes('units scaled')")
    thumbs = trace_props(page, GRID, "z")
    assert max(abs(v) for t in thumbs for row in t["z"] for v in row) <= 1


BYTES = "café 日 😀 ok"


def test_byte_tokens_are_shown_as_the_character_they_form(page: Any, server: str) -> None:
    open_explore(page, server, BYTES)
    tokens = api_trace(server, "transformer", BYTES)["tokens"]
    assert tokens["strings"][3:5] == ["\\xc3", "\\xa9"]  # the API's pieces of "é"
    groups = page.locator("#strip .chargroup")
    assert groups.count() == 3  # é, 日, 😀
    assert [g.locator(".tok").count() for g in groups.all()] == [2, 3, 4]
    assert [g.locator(".tok").first.inner_text() for g in groups.all()] == ["é", "日", "😀"]
    # every token keeps its button, its place and, in its title, its bytes and id
    assert page.locator("#strip .tok").count() == len(tokens["ids"])
    title = page.get_attribute("#strip .tok[data-t='4']", "title") or ""
    assert title.startswith("#4 é, byte token 2 of 2 (\\xa9, id 103)")
    fig = page.evaluate("document.querySelector('#main-plot').layout.yaxis.ticktext")
    assert fig[3:5] == ["é (1/2)", "é (2/2)"] and fig[6:9] == ["日 (1/3)", "日 (2/3)", "日 (3/3)"]
    assert fig[10:14] == [f"😀 ({k}/4)" for k in range(1, 5)]
    assert fig[5] == "␣₅" and fig[9] == "␣₉"  # the repeated space told apart
    page.click("#strip .tok[data-t='7']")  # a piece is still a token of its own
    wait_js(page, "new URLSearchParams(location.search).get('token') === '7'")


def test_compare_strip_groups_byte_tokens_too(page: Any, server: str) -> None:
    open_compare(page, server, BYTES, models="transformer,lstm")
    groups = page.locator("#strip .chargroup")
    assert [g.locator(".tok").first.inner_text() for g in groups.all()] == ["é", "日", "😀"]
    assert page.locator("#strip .tok").count() == len(
        api_trace(server, "transformer", BYTES)["tokens"]["ids"]
    )
    # the axes of the maps, of the surprisal chart and of the influence maps name the pieces
    # as Explore's do
    wait_js(page, "document.querySelector('#surprisal-plot').data?.length === 2")
    influence_ready(page)
    for selector in ("#plot-transformer", "#plot-lstm", "#surprisal-plot", "#imap-transformer", "#diff-plot"):
        layout = figure(page, selector)["layout"]["xaxis"]
        ticks = dict(zip(layout["tickvals"], layout["ticktext"], strict=True))
        assert ticks, selector
        assert not any("\\x" in label for label in ticks.values()), (selector, ticks)
        for t, label in {3: "é (1/2)", 4: "é (2/2)", 6: "日 (1/3)", 13: "😀 (4/4)"}.items():
            assert ticks.get(t, label) == label, (selector, ticks)


def test_explore_axes_tell_repeated_tokens_apart_like_compare(page: Any, server: str) -> None:
    open_explore(page, server, REPEATED, model="lstm")
    ticks = page.evaluate("document.querySelector('#main-plot').layout.xaxis.ticktext")
    assert ticks == ["the", "␣cat₁", "␣saw", "␣the", "␣cat₄"]
    assert page.locator("#strip .tok").all_inner_texts() == ["the", "␣cat", "␣saw", "␣the", "␣cat"]


def png_size_and_corner(path: Path) -> tuple[int, int, tuple[int, ...]]:
    """Width, height and the top-left pixel (RGBA) of a PNG, read with zlib alone: the first
    pixel of the first row is stored as it is whatever the row's filter (its neighbours are 0)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert (depth, colour) == (8, 6)  # 8-bit RGBA
    raw = zlib.decompress(idat)
    return width, height, tuple(raw[1:5])


def test_exports_record_the_view_and_keep_the_precision_sent(page: Any, server: str) -> None:
    open_explore(page, server, REPEATED, layer=1, head=1, filter="topk", k=2)
    base = "attenzione-transformer-head-layer1-head1-sink-shown-filter-top2-colours-abs"
    with page.expect_download() as dl:
        page.click("#dl-csv")
    assert dl.value.suggested_filename == f"{base}.csv"
    rows = list(csv.reader(Path(dl.value.path()).read_text().splitlines()))
    assert rows[0][0] == (
        "query \\ key · model transformer · view head · layer 1 · head 1 · sink shown · filter top2"
        " · colours abs · values as sent (float16): 4 significant digits"
    )
    want = decode(api_trace(server, "transformer", REPEATED)["parts"]["attention"]["self"])[1, 1]
    cells = [row[1:] for row in rows[1:]]
    kept = 0
    for i in range(len(want)):
        for j in range(i + 1):
            if cells[i][j]:
                kept += 1
                assert float(cells[i][j]) == float(f"{want[i, j]:.4g}")  # 4 significant digits, as f16 holds
                assert len(cells[i][j].lstrip("0.").replace(".", "")) <= 4
    assert kept == sum(min(2, i + 1) for i in range(len(want)))  # top 2 per row, the rest removed: empty
    with page.expect_download() as dl:
        page.click("#dl-json")
    assert dl.value.suggested_filename == f"{base}-trace.json"
    record = json.loads(Path(dl.value.path()).read_text())["display"]
    assert record == {
        "model": "transformer",
        "view": "head",
        "layer": 1,
        "head": 1,
        "sink": "shown",
        "filter": "top2",
        "colours": "abs",
    }


def test_png_exports_are_white_at_twice_the_size_without_page_marks(page: Any, server: str) -> None:
    open_explore(page, server, REPEATED, model="lstm", view="c", unitnorm=1)
    size = page.evaluate(
        "[document.querySelector('#main-plot').clientWidth, document.querySelector('#main-plot').clientHeight]"
    )
    page.hover("#strip .tok[data-t='2']")  # the token outlined on the page
    wait_js(page, "document.querySelector('#main-plot').layout.shapes.length > 0")
    with page.expect_download() as dl:
        page.click("#dl-png")
    assert dl.value.suggested_filename == "attenzione-lstm-c-layer0-units-scaled.png"
    width, height, corner = png_size_and_corner(Path(dl.value.path()))
    assert (width, height) == (2 * size[0], 2 * size[1])
    assert corner == (255, 255, 255, 255)  # white, not transparent
    page.hover(MAIN)
    with page.expect_download() as dl:
        page.click(f"{MAIN} .modebar-btn[data-title='Download plot as a PNG']")
    assert dl.value.suggested_filename == "attenzione-lstm-c-layer0-units-scaled.png"
    assert png_size_and_corner(Path(dl.value.path()))[2] == (255, 255, 255, 255)
    with page.expect_download() as dl:
        page.click("#dl-svg")
    svg = Path(dl.value.path()).read_text()
    assert "rgb(213, 94, 0)" not in svg and "#d55e00" not in svg.lower()  # no token outline
    assert "fill: rgb(255, 255, 255); fill-opacity: 1" in svg
    page.hover(GRID)
    with page.expect_download() as dl:
        page.click(f"{GRID} .modebar-btn[data-title='Download plot as SVG']")
    grid_svg = Path(dl.value.path()).read_text()
    assert "All states and gates" in grid_svg and "click to enlarge" not in grid_svg  # no UI hint
    assert "click to enlarge" in title_of(page, GRID)  # which the page shows


def with_card_metrics(page: Any, metrics: dict[str, float]) -> None:
    """Serve /api/v1/models with ``metrics`` in the Transformer's card (the tiny models'
    cards have none, as before evaluation)."""

    def patch(route: Any) -> None:
        response = route.fetch()
        catalog = response.json()
        for m in catalog["models"]:
            if m["name"] == "transformer":
                m["card"]["metrics"] = metrics
        route.fulfill(response=response, json=catalog)

    page.route("**/api/v1/models", patch)


def test_the_models_held_out_numbers_are_beside_its_name(page: Any, server: str) -> None:
    with_card_metrics(page, {"valid_perplexity": 68.7047, "valid_bits_per_char": 1.69409})
    open_explore(page, server, REPEATED)
    assert page.inner_text("#model-info .card-metrics") == "held out: 68.7 ppl · 1.69 bits/char"
    page.select_option("#model", "lstm")
    wait_js(page, "document.querySelector('#model-info .card-metrics').textContent.endsWith('not measured')")
    page.goto(f"{server}/compare?text={REPEATED}&models=transformer,lstm")  # the same words, the same code
    wait_js(page, "document.querySelectorAll('.card-metrics').length === 2")
    lines = page.locator(".card-metrics").all_inner_texts()
    assert lines == ["held out: 68.7 ppl · 1.69 bits/char", "held out: not measured"]


OUTSIDE = """() => { const panel = document.querySelector('aside.panel').getBoundingClientRect();
  return [...document.querySelectorAll('aside.panel :is(select, input, button, textarea, label)')]
    .filter(n => n.offsetParent !== null)
    .map(n => [n.id || n.textContent.trim().slice(0, 20), n.getBoundingClientRect()])
    .filter(([, r]) => r.left < panel.left - 0.5 || r.right > panel.right + 0.5)
    .map(([name, r]) => `${name}: ${Math.round(r.left)}-${Math.round(r.right)} outside ${panel.left}-${panel.right}`); }"""


@pytest.mark.parametrize("width", [1280, 800])
def test_every_control_lies_inside_the_sidebar(page: Any, server: str, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 720})
    with_card_metrics(
        page, {"valid_perplexity": 68.7047, "valid_bits_per_char": 1.69409}
    )  # long option labels
    open_explore(page, server, REPEATED, filter="threshold", thr=0.125)
    assert page.is_visible("#filter-value")  # the number box that pushed the selectors out
    assert page.evaluate(OUTSIDE) == []
    page.select_option("#filter", "topk")
    page.fill("#filter-value", "12345678")
    assert page.evaluate(OUTSIDE) == []
    page.select_option("#model", "lstm")
    wait_js(page, "!document.querySelector('#rnn-controls').hidden")
    assert page.evaluate(OUTSIDE) == []


GLOSSARY = "s => import(document.querySelector('script[type=module]').src.replace(/js\\/[^/?]+\\.js/, 'js/glossary.js'))"


def glossary(page: Any) -> dict[str, dict[str, str]]:
    """The one glossary, as the page's own module has it."""
    return page.evaluate(f"async () => (await ({GLOSSARY})()).GLOSSARY")


def tip_on_focus(page: Any, selector: str) -> str:
    """Focus ``selector`` (as the keyboard does) and return the tooltip it shows."""
    page.focus(selector)
    return wait_js(
        page,
        """s => { const n = document.querySelector(s);
          const tip = document.getElementById((n.getAttribute('aria-describedby') || '').split(' ').pop());
          return tip && !tip.hidden && tip.textContent; }""",
        selector,
    )


def check_tip(page: Any, entries: dict[str, dict[str, str]], selector: str, key: str) -> None:
    assert page.get_attribute(selector, "data-term") == key, selector
    entry = entries[key]
    assert tip_on_focus(page, selector) == f"{entry['label']} — {entry['text']}"


def test_every_term_on_explore_has_its_glossary_tip(page: Any, server: str) -> None:
    open_explore(page, server, REPEATED, token=2)
    entries = glossary(page)
    for key in ("surprisal", "bits"):  # the strip's legend
        check_tip(page, entries, f"#legend [data-term='{key}']", key)
    for key in ("bits", "surprisal", "entropy"):  # the predictions after the selected token
        check_tip(page, entries, f"#predictions [data-term='{key}']", key)
    check_tip(page, entries, "#attn-controls [data-term='sink']", "sink")
    check_tip(page, entries, "#attn-controls legend", "attention")
    page.select_option("#view", "rollout")
    check_tip(page, entries, "#view", "rollout")
    check_tip(page, entries, "#kind-options label:nth-child(2) [data-term]", "resid")
    page.check("#kind-options input[value='states']")
    wait_js(page, "!document.querySelector('#rnn-controls').hidden")
    check_tip(page, entries, "#part", "resid")
    for model, parts in (("lstm", "hcifgo"), ("gru", "hrzn"), ("rnn", "h")):
        page.select_option("#model", model)
        wait_js(page, "m => new URLSearchParams(location.search).get('model') === m", model)
        check_tip(page, entries, "#rnn-controls legend", "states" if len(parts) > 1 else "h")
        for part in parts:
            page.select_option("#part", part)
            check_tip(page, entries, "#part", part)
    check_tip(page, entries, "#rnn-controls [data-term='unit']", "unit")


def test_every_term_on_compare_has_its_glossary_tip(page: Any, server: str) -> None:
    page.goto(f"{server}/compare?text={REPEATED}&models=transformer,lstm&part=c")
    wait_js(page, "document.body.dataset.status === 'ready'")
    entries = glossary(page)
    for key in ("surprisal", "bits", "influence", "rollout"):
        check_tip(page, entries, f"main [data-term='{key}']", key)
    check_tip(page, entries, "#legend [data-term='bits']", "bits")
    page.select_option("#view", "rollout")
    check_tip(page, entries, "#view", "rollout")
    for part in "hcifgo":
        page.select_option("#part", part)
        check_tip(page, entries, "#part", part)
