"""Switching models on the explore page, then using the main plot, in a real Chromium.

Every plot's hover and click must mean what the model shown *now* draws: a query row of
an attention map, a token column (and a unit row) of a state heatmap. The first model a
page showed must not keep its meaning after a switch (issue 10: hovering the LSTM's state
heatmap after the Transformer read the unit index as a token, and a click wrote the unit
into ``token=`` and chose no unit).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any
from urllib.parse import quote

import pytest

from tests.browser.helpers import click_cell, figure, hover_cell, query, wait_js, wait_ready

pytestmark = pytest.mark.browser

REPEATED = "the cat saw the cat"  # 5 tokens
MAIN = "#main-plot"
SEQUENCE = ["transformer", "lstm", "gru", "transformer"]


def open_explore(page: Any, server: str, text: str, **params: Any) -> None:
    query_string = "&".join(f"{k}={quote(str(v))}" for k, v in {"text": text, **params}.items())
    page.goto(f"{server}/?{query_string}")
    wait_ready(page, text)


def focused_tokens(page: Any) -> list[int]:
    return page.locator("#strip .tok.focus").evaluate_all("bs => bs.map(b => Number(b.dataset.t))")


def wait_focus(page: Any, token: int) -> None:
    wait_js(
        page,
        "t => { const f = [...document.querySelectorAll('#strip .tok.focus')]; "
        "return f.length === 1 && f[0].dataset.t === String(t); }",
        token,
    )


def wait_query(page: Any, key: str, value: str | None) -> None:
    wait_js(page, "([k, v]) => new URLSearchParams(location.search).get(k) === v", [key, value])


def main_axis(page: Any) -> str:
    """The main plot's y axis title: 'query (attending)' for attention, 'unit' for a state."""
    return page.evaluate(f"document.querySelector('{MAIN}').layout.yaxis.title.text")


def switch_to(page: Any, model: str, y_title: str) -> None:
    page.select_option("#model", model)
    wait_query(page, "model", model)
    wait_ready(page)
    wait_js(
        page,
        "([m, y]) => document.body.dataset.status === 'ready'"
        " && document.querySelector('#main-plot').layout.yaxis.title.text === y"
        " && document.querySelector('#model').value === m",
        [model, y_title],
    )


def test_hover_click_and_url_hold_after_every_model_switch(page: Any, server: str) -> None:
    open_explore(page, server, REPEATED)
    assert page.input_value("#model") == "transformer"
    units: list[int] = []
    # Each step picks a token other than the one selected before, so a stale handler shows.
    clicks = [(2, None), (4, 7), (1, 5), (2, None)]  # per step: (token, unit row of a state map)
    for step, model in enumerate(SEQUENCE):
        attention = model == "transformer"
        y_title = "query (attending)" if attention else "unit"
        if step:
            switch_to(page, model, y_title)
        assert main_axis(page) == y_title
        wait_query(page, "model", model)
        view = query(page).get("view", "")
        assert view in (("head", "") if attention else ("h",)), f"{model}: view={view!r}"
        assert page.is_visible("#attn-controls") == attention
        assert page.is_visible("#rnn-controls") == (not attention)

        # hover: the strip marks the token under the pointer (a query row, or a token column)
        if attention:
            hover_cell(page, MAIN, 0, 3)  # key 0, query 3
        else:
            hover_cell(page, MAIN, 3, 1)  # token 3, unit 1: a unit index that is also a token's
        wait_focus(page, 3)
        assert focused_tokens(page) == [3]
        if not attention:  # the other plots outline the hovered token's column
            wait_js(page, "document.querySelector('#lines-plot').layout.shapes.some(s => s.x0 === 2.5)")

        # click: selects the token (URL token=), and on a state heatmap plots the unit
        token, unit = clicks[step]
        if unit is None:
            click_cell(page, MAIN, 0, token)  # query row `token`
        else:
            click_cell(page, MAIN, token, unit)  # token column, unit row (units sorted by index)
            units.append(unit)
        wait_query(page, "token", str(token))
        wait_query(page, "units", ",".join(map(str, units)) if units else None)
        if not attention:
            wait_js(
                page,
                "n => JSON.stringify(document.querySelector('#lines-plot').data.map(d => d.name)) === n",
                json.dumps([f"unit {u}" for u in units], separators=(",", ":")),
            )
        page.mouse.move(2, 2)  # off every plot: the selection shows again
        wait_focus(page, token)
        assert "selected" in (page.get_attribute(f"#strip .tok[data-t='{token}']", "class") or "")
        assert f"(#{token})" in page.inner_text("#predictions")

    # the URL restores the last view
    url = page.url
    page.goto("about:blank")
    page.goto(url)
    wait_ready(page, REPEATED)
    assert page.input_value("#model") == "transformer"
    assert main_axis(page) == "query (attending)"
    wait_focus(page, 2)
    assert figure(page, MAIN)["layout"]["title"]["text"].startswith("Layer 0 · head 0")


def test_choosing_a_view_while_the_new_models_trace_is_on_its_way(page: Any, server: str) -> None:
    """The view chosen right after a switch is drawn, though the request in flight was made
    for the model's first view (its parts: attention, not the residual stream)."""
    open_explore(page, server, REPEATED, model="lstm")
    held: list[Any] = []  # trace requests kept waiting until the view has been chosen

    def hold(route: Any) -> None:
        held.append(route)

    page.route("**/api/v1/trace", hold)
    page.select_option("#model", "transformer")
    for _ in range(200):
        if held:
            break
        page.wait_for_timeout(25)
    assert held, "the switch sent no trace request"
    page.check("#kind-options input[value='states']")  # the attention trace is still coming
    page.wait_for_timeout(200)
    page.unroute("**/api/v1/trace", hold)
    for route in held:
        with contextlib.suppress(Exception):  # a request the page aborted itself
            route.continue_()
    wait_js(
        page,
        "document.body.dataset.status === 'ready'"
        " && document.querySelector('#main-plot').layout.title.text === 'Layer 0 · Residual stream'",
    )
    wait_query(page, "view", "resid")
    hover_cell(page, MAIN, 1, 3)
    wait_focus(page, 1)
