"""The /learn page in a real Chromium over the tiny models: every section renders, the
step-by-step identities hold on screen, the what-if temperature leaves the model's weights
alone, generation streams and stops, the glossary's tooltips work by pointer and keyboard,
and the page fits 800 px."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import numpy as np
import pytest

from tests.browser.helpers import api_post, decode, figure, query, wait_js

pytestmark = pytest.mark.browser

TEXT = "the cat saw the cat"
PARTS = ["parallel", "probes", "attention", "heads", "gates", "memory", "influence"]
TOLERANCE = 1e-5


def open_learn(page: Any, server: str, text: str = TEXT, **params: Any) -> None:
    """Open /learn and wait until every part has loaded."""
    q = "&".join(f"{k}={quote(str(v))}" for k, v in {"text": text, **params}.items())
    page.goto(f"{server}/learn?{q}")
    wait_sections(page)


def wait_sections(page: Any, parts: list[str] = PARTS, timeout: float = 60) -> None:
    wait_js(
        page,
        "ids => ids.every(i => document.getElementById(i).dataset.status === 'ready')",
        parts,
        timeout=timeout,
    )


def checks(page: Any, section: str) -> dict[str, float]:
    """The identity lines of a section: check id -> the difference shown."""
    return page.evaluate(
        """s => Object.fromEntries([...document.querySelectorAll('#' + s + ' li.check')]
             .map(li => [li.dataset.check, Number(li.dataset.diff)]))""",
        section,
    )


def summary(page: Any, section: str) -> str:
    return page.inner_text(f"#{section}-summary")


def wait_summary(page: Any, section: str, text: str) -> None:
    """Wait until the section has reloaded for what was just chosen: its status is still
    "ready" from before until the reload starts, so wait for its summary to say so too."""
    wait_js(
        page,
        "([s, w]) => document.getElementById(s).dataset.status === 'ready'"
        " && document.getElementById(s + '-summary').innerText.includes(w)",
        [section, text],
    )


def test_every_section_renders_with_its_figures(page: Any, server: str) -> None:
    open_learn(page, server)
    for plot in [
        "steps-plot",
        "copy-plot",
        "agree-plot",
        "grad-plot",
        "memory-plot",
        "a-w-plot",
        "a-map-plot",
    ]:
        assert page.evaluate(f"document.getElementById('{plot}').data?.length > 0"), plot
    for plot in ["heads-grid", "g-x-plot", "a-k-plot", "a-r-plot"]:
        assert page.evaluate(f"document.getElementById('{plot}').data?.length > 0"), plot
    # sequential steps: the tiny Transformer's 2 layers; the recurrent ones 2 layers x 5 tokens
    bars = figure(page, "#steps-plot")["data"][0]
    assert page.evaluate("document.getElementById('steps-plot').data[0].y") == [2, 10, 10, 10]
    assert bars["type"] == "bar"
    # the cards' probes are drawn; the models without them are named
    copy = figure(page, "#copy-plot")["data"]
    assert [s["name"] for s in copy] == ["transformer", "lstm"]
    assert "gru, rnn: not measured for this model yet" in page.inner_text("#copy-missing")
    assert "gru, rnn" in page.inner_text("#agree-missing")
    # the glossary lists every term
    assert page.locator("#glossary-list dt").count() > 40
    assert "influence" in page.inner_text("#influence").lower()


def test_attention_click_through_shows_every_identity_holding(page: Any, server: str) -> None:
    open_learn(page, server)
    page.select_option("#alayer", "1")
    page.select_option("#ahead", "1")
    page.click("#astrip .tok[data-t='3']")
    wait_js(page, "location.search.includes('token=3') && location.search.includes('head=1')")
    wait_summary(page, "attention", "Layer 1 · head 1 · query #3")
    got = checks(page, "attention")
    assert set(got) == {
        "q",
        "k",
        "v",
        "scores",
        "scale",
        "scaled",
        "mask",
        "softmax",
        "row",
        "z",
        "concat",
        "attn_out",
        "resid_mid",
        "resid",
    }
    assert all(d <= TOLERANCE for d in got.values()), got
    assert page.locator("#attention li.check.bad").count() == 0
    assert "14 of 14 identities hold" in summary(page, "attention")
    # the drawn weights are the model's attention row (the trace at full precision)
    trace = api_post(
        server,
        "/api/v1/trace",
        {"model": "transformer", "text": TEXT, "parts": ["attention"], "encoding": "json", "decimals": 8},
    )
    row = np.array(trace["parts"]["attention"]["self"]["data"])[1, 1, 3]
    shown = np.array(page.evaluate("document.getElementById('a-w-plot').data[0].y"))
    assert np.abs(shown - row).max() < 1e-6
    assert shown[4] == 0  # the key after the query is masked
    # and the map's row for this query is outlined
    assert page.evaluate("document.getElementById('a-map-plot').layout.shapes.length") >= 2


def test_a_row_of_the_attention_map_picks_the_query(page: Any, server: str) -> None:
    from tests.browser.helpers import click_cell

    open_learn(page, server)
    page.locator("#a-map-plot").scroll_into_view_if_needed()
    click_cell(page, "#a-map-plot", 0, 2)
    wait_js(page, "location.search.includes('token=2')")
    wait_summary(page, "attention", "query #2")


def test_temperature_what_if_changes_the_drawn_weights_but_not_the_model(page: Any, server: str) -> None:
    open_learn(page, server, token=4)
    model = page.evaluate("document.getElementById('a-w-plot').data[0].y")
    assert page.evaluate("document.getElementById('a-w-plot').data.length") == 1
    page.focus("#tau")
    for _ in range(10):
        page.keyboard.press("ArrowRight")  # log2 tau += 0.05 each
    wait_js(page, "document.getElementById('a-w-plot').data.length === 2")
    data = page.evaluate("document.getElementById('a-w-plot').data.map(d => ({y: d.y, name: d.name}))")
    assert data[0]["y"] == model  # the model's weights stay
    assert "what-if, not the model" in data[1]["name"]
    assert data[1]["y"] != model
    assert abs(sum(data[1]["y"]) - 1) < 1e-9
    flatter = np.array(data[1]["y"])
    assert flatter.max() < max(model)  # tau > 1 flattens
    assert "tau=1.41" in page.url
    # the identities still compare the model's own softmax (tau = 1)
    assert all(d <= TOLERANCE for d in checks(page, "attention").values())
    page.click("#tau-reset")
    wait_js(page, "document.getElementById('a-w-plot').data.length === 1")


@pytest.mark.parametrize(
    ("model", "ids"),
    [
        ("lstm", {"gate-i", "gate-f", "gate-g", "gate-o", "c", "h"}),
        ("gru", {"gate-r", "gate-z", "gate-n", "h"}),
        ("rnn", {"gate-h", "h"}),
    ],
)
def test_recurrence_step_by_step_identities_hold(page: Any, server: str, model: str, ids: set[str]) -> None:
    open_learn(page, server)
    page.select_option("#rmodel", model)
    page.select_option("#rlayer", "1")
    page.click("#rstrip .tok[data-t='2']")
    wait_js(page, f"location.search.includes('rmodel={model}') && location.search.includes('token=2')")
    wait_summary(page, "gates", f"{model} · layer 1 · step t = 2")
    got = checks(page, "gates")
    assert set(got) == ids
    assert all(d <= TOLERANCE for d in got.values()), got
    page.fill("#runits", "1, 7")
    page.press("#runits", "Enter")
    page.locator("#runits").blur()
    wait_js(page, "location.search.includes('units=1%2C7')")
    units = page.eval_on_selector_all("#g-state tbody th", "ths => ths.map(t => t.textContent)")
    assert units == ["1", "7"]


def test_memory_horizon_is_a_units_by_distance_heatmap_of_kept_shares(page: Any, server: str) -> None:
    open_learn(page, server, mmodel="gru", mlayer=1)
    api = api_post(server, "/api/v1/steps/memory", {"model": "gru", "text": TEXT, "layer": 1})
    fig = figure(page, "#memory-plot")
    z = np.array(fig["data"][0]["z"], dtype=float)
    assert z.shape == (24, 5)  # every unit of the tiny GRU, distances 0..4
    assert np.all((z >= 0) & (z <= 1)) and np.all(z[:, 0] == 1)
    assert sorted(map(tuple, z.round(6))) == sorted(map(tuple, np.array(api["mean_survival"]).round(6)))
    page.select_option("#mview", "last")
    wait_js(page, "document.getElementById('memory-plot').layout.title.text.includes('ending at token 4')")
    assert "memory-plot" in page.inner_html("#memory")
    assert "gate z" in page.inner_text("#memory-note") or "(through z)" in page.inner_text("#memory-note")


def test_heads_section_scores_every_head_and_opens_one_step_by_step(page: Any, server: str) -> None:
    open_learn(page, server)
    assert page.evaluate("document.getElementById('heads-grid').data.length") == 4
    rows = page.locator("#heads-table tbody tr")
    assert rows.count() == 4
    first = rows.nth(0).inner_text()
    assert "previous token" in first  # the card's strongest score names the role
    # "here": the tiny model's attention on this sentence, recomputed from the API's trace
    trace = api_post(
        server,
        "/api/v1/trace",
        {"model": "transformer", "text": TEXT, "parts": ["attention"], "encoding": "json"},
    )
    att = np.array(trace["parts"]["attention"]["self"]["data"])[1, 1]
    prev = np.mean([att[t, t - 1] for t in range(1, 5)])
    cells = rows.nth(3).locator("td").all_inner_texts()  # role, 4 card scores, ablation, 3 here, button
    assert abs(float(cells[6]) - prev) < 1e-3 * max(1, prev)
    assert float(cells[1]) == pytest.approx(0.9)  # the card's previous-token score of head 1.1
    rows.nth(3).get_by_role("button", name="Step through").click()
    wait_js(page, "document.activeElement.id === 'attention-h' && location.search.includes('layer=1')")
    wait_summary(page, "attention", "Layer 1 · head 1")
    assert page.evaluate(
        "document.querySelector('#heads-keys [aria-selected=true]')?.getAttribute('aria-label')"
    ) == ("Layer 1, head 1")


def test_generation_streams_tokens_with_their_attention_rows(page: Any, server: str) -> None:
    open_learn(page, server)
    page.fill("#gmax", "12")
    page.dispatch_event("#gmax", "change")
    page.click("#gstart")
    wait_js(page, "document.getElementById('generate').dataset.status === 'ready'")
    assert page.locator("#gtext .gen-tok").count() == 12
    assert "12 tokens · reached the token limit" in page.inner_text("#gstatus")
    z = figure(page, "#gen-plot")["data"][0]["z"]
    assert len(z) == 12 and len(z[0]) == 5 + 12  # a row per new token, over every token so far
    # greedy: the same as the API's
    api = api_post(server, "/api/v1/generate", {"model": "transformer", "prompt": TEXT, "max_new_tokens": 12})
    assert page.eval_on_selector_all("#gtext .gen-tok", "s => s.map(x => x.textContent).join('')") == "".join(
        t["text"] for t in api["tokens"]
    )


def test_generation_with_a_recurrent_model_draws_state_columns_and_sampling_repeats_with_its_seed(
    page: Any, server: str
) -> None:
    open_learn(page, server, gmodel="lstm", strategy="sample", seed=7, topk=20, max=8)
    texts = []
    for _ in range(2):
        page.click("#gstart")
        wait_js(page, "document.getElementById('generate').dataset.status === 'ready'")
        texts.append(page.inner_text("#gtext"))
    assert texts[0] == texts[1]
    assert "seed 7" in page.inner_text("#gstatus")
    z = figure(page, "#gen-plot")["data"][0]["z"]
    assert len(z) == 24 and len(z[0]) == 8  # units x new tokens


def test_stop_ends_a_generation_early(page: Any, server: str) -> None:
    open_learn(page, server, max=256)
    # slow the network to a trickle so that the stream is still running when Stop is pressed
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 20, "downloadThroughput": 3000, "uploadThroughput": 100000},
    )
    page.click("#gstart")
    wait_js(page, "Number(document.getElementById('generate').dataset.tokens) >= 2", timeout=60)
    assert page.is_enabled("#gstop") and page.is_disabled("#gstart")
    page.click("#gstop")
    wait_js(page, "document.getElementById('generate').dataset.status === 'stopped'")
    n = page.locator("#gtext .gen-tok").count()
    assert 2 <= n < 100
    assert "stopped" in page.inner_text("#gstatus")
    assert page.is_enabled("#gstart") and page.is_disabled("#gstop")


def test_keyboard_moves_the_followed_token_and_opens_tooltips(page: Any, server: str) -> None:
    open_learn(page, server)
    page.focus("#astrip .tok[data-t='0']")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    wait_js(page, "location.search.includes('token=2')")
    wait_summary(page, "attention", "query #2")
    wait_summary(page, "gates", "step t = 2")
    # a glossary term: focus shows its tooltip, which describes the term; Escape hides it
    term = page.locator("#attention-h [data-term='dot-product']")
    term.focus()
    tip_id = term.get_attribute("aria-describedby")
    assert tip_id and page.is_visible(f"#{tip_id}")
    assert page.get_attribute(f"#{tip_id}", "role") == "tooltip"
    assert "√d_k" in page.inner_text(f"#{tip_id}")
    page.keyboard.press("Escape")
    assert page.is_hidden(f"#{tip_id}")
    # and the pointer shows it too
    page.hover("#gates-h [data-term='gates']")
    gates_tip = page.get_attribute("#gates-h [data-term='gates']", "aria-describedby")
    wait_js(page, f"!document.getElementById('{gates_tip}').hidden")


def test_url_restores_every_choice(page: Any, server: str) -> None:
    open_learn(page, server, layer=1, head=1, token=2, rmodel="gru", rlayer=1, mmodel="lstm", tau=2)
    assert "Layer 1 · head 1 · query #2" in summary(page, "attention")
    assert "gru · layer 1 · step t = 2" in summary(page, "gates")
    assert page.inner_text("#tau-value") == "2"
    assert page.evaluate("document.getElementById('a-w-plot').data.length") == 2
    q = query(page)
    assert q["rmodel"] == "gru" and q["token"] == "2"
    link = page.get_attribute("#attention-links a", "href")
    assert link.startswith("/?") and "layer=1" in link and "head=1" in link and "token=2" in link


def test_readable_at_800_px_without_overflow(browser: Any, server: str, recorder: Any) -> None:
    context = browser.new_context(viewport={"width": 800, "height": 720})
    pg = context.new_page()
    pg.on("console", lambda m: recorder.console_errors.append(m.text) if m.type == "error" else None)
    pg.on("request", lambda r: recorder.urls.append(r.url))
    try:
        open_learn(pg, server)
        assert pg.evaluate("document.documentElement.scrollWidth") <= 800
        # nothing sticks out of its section, and a section's blocks do not overlap
        bad = pg.evaluate(
            """() => [...document.querySelectorAll('.lsec')].flatMap(sec => {
                 const s = sec.getBoundingClientRect();
                 const kids = [...sec.children].filter(k => !k.hidden && k.getBoundingClientRect().height > 0);
                 const out = kids.filter(k => k.getBoundingClientRect().right > s.right + 1).map(k => sec.id + ' wide ' + k.id);
                 for (let i = 1; i < kids.length; i++) {
                   if (kids[i].getBoundingClientRect().top < kids[i - 1].getBoundingClientRect().bottom - 1)
                     out.push(sec.id + ' overlap ' + kids[i - 1].id + '/' + kids[i].id);
                 }
                 return out; })"""
        )
        assert bad == []
        grid = pg.evaluate(
            "getComputedStyle(document.getElementById('probes')).gridTemplateColumns.split(' ').length"
        )
        assert grid == 1  # the figures stack
    finally:
        context.close()
    assert not recorder.unexpected_errors()


def test_explore_and_compare_labels_explain_their_terms(page: Any, server: str) -> None:
    page.goto(f"{server}/?text={quote(TEXT)}")
    wait_js(page, "document.body.dataset.status === 'ready'")
    legend = page.locator("#legend [data-term='surprisal']")
    legend.hover()
    tip = legend.get_attribute("aria-describedby")
    wait_js(page, f"!document.getElementById('{tip}').hidden")
    assert "−log₂" in page.inner_text(f"#{tip}")
    assert page.get_attribute("#view", "data-term") == "head"
    page.select_option("#model", "lstm")
    wait_js(page, "document.getElementById('part')?.dataset.term === 'h'")
    page.select_option("#part", "f")
    wait_js(page, "document.getElementById('part').dataset.term === 'f'")
    assert "forget" in page.inner_text(f"#{page.get_attribute('#part', 'aria-describedby')}")
    page.goto(f"{server}/compare?text={quote(TEXT)}")
    wait_js(page, "document.body.dataset.status === 'ready'")
    assert page.get_attribute("#part", "data-term") in {"h", "c", "i", "f", "g", "o", "r", "z", "n", "resid"}


def influence_by_distance(matrix: np.ndarray) -> list[float | None]:
    """Mean share of each prediction's total |influence| coming from d tokens back, written
    from the page's description (not its code): rows with no finite total are left out."""
    t_len = matrix.shape[0]
    shares: list[list[float]] = [[] for _ in range(t_len)]
    for t in range(t_len):
        row = np.abs(matrix[t, : t + 1])
        total = row.sum()
        if not total > 0:
            continue
        for s in range(t + 1):
            shares[t - s].append(row[s] / total)
    return [float(np.mean(v)) if v else None for v in shares]


@pytest.mark.parametrize("method", ["gradient", "occlusion"])
def test_influence_vs_distance_is_drawn_from_every_models_map(page: Any, server: str, method: str) -> None:
    text = "the cat saw the dog and the cat ran"
    open_learn(page, server, text, imethod=method)
    lines = figure(page, "#influence-plot")["data"]
    body = {"models": [s["name"] for s in lines], "text": text, "method": method, "encoding": "f16"}
    api = api_post(server, "/api/v1/influence", body)  # the maps as the page asks for them
    assert [s["name"] for s in lines] == ["transformer", "lstm", "gru", "rnn"]
    for line, entry in zip(lines, api["models"], strict=True):
        want = influence_by_distance(decode(entry["influence"]).astype(float))
        expect = [(d, v) for d, v in enumerate(want) if v is not None and v > 0]
        assert list(line["x"]) == [d for d, _ in expect]
        np.testing.assert_allclose(line["y"], [v for _, v in expect], rtol=1e-9)
    assert page.inner_text("#influence-missing") == ""
