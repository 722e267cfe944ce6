"""Fixtures for the real-browser tests: tiny random-init checkpoints, a uvicorn server on a
free port, Debian's chromium through Playwright, and a page that records every request and
console error (each test fails on a console error or a request that leaves 127.0.0.1)."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.browser.harness import add_probes, build_tiny_models, launch_chromium, run_server

# Screenshots and server logs go outside the checkout: $ATTENZIONE_TEST_ARTIFACTS, else a
# folder in the system's temporary directory.
ARTIFACTS = Path(
    os.environ.get("ATTENZIONE_TEST_ARTIFACTS") or Path(tempfile.gettempdir()) / "attenzione-test-artifacts"
)


SHIPPED_LMS = ("transformer", "lstm", "gru", "rnn")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The four tiny models; the Transformer's and the LSTM's cards carry probe results, the
    GRU's and the RNN's none (as before the probe suite has run)."""
    return add_probes(build_tiny_models(tmp_path_factory.mktemp("tiny-models")))


@pytest.fixture(scope="session")
def server(tiny_models_dir: Path, artifacts: Path) -> Iterator[str]:
    with run_server(tiny_models_dir, artifacts / "server.log") as url:
        yield url


@pytest.fixture(scope="session")
def server_partial(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[str]:
    """A server whose folder has only the Transformer and the LSTM: GRU and RNN unavailable."""
    folder = build_tiny_models(tmp_path_factory.mktemp("partial-models"), ("transformer", "lstm"))
    with run_server(folder, artifacts / "server-partial.log") as url:
        yield url


@pytest.fixture(scope="module")
def shipped(artifacts: Path) -> Iterator[str]:
    """A server with the shipped language models (skips the test where they are missing)."""
    from models.checkpoint import CHECKPOINT_DIR

    if not all((CHECKPOINT_DIR / f"{name}.safetensors").is_file() for name in SHIPPED_LMS):
        pytest.skip("the shipped checkpoints are not here")
    with run_server(CHECKPOINT_DIR, artifacts / "server-shipped.log", timeout=180) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = launch_chromium(pw)
        yield b
        b.close()


@dataclass
class Recorder:
    """What a page did: every request URL, console errors, uncaught exceptions."""

    urls: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def allow_console(self, pattern: str) -> None:
        """Accept console errors matching ``pattern`` (a test that provokes an API error:
        Chromium logs the failed fetch)."""
        self.allowed.append(re.compile(pattern))

    def allow_blocked(self, url: str) -> None:
        """Accept a request for ``url`` that the page's Content-Security-Policy blocks (the
        browser reports it, then refuses it before anything is sent) and the console error
        that says so."""
        self.blocked.append(url)
        self.allow_console(re.escape(f"Loading the image '{url}' violates"))

    def unexpected_errors(self) -> list[str]:
        errs = [e for e in self.console_errors if not any(p.search(e) for p in self.allowed)]
        return errs + self.page_errors

    def foreign_requests(self) -> list[str]:
        out = []
        for url in self.urls:
            inner = url.removeprefix("blob:")
            if inner.startswith("data:"):
                continue
            if urlparse(inner).hostname != "127.0.0.1" and url not in self.blocked:
                out.append(url)
        return out


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def page(browser: Any, recorder: Recorder) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 720}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    pg.on("request", lambda r: recorder.urls.append(r.url))
    pg.on("console", lambda m: recorder.console_errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: recorder.page_errors.append(str(e)))
    yield pg
    context.close()
    assert not recorder.unexpected_errors(), f"console errors: {recorder.unexpected_errors()}"
    assert not recorder.foreign_requests(), f"requests left 127.0.0.1: {recorder.foreign_requests()}"
    assert recorder.urls, "the page made no requests at all"
