"""The thumbnail grids of the explore page by keyboard, in a real Chromium: one tab stop,
arrows move the focus, Enter/Space show the focused thumbnail large, exactly as a click."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import numpy as np
import pytest

from tests.browser.helpers import api_trace, decode, figure, wait_js, wait_ready

pytestmark = pytest.mark.browser

REPEATED = "the cat saw the cat"
MAIN = "#main-plot"
FOCUS_BLUE = "rgb(11, 87, 208)"  # --focus in app.css


def open_explore(page: Any, server: str, text: str, **params: Any) -> None:
    query = "&".join(f"{k}={quote(str(v))}" for k, v in {"text": text, **params}.items())
    page.goto(f"{server}/?{query}")
    wait_ready(page, text)


def wait_grid(page: Any, cells: int) -> None:
    wait_js(page, f"document.querySelector('#grid-plot').data?.length === {cells}")
    wait_js(page, f"document.querySelectorAll('#grid-keys [role=gridcell]').length === {cells}")


def active_label(page: Any) -> str | None:
    """The accessible name of the focused element if it is a gridcell of the grid, else None."""
    return page.evaluate(
        """() => { const a = document.activeElement;
        return a.getAttribute('role') === 'gridcell' && a.closest('#grid-keys') ? a.getAttribute('aria-label') : null; }"""
    )


def tab_to_grid(page: Any, limit: int = 40) -> int:
    """Press Tab from the token strip until a gridcell has the focus; returns how many presses."""
    page.focus("#strip .tok[data-t='0']")
    for n in range(1, limit + 1):
        page.keyboard.press("Tab")
        if active_label(page) is not None:
            return n
    raise AssertionError(f"{limit} Tab presses never reached the thumbnail grid")


def press(page: Any, key: str, expect: str) -> None:
    page.keyboard.press(key)
    assert active_label(page) == expect, f"after {key}: focus on {active_label(page)!r}, wanted {expect!r}"


def main_title(page: Any) -> str:
    return page.evaluate(f"document.querySelector('{MAIN}').layout.title.text")


def wait_title(page: Any, prefix: str) -> None:
    wait_js(page, "p => document.querySelector('#main-plot').layout.title.text.startsWith(p)", prefix)


def selected_labels(page: Any) -> list[str]:
    return page.locator("#grid-keys [role=gridcell][aria-selected=true]").evaluate_all(
        "cs => cs.map(c => c.getAttribute('aria-label'))"
    )


def tab_stops(page: Any) -> list[str]:
    return page.locator("#grid-keys [role=gridcell][tabindex='0']").evaluate_all(
        "cs => cs.map(c => c.getAttribute('aria-label'))"
    )


def outline_of_shown(page: Any) -> str:
    """The xref of the grid's "shown large" frame (the dark rectangle of selectionShape)."""
    shapes = figure(page, "#grid-plot")["layout"].get("shapes", [])
    frames = [s["xref"] for s in shapes if s.get("line", {}).get("color") == "#1d232b"]
    assert len(frames) == 1, frames
    return frames[0]


def focused_box_and_thumbnail(page: Any) -> tuple[list[float], list[float]]:
    """Page boxes [left, top, width, height] of the focused gridcell and of the plotly
    thumbnail (subplot) it stands for."""
    return page.evaluate(
        """() => { const c = document.activeElement, k = Number(c.dataset.cell);
        const gd = document.querySelector('#grid-plot'), ax = k ? String(k + 1) : '';
        const xa = gd._fullLayout['xaxis' + ax], ya = gd._fullLayout['yaxis' + ax];
        const svg = gd.querySelector('.main-svg').getBoundingClientRect(), r = c.getBoundingClientRect();
        return [[r.left, r.top, r.width, r.height],
                [svg.left + xa._offset, svg.top + ya._offset, xa._length, ya._length]]; }"""
    )


def test_arrow_keys_and_enter_choose_layer_and_head_in_the_model_view(page: Any, server: str) -> None:
    open_explore(page, server, REPEATED, layer=1, head=0)
    wait_grid(page, 4)
    grid = page.get_by_role("grid", name="Attention maps by layer and head")
    assert grid.count() == 1 and grid.get_by_role("row").count() == 2
    assert grid.get_by_role("gridcell").count() == 4
    assert tab_stops(page) == ["Layer 1, head 0"]  # one tab stop: the thumbnail shown large
    assert selected_labels(page) == ["Layer 1, head 0"]

    tab_to_grid(page)
    assert active_label(page) == "Layer 1, head 0"
    press(page, "ArrowRight", "Layer 1, head 1")
    press(page, "ArrowRight", "Layer 1, head 1")  # the last head: stays
    press(page, "ArrowUp", "Layer 0, head 1")
    press(page, "ArrowUp", "Layer 0, head 1")  # the first layer: stays
    # moving the focus does not change the view
    assert main_title(page).startswith("Layer 1 · head 0")
    assert selected_labels(page) == ["Layer 1, head 0"]

    # the focus ring is visible, blue, and lies over the thumbnail it names
    style = page.evaluate(
        """() => { const a = document.activeElement, s = getComputedStyle(a);
        return [a.matches(':focus-visible'), s.outlineStyle, s.outlineColor, parseFloat(s.outlineWidth)]; }"""
    )
    assert style[0] and style[1] == "solid" and style[2] == FOCUS_BLUE and style[3] >= 2
    box, thumb = focused_box_and_thumbnail(page)
    np.testing.assert_allclose(box, thumb, atol=0.5)
    assert page.evaluate("document.activeElement.dataset.cell") == "1"  # layer 0, head 1 in figure order

    page.keyboard.press("Enter")
    wait_title(page, "Layer 0 · head 1")
    assert page.input_value("#layer") == "0" and page.input_value("#head") == "1"
    wait_js(page, "location.search.includes('head=1') && !location.search.includes('layer=')")
    wait_js(page, "document.querySelector('#grid-plot').layout.shapes.some(s => s.xref === 'x2 domain')")
    assert outline_of_shown(page) == "x2 domain"
    wait_js(page, "document.querySelector('#grid-keys [aria-selected=true]')?.dataset.cell === '1'")
    assert active_label(page) == "Layer 0, head 1"  # the focus stays in the grid

    press(page, "ArrowDown", "Layer 1, head 1")
    press(page, "Home", "Layer 1, head 0")
    page.keyboard.press(" ")  # Space selects too
    wait_title(page, "Layer 1 · head 0")
    assert page.input_value("#layer") == "1" and page.input_value("#head") == "0"
    wait_js(page, "location.search.includes('layer=1') && !location.search.includes('head=')")

    press(page, "End", "Layer 1, head 1")
    page.keyboard.press("Enter")
    wait_title(page, "Layer 1 · head 1")
    assert page.input_value("#layer") == "1" and page.input_value("#head") == "1"
    want = decode(api_trace(server, "transformer", REPEATED)["parts"]["attention"]["self"])[1, 1]
    got = np.array([[np.nan if v is None else v for v in row] for row in figure(page, MAIN)["data"][0]["z"]])
    lower = np.tril(np.ones_like(want, dtype=bool))
    assert np.array_equal(got[lower], want[lower])  # the large map is that head's attention
    wait_js(page, "document.querySelector('#grid-keys [aria-selected=true]')?.dataset.cell === '3'")
    assert outline_of_shown(page) == "x4 domain"

    # the grid is one tab stop: Tab leaves it, Shift+Tab comes back to the same thumbnail
    page.keyboard.press("Tab")
    assert active_label(page) is None
    page.keyboard.press("Shift+Tab")
    assert active_label(page) == "Layer 1, head 1"


def test_the_selectors_and_the_mouse_keep_the_grid_in_step(page: Any, server: str) -> None:
    open_explore(page, server, REPEATED)
    wait_grid(page, 4)
    assert tab_stops(page) == ["Layer 0, head 0"]
    page.select_option("#layer", "1")
    page.select_option("#head", "1")
    wait_js(page, "document.querySelector('#grid-keys [aria-selected=true]')?.dataset.cell === '3'")
    assert tab_stops(page) == ["Layer 1, head 1"]  # Tab now lands on the thumbnail shown
    tab_to_grid(page)
    assert active_label(page) == "Layer 1, head 1"
    # the keyboard layer lets clicks through to plotly: clicking thumbnail L0 H1 still selects it
    centre = page.evaluate(
        """() => { const gd = document.querySelector('#grid-plot'), fl = gd._fullLayout;
        const svg = gd.querySelector('.main-svg').getBoundingClientRect();
        return [svg.left + fl.xaxis2._offset + fl.xaxis2._length / 2, svg.top + fl.yaxis2._offset + fl.yaxis2._length / 2]; }"""
    )
    page.mouse.move(centre[0] - 5, centre[1] - 5)
    page.mouse.click(centre[0], centre[1])
    wait_title(page, "Layer 0 · head 1")
    assert page.input_value("#layer") == "0" and page.input_value("#head") == "1"
    wait_js(page, "document.querySelector('#grid-keys [aria-selected=true]')?.dataset.cell === '1'")
    assert tab_stops(page) == ["Layer 0, head 1"]
    assert active_label(page) == "Layer 0, head 1"  # the keyboard carries on from the clicked one
    press(page, "ArrowDown", "Layer 1, head 1")


def test_enter_on_a_thumbnail_leaves_an_aggregate_view_for_that_head(page: Any, server: str) -> None:
    open_explore(page, server, REPEATED, view="mean", layer=1)
    wait_grid(page, 4)
    assert selected_labels(page) == []  # the mean is no single thumbnail
    tab_to_grid(page)
    press(page, "ArrowDown", "Layer 1, head 0")
    press(page, "ArrowRight", "Layer 1, head 1")
    page.keyboard.press("Enter")
    wait_title(page, "Layer 1 · head 1")
    assert page.input_value("#view") == "head" and not page.is_disabled("#head")
    assert page.input_value("#head") == "1"
    wait_js(page, "location.search.includes('view=head')")


def test_keyboard_chooses_part_and_layer_in_the_recurrent_grid(page: Any, server: str) -> None:
    open_explore(page, server, REPEATED, model="lstm")
    wait_grid(page, 12)
    grid = page.get_by_role("grid", name="States and gates by layer and part")
    assert grid.count() == 1 and grid.get_by_role("row").count() == 2
    # reading order within a row is by part, though the figure lists cells part by part
    row0 = grid.get_by_role("row").nth(0).get_by_role("gridcell")
    assert row0.evaluate_all("cs => cs.map(c => c.getAttribute('aria-label'))")[:3] == [
        "Layer 0, Hidden state h",
        "Layer 0, Cell state c",
        "Layer 0, input gate i",
    ]
    tab_to_grid(page)
    assert active_label(page) == "Layer 0, Hidden state h"
    press(page, "ArrowRight", "Layer 0, Cell state c")
    press(page, "ArrowRight", "Layer 0, input gate i")
    press(page, "ArrowDown", "Layer 1, input gate i")
    box, thumb = focused_box_and_thumbnail(page)
    np.testing.assert_allclose(box, thumb, atol=0.5)
    page.keyboard.press("Enter")
    wait_title(page, "Layer 1 · input gate i")
    assert page.input_value("#part") == "i" and page.input_value("#rlayer") == "1"
    wait_js(page, "location.search.includes('view=i') && location.search.includes('layer=1')")
    press(page, "Control+End", "Layer 1, output gate o")
    press(page, "Control+Home", "Layer 0, Hidden state h")
    page.keyboard.press("Enter")
    wait_title(page, "Layer 0 · Hidden state h")
    assert page.input_value("#part") == "h" and page.input_value("#rlayer") == "0"
