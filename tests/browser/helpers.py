"""Helpers for the browser tests: the API called directly (to check what the page shows),
decoding its arrays with numpy, and reading plotly figures out of the page."""

from __future__ import annotations

import base64
import json
import urllib.request
from typing import Any

import numpy as np


def api_post(server: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    req = urllib.request.Request(
        server + path, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.loads(res.read())


def api_get(server: str, path: str) -> dict[str, Any]:
    with urllib.request.urlopen(server + path, timeout=30) as res:
        return json.loads(res.read())


def decode(enc: dict[str, Any]) -> np.ndarray:
    """An API array (f16 or json; dense or causal_lower) as float64, dense."""
    shape = enc["shape"]
    if enc["encoding"] == "json":
        return np.asarray(enc["data"], dtype=np.float64)
    values = np.frombuffer(base64.b64decode(enc["data"]), dtype="<f2").astype(np.float64)
    if enc.get("layout") != "causal_lower":
        return values.reshape(shape)
    t = shape[-1]
    lead = int(np.prod(shape[:-2]))
    rows, cols = np.tril_indices(t)
    out = np.zeros((lead, t, t))
    out[:, rows, cols] = values.reshape(lead, -1)
    return out.reshape(shape)


def api_trace(server: str, model: str, text: str, encoding: str = "f16") -> dict[str, Any]:
    return api_post(server, "/api/v1/trace", {"model": model, "text": text, "encoding": encoding})


def wait_ready(page: Any, text: str | None = None) -> None:
    """Wait until the page has drawn a trace (of ``text``, if given)."""
    wait_js(page, "document.body.dataset.status === 'ready'")
    if text is not None:
        wait_js(page, "t => document.querySelector('#text').value === t", text)
        wait_js(page, "document.body.dataset.status === 'ready'")


def figure(page: Any, selector: str) -> dict[str, Any]:
    """The plotly figure drawn in ``selector``: data (z, x, y, text) and layout."""
    return page.evaluate(
        """sel => { const gd = document.querySelector(sel);
        return { data: gd.data.map(d => ({ z: d.z, x: d.x, y: d.y, type: d.type, name: d.name, text: d.text })),
                 layout: JSON.parse(JSON.stringify(gd.layout)) }; }""",
        selector,
    )


def wait_js(page: Any, expression: str, arg: Any = None, timeout: float = 20.0) -> Any:
    """Poll ``expression`` (a JS expression, or a function of ``arg``) until truthy.

    Playwright's ``wait_for_function`` evaluates its predicate with ``new Function`` inside
    the page, which the app's CSP (no 'unsafe-eval') rightly blocks; ``evaluate`` is not.
    """
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for: {expression}")
        time.sleep(0.05)


def hover_cell(page: Any, selector: str, x: float, y: float, axes: str = "") -> None:
    """Move the real mouse over data point (x, y) of a plot (``axes``: "" or "2", ...)."""
    px, py = cell_position(page, selector, x, y, axes)
    page.mouse.move(px - 3, py - 3)
    page.mouse.move(px, py, steps=3)


def cell_position(page: Any, selector: str, x: float, y: float, axes: str = "") -> tuple[float, float]:
    """Page coordinates of data point (x, y) of a plot (``axes``: "" or "2", ...)."""
    px, py = page.evaluate(
        """([sel, x, y, ax]) => { const gd = document.querySelector(sel);
        const xa = gd._fullLayout['xaxis' + ax], ya = gd._fullLayout['yaxis' + ax];
        const box = gd.querySelector('.main-svg').getBoundingClientRect();
        return [box.left + xa._offset + xa.l2p(x), box.top + ya._offset + ya.l2p(y)]; }""",
        [selector, x, y, axes],
    )
    return px, py


def click_cell(page: Any, selector: str, x: float, y: float, axes: str = "") -> None:
    """Click data point (x, y) of a plot with the real mouse (plotly_click, as a person's)."""
    px, py = cell_position(page, selector, x, y, axes)
    page.mouse.move(px - 3, py - 3)
    page.mouse.move(px, py, steps=3)
    page.mouse.click(px, py)


def query(page: Any) -> dict[str, str]:
    """The page's URL query as a dict (the permalink's fields)."""
    from urllib.parse import parse_qsl, urlparse

    return dict(parse_qsl(urlparse(page.url).query))
