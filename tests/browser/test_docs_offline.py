"""/docs (Swagger UI) and /redoc work with the network cut off: everything they load comes
from this server, and they show every operation of the schema."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

pytestmark = pytest.mark.browser


def operations(server: str) -> set[tuple[str, str]]:
    paths = httpx.get(f"{server}/openapi.json").json()["paths"]
    return {(method.upper(), path) for path, item in paths.items() for method in item}


def block_the_network(page: Any) -> list[str]:
    """Abort every request that would leave this machine; returns the URLs refused."""
    refused: list[str] = []

    def handle(route: Any) -> None:
        if urlparse(route.request.url).hostname in ("127.0.0.1", None):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", handle)
    return refused


def test_swagger_ui_shows_every_operation_offline(page: Any, server: str) -> None:
    refused = block_the_network(page)
    page.goto(f"{server}/docs")
    want = operations(server)
    page.wait_for_function("n => document.querySelectorAll('.opblock').length >= n", arg=len(want))
    shown = page.evaluate(
        """() => [...document.querySelectorAll('.opblock')].map(b => [
            b.querySelector('.opblock-summary-method').textContent.trim(),
            b.querySelector('.opblock-summary-path').dataset.path])"""
    )
    assert {tuple(op) for op in shown} == want
    assert refused == []


def test_redoc_shows_every_operation_offline(page: Any, server: str, recorder: Any) -> None:
    # ReDoc's menu footer shows Redocly's logo from its CDN: the CSP refuses it before it is
    # sent (Chromium reports the attempt; the route below never sees it), and ReDoc then
    # leaves the image out.
    recorder.allow_blocked("https://cdn.redoc.ly/redoc/logo-mini.svg")
    refused = block_the_network(page)
    page.goto(f"{server}/redoc")
    want = operations(server)
    page.wait_for_function(
        "n => document.querySelectorAll('[data-section-id^=\"operation/\"]').length >= n", arg=len(want)
    )
    text = page.inner_text("body")
    missing = [path for _, path in want if path not in text]
    assert missing == []
    assert refused == []
    page.fill("input[placeholder='Search...']", "influence")  # search runs in a blob: worker
    page.wait_for_selector("[data-role='search:results'] li")
