"""The compare page in a real Chromium: columns (side by side, or one large and the others
small where side by side they would be too narrow), synchronised token focus, the surprisal
chart and the table sorted by gaps, influence maps on one scale with rollout, difference and
profiles, minimal pairs, per-model refusals, and the layout at 1280 and 800 px with tick
labels that never overlap. Every number the page draws is checked against the API,
recomputed here independently."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest

from models.influence import MAX_INFLUENCE_TOKENS
from tests.browser.helpers import (
    api_get,
    api_post,
    click_cell,
    decode,
    figure,
    hover_cell,
    wait_js,
    wait_ready,
)

pytestmark = pytest.mark.browser

REPEATED = "the cat saw the cat"


def open_compare(page: Any, server: str, text: str, **params: Any) -> None:
    query = "&".join(f"{k}={quote(str(v), safe=',')}" for k, v in {"text": text, **params}.items())
    page.goto(f"{server}/compare?{query}")
    wait_ready(page, text)


def in_view(page: Any, selector: str) -> None:
    """Scroll ``selector`` into the viewport (the page scrolls; the mouse acts on what shows)."""
    page.locator(selector).scroll_into_view_if_needed()


def shared_cap(maps: list[np.ndarray], q: float = 0.99) -> tuple[float, float]:
    """The colour range of maps sharing one scale: ±the q quantile of |value| over their
    measured cells (s ≤ t, finite), as index floor(q·n) of the sorted values."""
    values = np.sort(np.concatenate([np.abs(m[np.tril_indices(len(m))]) for m in maps]))
    values = values[np.isfinite(values)]
    cap = float(values[min(len(values) - 1, int(q * len(values)))])
    top = cap if cap > 0 else float(values[-1]) or 1.0
    return -top, top


def highlighted_columns(page: Any, selector: str) -> set[float]:
    """x0 + 0.5 of every highlight band in a plot: the token positions outlined."""
    shapes = figure(page, selector)["layout"].get("shapes", [])
    return {s["x0"] + 0.5 for s in shapes if s.get("line", {}).get("dash") == "dot"}


def test_two_models_in_columns_with_their_own_views(page: Any, server: str) -> None:
    open_compare(page, server, REPEATED, models="transformer,lstm")
    cols = page.locator("#columns .col")
    assert cols.evaluate_all("cs => cs.map(c => c.dataset.model)") == ["transformer", "lstm"]
    att = figure(page, "#plot-transformer")
    # repeated tokens are told apart by their position, as a subscript
    assert att["layout"]["yaxis"]["ticktext"] == ["the", "␣cat₁", "␣saw", "␣the", "␣cat₄"]
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
    in_view(page, "#plot-lstm")
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
    in_view(page, "#plot-gru")
    hover_cell(page, "#plot-gru", 3, 1)  # token 3, unit 1
    wait_js(page, "document.querySelector(\"#strip .tok.focus\")?.dataset.t === '3'")
    wait_js(page, "document.querySelector('#plot-lstm').layout.shapes.some(s => s.x0 === 2.5)")
    click_cell(page, "#plot-gru", 2, 4)
    wait_js(page, "document.querySelector(\"#strip .tok.selected\")?.dataset.t === '2'")
    page.check("#model-boxes input[value='transformer']")
    columns_drawn(page, ["lstm", "gru", "transformer"])
    in_view(page, "#plot-transformer")
    hover_cell(page, "#plot-transformer", 0, 1)  # key 0, query 1
    wait_js(page, "document.querySelector(\"#strip .tok.focus\")?.dataset.t === '1'")
    wait_js(page, "document.querySelector('#plot-gru').layout.shapes.some(s => s.x0 === 0.5)")


def gaps_of(api: dict[str, Any]) -> list[float | None]:
    """Per position: the largest minus the smallest surprisal among the models."""
    per_model = [m["predictions"]["surprisal_bits"] for m in api["models"]]
    out: list[float | None] = []
    for t in range(len(per_model[0])):
        bits = [b[t] for b in per_model if b[t] is not None]
        out.append(max(bits) - min(bits) if len(bits) > 1 else None)
    return out


def table_classes(page: Any) -> list[bool]:
    return page.locator("#pred-table tbody tr").evaluate_all(
        "rs => rs.map(r => r.classList.contains('disagree'))"
    )


def test_table_shows_every_models_guesses_surprisal_and_gaps(page: Any, server: str) -> None:
    open_compare(page, server, REPEATED, models="transformer,gru")
    api = api_post(
        server, "/api/v1/compare", {"models": ["transformer", "gru"], "text": REPEATED, "encoding": "f16"}
    )
    rows = page.locator("#pred-table tbody tr")
    assert rows.count() == 5
    gaps = gaps_of(api)
    # the mark means a gap above the threshold (2 bits by default), not a different top guess
    assert page.input_value("#gap") == "2"
    assert table_classes(page) == [g is not None and g > 2 for g in gaps]
    cells = rows.nth(0).locator("td").all_inner_texts()
    bits = [m["predictions"]["surprisal_bits"][0] for m in api["models"]]
    assert cells[5] == f"{bits[0]:.2f}" and cells[7] == f"{bits[1]:.2f}"
    assert gaps[0] is not None and abs(float(cells[3]) - gaps[0]) <= 0.005 + 1e-9
    foot = page.locator("#pred-table tfoot td").all_inner_texts()
    means = [m["predictions"]["mean_surprisal_bits"] for m in api["models"]]
    assert f"{means[0]:.2f}" in foot and f"{means[1]:.2f}" in foot
    header = page.inner_text("#columns .col[data-model='gru'] header")
    assert f"mean surprisal {means[1]:.2f} bits/token" in header


def test_threshold_and_gap_sort(page: Any, server: str) -> None:
    text = "It was the best of times, it was the worst of times."
    names = ["transformer", "lstm", "gru"]
    open_compare(page, server, text, models=",".join(names))
    api = api_post(server, "/api/v1/compare", {"models": names, "text": text, "encoding": "f16"})
    gaps = gaps_of(api)
    known = sorted(g for g in gaps if g is not None)
    threshold = known[len(known) // 2]  # about half the rows above it: a test that can fail both ways
    page.fill("#gap", str(threshold))
    expected = [g is not None and g > threshold for g in gaps]
    assert any(expected) and not all(expected)
    wait_js(
        page,
        "want => JSON.stringify([...document.querySelectorAll('#pred-table tbody tr')].map("
        "r => r.classList.contains('disagree'))) === JSON.stringify(want)",
        expected,
    )
    wait_js(page, "q => location.search.includes(q)", f"gap={threshold}")
    page.click("#pred-table button.sort[data-order='gap']")
    order = sorted(range(len(gaps)), key=lambda t: (gaps[t] is None, -(gaps[t] or 0), t))
    wait_js(
        page,
        "want => JSON.stringify([...document.querySelectorAll('#pred-table tbody tr')].map("
        "r => Number(r.dataset.t))) === JSON.stringify(want)",
        order,
    )
    assert page.get_attribute("#pred-table th:has(button[data-order='gap'])", "aria-sort") == "descending"
    wait_js(page, "location.search.includes('order=gap')")
    page.click("#pred-table button.sort[data-order='position']")
    wait_js(
        page,
        "n => [...document.querySelectorAll('#pred-table tbody tr')].every((r, i) => "
        "Number(r.dataset.t) === i) && document.querySelectorAll('#pred-table tbody tr').length === n",
        len(gaps),
    )


def test_surprisal_chart_has_one_line_per_model_with_its_guesses(page: Any, server: str) -> None:
    names = ["transformer", "lstm", "rnn"]
    open_compare(page, server, REPEATED, models=",".join(names))
    api = api_post(server, "/api/v1/compare", {"models": names, "text": REPEATED, "encoding": "f16"})
    wait_js(page, "document.querySelector('#surprisal-plot').data?.length === 3")
    fig = figure(page, "#surprisal-plot")
    assert [d["name"] for d in fig["data"]] == names
    for d, m in zip(fig["data"], api["models"], strict=True):
        p = m["predictions"]
        # token t's surprisal is the prediction made at t - 1; the first token has none
        assert d["y"] == [None, *p["surprisal_bits"][:-1]]
        for t in range(1, 5):
            assert d["text"][t].startswith(f"guessed {p['top_strings'][t - 1][0]} (")
    assert fig["layout"]["xaxis"]["ticktext"] == ["the", "␣cat₁", "␣saw", "␣the", "␣cat₄"]
    # hovering the chart moves the token focus
    page.locator("#surprisal-plot").scroll_into_view_if_needed()
    hover_cell(page, "#surprisal-plot", 2, api["models"][0]["predictions"]["surprisal_bits"][1])
    wait_js(page, "document.querySelector(\"#strip .tok[data-t='2']\")?.classList.contains('focus')")


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


def test_a_model_refusing_the_text_shows_why_in_its_column(page: Any, server: str) -> None:
    text = "cat " * 300  # 300 tokens: over the Transformer's 256, within the LSTM's context
    open_compare(page, server, REPEATED, models="transformer,lstm")
    page.fill("#text", text)
    wait_js(page, "!!document.querySelector(\"#columns .col[data-model='transformer'] .refusal\")")
    wait_ready(page, text)
    api = api_post(
        server, "/api/v1/compare", {"models": ["transformer", "lstm"], "text": text, "encoding": "f16"}
    )
    assert "error" in api["models"][0] and "error" not in api["models"][1]
    refusal = page.inner_text("#columns .col[data-model='transformer'] .refusal")
    assert api["models"][0]["error"]["detail"] in refusal and "256" in refusal
    assert page.locator("#plot-transformer").count() == 0
    wait_js(page, "document.querySelector('#plot-lstm')?.data?.length > 0")
    # the LSTM's surprisal is drawn; the table has its columns only
    assert [d["name"] for d in figure(page, "#surprisal-plot")["data"]] == ["lstm"]
    assert (
        page.locator("#pred-table tbody tr").count()
        == api["tokenizations"][api["models"][1]["tokenizer"]]["n_tokens"]
    )
    # influence is limited to MAX_INFLUENCE_TOKENS tokens: said, not asked
    wait_js(page, "document.querySelector('#influence').dataset.status === 'refused'")
    assert str(MAX_INFLUENCE_TOKENS) in page.inner_text("#influence-note")
    assert not page.is_visible("#error")


def test_screenshot_compare(page: Any, server: str, artifacts: Path) -> None:
    """The new compare page at 1280 x 720 with four models, for a person to look at."""
    open_compare(
        page,
        server,
        "It was the best of times, it was the worst of times.",
        models="transformer,lstm,gru,rnn",
    )
    influence_ready(page)
    wait_js(page, "document.querySelector('#pair').dataset.status === 'ready'")
    page.screenshot(path=str(artifacts / "compare.png"))


def trace_props(page: Any, selector: str, *keys: str) -> list[dict[str, Any]]:
    """Chosen properties of every trace drawn in ``selector`` (what ``figure`` leaves out)."""
    return page.evaluate(
        "([sel, keys]) => document.querySelector(sel).data.map(d => Object.fromEntries(keys.map(k => [k, d[k]])))",
        [selector, list(keys)],
    )


def as_array(z: list[list[float | None]]) -> np.ndarray:
    return np.array([[np.nan if v is None else v for v in row] for row in z], dtype=np.float64)


def shown_map(m: np.ndarray) -> np.ndarray:
    """A map as the page shows it: nothing above the diagonal, NaN cells blank."""
    out = m.astype(np.float64).copy()
    out[np.triu_indices(len(out), 1)] = np.nan
    return out


def rollout(att: np.ndarray) -> np.ndarray:
    """Attention rollout of [layer, head, q, k]: prod over layers of 0.5·mean_heads + 0.5·I,
    rows renormalised (Abnar & Zuidema 2020), in float64."""
    acc = None
    for layer in att:
        a = 0.5 * layer.mean(0) + 0.5 * np.eye(layer.shape[-1])
        a = a / a.sum(1, keepdims=True)
        acc = a if acc is None else a @ acc
    assert acc is not None
    return acc


def influence_ready(page: Any) -> None:
    wait_js(page, "document.querySelector('#influence').dataset.status === 'ready'")


TEXT = "The keys to the old cabinet were on the table, and the key to the cabinets was not."


def test_influence_maps_side_by_side_on_one_shared_scale_with_rollout(page: Any, server: str) -> None:
    names = ["transformer", "lstm", "gru"]
    open_compare(page, server, TEXT, models=",".join(names))
    influence_ready(page)
    api = api_post(
        server, "/api/v1/influence", {"models": names, "text": TEXT, "method": "gradient", "encoding": "f16"}
    )
    maps = {m["model"]: decode(m["influence"]) for m in api["models"]}
    expected = shared_cap(list(maps.values()))
    ranges = set()
    for name in names:
        (props,) = trace_props(page, f"#imap-{name}", "zmin", "zmax", "z")
        ranges.add((props["zmin"], props["zmax"]))
        np.testing.assert_array_equal(as_array(props["z"]), shown_map(maps[name]))
    # one colour range, equal across the maps: the 99th percentile of |influence| over all
    assert ranges == {expected}
    assert "99th percentile" in page.inner_text("#influence-note") or expected[1] == max(
        float(np.nanmax(np.abs(v))) for v in maps.values()
    )
    cells = page.locator("#maps .map-cell").evaluate_all(
        "cs => cs.map(c => [c.dataset.model, c.dataset.kind])"
    )
    assert cells == [
        ["transformer", "influence"],
        ["transformer", "rollout"],
        ["lstm", "influence"],
        ["gru", "influence"],
    ]
    # the rollout beside it, recomputed from the attention the compare endpoint returns
    cmp = api_post(server, "/api/v1/compare", {"models": names, "text": TEXT, "encoding": "f16"})
    att = decode(cmp["models"][0]["parts"]["attention"]["self"])
    (props,) = trace_props(page, "#rollout-transformer", "z", "zmin", "zmax")
    np.testing.assert_allclose(as_array(props["z"]), shown_map(rollout(att)), atol=1e-9)
    assert (props["zmin"], props["zmax"]) == (0, 1)
    # the rollout can be left out
    page.uncheck("#rollout")
    wait_js(page, "document.querySelectorAll('#maps .map-cell').length === 3")
    assert page.locator("#rollout-transformer").count() == 0


def test_difference_map_is_model_a_minus_model_b(page: Any, server: str) -> None:
    names = ["transformer", "lstm", "gru"]
    open_compare(page, server, TEXT, models=",".join(names))
    influence_ready(page)
    page.select_option("#diff-a", "gru")
    page.select_option("#diff-b", "transformer")
    wait_js(
        page, "document.querySelector('#diff-plot').data?.[0].colorbar.title.text === 'gru − transformer'"
    )
    api = api_post(
        server, "/api/v1/influence", {"models": names, "text": TEXT, "method": "gradient", "encoding": "f16"}
    )
    maps = {m["model"]: decode(m["influence"]) for m in api["models"]}
    diff = shown_map(maps["gru"] - maps["transformer"])
    (props,) = trace_props(page, "#diff-plot", "z", "zmin", "zmax", "colorscale")
    np.testing.assert_allclose(as_array(props["z"]), diff, atol=1e-12)
    assert (props["zmin"], props["zmax"]) == shared_cap([diff])  # diverging: symmetric about 0
    assert props["colorscale"][0][1] != props["colorscale"][-1][1]
    wait_js(page, "location.search.includes('diffa=gru')")


def test_influence_by_distance_with_the_cards_held_out_profile(page: Any, server: str) -> None:
    names = ["transformer", "lstm", "gru"]  # the tiny GRU's card has no probes
    open_compare(page, server, TEXT, models=",".join(names))
    influence_ready(page)
    api = api_post(
        server, "/api/v1/influence", {"models": names, "text": TEXT, "method": "gradient", "encoding": "f16"}
    )
    catalog = {m["name"]: m for m in api_get(server, "/api/v1/models")["models"]}
    fig = figure(page, "#profile-plot")
    by_name = {d["name"]: d for d in fig["data"]}
    assert sorted(by_name) == sorted(
        [
            "transformer: this text",
            "transformer: held out (card)",
            "lstm: this text",
            "lstm: held out (card)",
            "gru: this text",
        ]
    )
    for m in api["models"]:
        norms = decode(m["grad_norm"])
        T = len(norms)
        cells = [[norms[t, t - d] for t in range(d, T) if np.isfinite(norms[t, t - d])] for d in range(T)]
        mean = [sum(c) / len(c) if c else np.nan for c in cells]
        d = [i for i in range(1, T) if np.isfinite(mean[i]) and mean[i] > 0]
        line = by_name[f"{m['model']}: this text"]
        assert line["x"] == d
        np.testing.assert_allclose(line["y"], [mean[i] for i in d], rtol=1e-12)
    card = catalog["transformer"]["card"]["probes"]["gradient_vs_distance"]["mean_grad_norm"]
    ref = by_name["transformer: held out (card)"]
    assert ref["x"] == list(range(1, len(card))) and ref["y"] == card[1:]
    assert "not measured for gru" in page.inner_text("#profile-note")
    assert fig["layout"]["xaxis"]["type"] == "log" and fig["layout"]["yaxis"]["type"] == "log"


def lcs_slots(a: list[str], b: list[str]) -> list[tuple[int | None, int | None]]:
    """Align two token lists: the longest common subsequence, the tokens between two matches
    paired in order."""
    n, m = len(a), len(b)
    lcs = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            lcs[i][j] = lcs[i + 1][j + 1] + 1 if a[i] == b[j] else max(lcs[i + 1][j], lcs[i][j + 1])
    slots: list[tuple[int | None, int | None]] = []
    ra: list[int] = []
    rb: list[int] = []

    def flush() -> None:
        for k in range(max(len(ra), len(rb))):
            slots.append((ra[k] if k < len(ra) else None, rb[k] if k < len(rb) else None))
        ra.clear()
        rb.clear()

    i = j = 0
    while i < n or j < m:
        if i < n and j < m and a[i] == b[j]:
            flush()
            slots.append((i, j))
            i, j = i + 1, j + 1
        elif j >= m or (i < n and lcs[i + 1][j] >= lcs[i][j + 1]):
            ra.append(i)
            i += 1
        else:
            rb.append(j)
            j += 1
    flush()
    return slots


def word_bits(server: str, names: list[str], prefix: str, word: str) -> dict[str, float]:
    """-log2 P(word | prefix) per model, from the predictions of a trace of prefix + word."""
    res = api_post(
        server,
        "/api/v1/compare",
        {"models": names, "text": prefix + word, "parts": ["predictions"], "top_k": 1, "encoding": "f16"},
    )
    out = {}
    for m in res["models"]:
        spans = res["tokenizations"][m["tokenizer"]]["spans"]
        bits = m["predictions"]["surprisal_bits"]
        out[m["model"]] = sum(bits[k - 1] for k, (s, _) in enumerate(spans) if s >= len(prefix))
    return out


def test_minimal_pair_delta_bits_and_word_probabilities(page: Any, server: str) -> None:
    names = ["transformer", "lstm"]
    a, b = "The key to the cabinets is", "The keys to the cabinet are"  # the first sample pair
    open_compare(page, server, REPEATED, models=",".join(names))
    wait_js(page, "document.querySelector('#pair').dataset.status === 'ready'")
    assert (page.input_value("#pair-a"), page.input_value("#pair-b")) == (a, b)
    body = {"models": names, "parts": ["predictions"], "top_k": 1, "encoding": "f16"}
    ra, rb = (api_post(server, "/api/v1/compare", {**body, "text": t}) for t in (a, b))
    ta, tb = (r["tokenizations"][r["models"][0]["tokenizer"]] for r in (ra, rb))
    slots = lcs_slots(ta["strings"], tb["strings"])
    fig = figure(page, "#delta-plot")
    assert [d["name"] for d in fig["data"]] == names
    for d, ma, mb in zip(fig["data"], ra["models"], rb["models"], strict=True):
        sa, sb = ma["predictions"]["surprisal_bits"], mb["predictions"]["surprisal_bits"]
        want = [
            None if i is None or j is None or i == 0 or j == 0 else sb[j - 1] - sa[i - 1] for i, j in slots
        ]
        assert len(d["y"]) == len(want)
        for got, w in zip(d["y"], want, strict=True):
            assert (got is None and w is None) or abs(got - w) < 1e-12
    # the place compared by default: the last where the texts differ (the verb)
    last = max(
        k
        for k, (i, j) in enumerate(slots)
        if i is not None and j is not None and ta["strings"][i] != tb["strings"][j]
    )
    i, j = slots[last]
    prefix_a, word_a = a[: ta["spans"][i][0]], a[ta["spans"][i][0] : ta["spans"][i][1]]
    prefix_b, word_b = b[: tb["spans"][j][0]], b[tb["spans"][j][0] : tb["spans"][j][1]]
    assert page.locator("#pair-at option:checked").inner_text().endswith(f"→ {tb['strings'][j]}")
    for ctx, prefix in (("a", prefix_a), ("b", prefix_b)):
        for w, word in (("a", word_a), ("b", word_b)):
            bits = word_bits(server, names, prefix, word)
            for name in names:
                cell = page.locator(
                    f"#pair-table tr[data-model='{name}'] td[data-context='{ctx}'][data-word='{w}']"
                )
                assert abs(float(cell.get_attribute("data-bits")) - bits[name]) < 1e-9
                shown = float(cell.inner_text())
                assert abs(shown - 2 ** -bits[name]) <= 0.0051 * 2 ** -bits[name]  # 3 significant digits


def test_one_map_large_the_others_small(page: Any, server: str) -> None:
    names = ["transformer", "lstm", "gru", "rnn"]
    open_compare(page, server, TEXT, models=",".join(names), rollout=0)
    influence_ready(page)
    page.select_option("#imap", "lstm")
    wait_js(page, "document.querySelector('#maps').classList.contains('one')")
    influence_ready(page)
    large = page.locator("#maps .map-cell.large").evaluate_all("cs => cs.map(c => c.dataset.model)")
    small = page.locator("#maps .map-cell.small").evaluate_all("cs => cs.map(c => c.dataset.model)")
    assert large == ["lstm"] and small == ["transformer", "gru", "rnn"]
    wait_js(page, "document.querySelector('#imap-gru').data?.length === 1")
    assert figure(page, "#imap-gru")["layout"]["xaxis"]["ticktext"] == []  # small: no labels
    box = page.locator("#imap-lstm").bounding_box()
    assert box and box["height"] > 3 * page.locator("#imap-gru").bounding_box()["height"]
    page.click("#maps .map-cell[data-model='gru'] button.enlarge")
    wait_js(page, "document.querySelector('#maps .map-cell.large')?.dataset.model === 'gru'")


def tick_labels_fit(page: Any, selector: str) -> None:
    """No two tick labels of the x axis overlap (their boxes, as drawn)."""
    boxes = page.evaluate(
        """sel => [...document.querySelectorAll(sel + ' .xtick text')].map(t => {
             const r = t.getBoundingClientRect(); return [r.left, r.right]; })""",
        selector,
    )
    # a label slanted at -60° ends at its tick (its right edge); two clear each other when
    # their ends are ~12 px apart (11 px text)
    ends = sorted(hi for _, hi in boxes)
    assert len(ends) >= 4, (selector, ends)
    assert all(b - a >= 12 for a, b in itertools.pairwise(ends)), (selector, ends)


def columns_laid_out(page: Any, large: str | None, names: list[str]) -> None:
    """Wait until the columns show ``large`` large (None: side by side), every map drawn with
    as many tick labels as its figure asks for (none on a small one)."""
    wait_js(
        page,
        """([large, names]) => { const cols = document.querySelector('#columns');
          if (cols.classList.contains('one') !== (large !== null)) return false;
          if (large !== null && cols.querySelector('.col.large')?.dataset.model !== large) return false;
          return names.every(n => { const gd = document.querySelector('#plot-' + n);
            const want = n === large || large === null;
            return gd?.layout && (gd.layout.xaxis.ticktext.length > 0) === want
              && gd.querySelectorAll('.xtick text').length === gd.layout.xaxis.ticktext.length; }); }""",
        [large, names],
    )


def ytick_labels_fit(page: Any, selector: str) -> None:
    """No two tick labels of the y axis overlap (their boxes, as drawn)."""
    boxes = page.evaluate(
        """sel => [...document.querySelectorAll(sel + ' .ytick text')].map(t => {
             const r = t.getBoundingClientRect(); return [r.top, r.bottom]; })""",
        selector,
    )
    spans = sorted(boxes)
    assert len(spans) >= 4, (selector, spans)
    assert all(b[0] >= a[1] - 1 for a, b in itertools.pairwise(spans)), (selector, spans)


SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank."


def about_250_tokens(server: str) -> str:
    """The sentence repeated to between 230 and 250 tokens (the tokenizer decides how many)."""
    for k in range(30, 0, -1):
        text = " ".join([SENTENCE] * k)
        res = api_post(
            server,
            "/api/v1/compare",
            {"models": ["lstm", "gru"], "text": text, "parts": ["predictions"], "top_k": 1},
        )
        n = res["tokenizations"][res["models"][0]["tokenizer"]]["n_tokens"]
        if n <= 250:
            assert n >= 230, n
            return text
    raise AssertionError("unreachable")


def test_four_models_at_250_tokens_stay_readable(page: Any, server: str, artifacts: Path) -> None:
    names = ["transformer", "lstm", "gru", "rnn"]
    text = about_250_tokens(server)
    open_compare(page, server, text, models=",".join(names))
    wait_ready(page, text)
    for name in names:
        wait_js(page, f"document.querySelector('#plot-{name}')?.data?.length > 0")
    tick_labels_fit(page, "#surprisal-plot")
    # influence maps take at most MAX_INFLUENCE_TOKENS tokens (their cost grows with T²): said
    wait_js(page, "document.querySelector('#influence').dataset.status === 'refused'")
    assert str(MAX_INFLUENCE_TOKENS) in page.inner_text("#influence-note")
    page.screenshot(path=str(artifacts / "compare-250.png"), full_page=True)


def no_overlaps(page: Any, selector: str) -> None:
    """The visible children of every ``selector`` do not overlap one another."""
    clashes = page.evaluate(
        """sel => { const out = [];
          for (const box of document.querySelectorAll(sel)) {
            const kids = [...box.children].filter(k => k.offsetParent && k.getClientRects().length)
              .map(k => [k, k.getBoundingClientRect()]);
            for (let i = 0; i < kids.length; i++) for (let j = i + 1; j < kids.length; j++) {
              const [a, ra] = kids[i], [b, rb] = kids[j];
              const w = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
              const h = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
              if (w > 1 && h > 1) out.push([a.id || a.className || a.tagName, b.id || b.className || b.tagName]);
            } }
          return out; }""",
        selector,
    )
    assert not clashes, clashes


@pytest.fixture
def narrow(browser: Any, recorder: Any) -> Iterator[Any]:
    """A page 800 x 720 px (console errors recorded, as ``page``)."""
    context = browser.new_context(viewport={"width": 800, "height": 720})
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    pg.on("console", lambda m: recorder.console_errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: recorder.page_errors.append(str(e)))
    yield pg
    context.close()
    assert not recorder.unexpected_errors()


# the page's blocks, whose visible children must not overlap one another
BLOCKS = (
    ".compare, .compare-bar, .columns, .cmp-head, .surprisal-row, #maps, .figs2, .pair-texts, .pair-body, "
    ".col header, .map-cell header"
)


def nothing_spills(page: Any, width: int) -> None:
    """Nothing runs past the page's width (no horizontal scroll), and the visible children of
    every block lie inside it (none spills over the next block)."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    outside = page.evaluate(
        """([sel, w]) => [...document.querySelectorAll(sel)].flatMap(b => {
             const box = b.getBoundingClientRect();
             return [...b.children].filter(k => k.offsetParent).filter(k => {
               const r = k.getBoundingClientRect();
               return r.right > Math.min(w, box.right) + 0.5 || r.left < Math.max(0, box.left) - 0.5
                 || r.bottom > box.bottom + 0.5 || r.top < box.top - 0.5; })
             .map(k => [b.id || b.className, k.id || k.className || k.tagName]); })""",
        [BLOCKS, width],
    )
    assert not outside, outside


def test_nothing_overlaps_at_800_px(narrow: Any, server: str, artifacts: Path) -> None:
    names = ["transformer", "lstm", "gru", "rnn"]
    narrow.goto(f"{server}/compare?text={quote(TEXT)}&models={','.join(names)}")
    wait_ready(narrow, TEXT)
    influence_ready(narrow)
    wait_js(narrow, "document.querySelector('#pair').dataset.status === 'ready'")
    columns_laid_out(narrow, None, names)  # a short text: every map fits, one under another
    nothing_spills(narrow, 800)
    narrow.screenshot(path=str(artifacts / "compare-800.png"), full_page=True)
    no_overlaps(narrow, BLOCKS)
    maps = [f"#imap-{n}" for n in names] + ["#rollout-transformer", "#diff-plot"]
    for selector in ["#surprisal-plot", "#delta-plot", *[f"#plot-{n}" for n in names], *maps]:
        tick_labels_fit(narrow, selector)
    for selector in ["#plot-transformer", *maps]:
        ytick_labels_fit(narrow, selector)


def test_nothing_overlaps_at_800_px_with_four_models_at_250_tokens(
    narrow: Any, server: str, artifacts: Path
) -> None:
    names = ["transformer", "lstm", "gru", "rnn"]
    text = about_250_tokens(server)
    narrow.goto(f"{server}/compare?text={quote(text)}&models={','.join(names)}")
    wait_ready(narrow, text)
    wait_js(narrow, "document.querySelector('#pair').dataset.status === 'ready'")
    # the first map large across the page, the others small in a row under it
    columns_laid_out(narrow, "transformer", names)
    nothing_spills(narrow, 800)
    narrow.screenshot(path=str(artifacts / "compare-800-250.png"), full_page=True)
    no_overlaps(narrow, BLOCKS)
    large = narrow.locator("#plot-transformer").bounding_box()
    smalls = [narrow.locator(f"#plot-{n}").bounding_box() for n in names[1:]]
    assert large and all(b and b["y"] >= large["y"] + large["height"] for b in smalls)
    for selector in ["#surprisal-plot", "#delta-plot", "#plot-transformer"]:
        tick_labels_fit(narrow, selector)
    ytick_labels_fit(narrow, "#plot-transformer")


def test_labels_fit_again_when_the_window_narrows(narrow: Any, server: str) -> None:
    names = ["transformer", "lstm", "gru", "rnn"]
    text = about_250_tokens(server)
    # side by side at 800 px: one map under another, each the page's width, labelled densely
    narrow.goto(f"{server}/compare?text={quote(text)}&models={','.join(names)}&cmap=all")
    wait_ready(narrow, text)
    columns_laid_out(narrow, None, names)
    wide = figure(narrow, "#plot-transformer")["layout"]["xaxis"]["ticktext"]
    # at 1280 px the four stand in a row, each a quarter as wide: fewer labels, none overlapping
    narrow.set_viewport_size({"width": 1280, "height": 720})
    wait_js(
        narrow,
        "n => document.querySelector('#plot-transformer').layout.xaxis.ticktext.length < n",
        len(wide),
    )
    columns_laid_out(narrow, None, names)
    for name in names:
        tick_labels_fit(narrow, f"#plot-{name}")
    tick_labels_fit(narrow, "#surprisal-plot")


def test_occlusion_measures_again_and_says_the_cards_profile_is_a_gradient(page: Any, server: str) -> None:
    names = ["transformer", "lstm"]
    open_compare(page, server, TEXT, models=",".join(names))
    influence_ready(page)
    page.select_option("#imethod", "occlusion")
    wait_js(page, "document.querySelector('#imap-lstm')?.data?.[0].colorbar.title.text === 'Δ log p'")
    influence_ready(page)
    api = api_post(
        server, "/api/v1/influence", {"models": names, "text": TEXT, "method": "occlusion", "encoding": "f16"}
    )
    maps = [decode(m["influence"]) for m in api["models"]]
    for name, m in zip(names, maps, strict=True):
        (props,) = trace_props(page, f"#imap-{name}", "z", "zmin", "zmax")
        np.testing.assert_array_equal(as_array(props["z"]), shown_map(m))
        assert (props["zmin"], props["zmax"]) == shared_cap(maps)
    assert "gradient norm" in page.inner_text("#profile-note")
    held_out = [d["name"] for d in figure(page, "#profile-plot")["data"] if "held out" in d["name"]]
    assert held_out == []  # not the same quantity: no reference drawn
    wait_js(page, "location.search.includes('imethod=occlusion')")


def test_four_column_maps_at_250_tokens_have_readable_labels(page: Any, server: str) -> None:
    names = ["transformer", "lstm", "gru", "rnn"]
    text = about_250_tokens(server)
    open_compare(page, server, text, models=",".join(names))
    # side by side a token would get under 3 px: the first model large, the others small
    # multiples without labels; each one made large in turn (a click on its map, its button,
    # the select) is labelled every k-th token, no two labels overlapping
    columns_laid_out(page, "transformer", names)
    assert "side by side a token would get under 3 px" in page.inner_text("#cmap-note")
    in_view(page, "#columns")
    for name, enlarge in zip(names, [None, "map", "button", "select"], strict=True):
        if enlarge == "map":
            click_cell(page, f"#plot-{name}", 100, 3)
        elif enlarge == "button":
            page.click(f"#columns .col[data-model='{name}'] button.enlarge")
        elif enlarge == "select":
            page.select_option("#cmap", name)
        columns_laid_out(page, name, names)
        tick_labels_fit(page, f"#plot-{name}")
        for other in names:
            if other != name:
                assert figure(page, f"#plot-{other}")["layout"]["xaxis"]["ticktext"] == []
        large = page.locator(f"#plot-{name}").bounding_box()
        small = page.locator(f"#plot-{next(n for n in names if n != name)}").bounding_box()
        assert large and small and large["width"] * large["height"] > 8 * small["width"] * small["height"]
        if name == "transformer":
            ytick_labels_fit(page, "#plot-transformer")  # queries down the side: tokens too
    wait_js(page, "location.search.includes('cmap=rnn')")
    assert page.input_value("#cmap") == "rnn"
    # side by side, when asked for: every map still labelled without overlaps
    page.select_option("#cmap", "all")
    columns_laid_out(page, None, names)
    for name in names:
        tick_labels_fit(page, f"#plot-{name}")
    ytick_labels_fit(page, "#plot-transformer")
    page.reload()
    wait_ready(page, text)
    columns_laid_out(page, None, names)
