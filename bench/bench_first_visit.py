"""What a first visit costs on the wire: every byte headless Chromium receives for ``/`` with
its first trace (HTML, CSS, scripts, plotly.js, the model list, the trace), compressed as
the app serves it, beside the same visit with compression refused (``Accept-Encoding:
identity``) as the baseline.

Run: ``python bench/bench_first_visit.py [--models-dir DIR]``. Uses the shipped checkpoints,
else tiny random ones (same requests, smaller trace). Goal: <= 1.6 MB compressed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled

from app.assets import precompress
from models.checkpoint import CHECKPOINT_DIR
from tests.browser.harness import build_tiny_models, launch_chromium, run_server


def visit(url: str, headers: dict[str, str]) -> dict[str, Any]:
    """Load the explore page in a fresh browser context; bytes received per resource kind."""
    from playwright.sync_api import sync_playwright

    received: dict[str, int] = defaultdict(int)
    encodings: dict[str, str] = {}
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        context = browser.new_context(viewport={"width": 1280, "height": 720}, extra_http_headers=headers)
        page = context.new_page()
        responses = []
        page.on("response", lambda response: responses.append(response))
        page.goto(url + "/")
        page.wait_for_selector("body[data-status='ready']")
        page.wait_for_load_state("networkidle")
        for response in responses:
            sizes = response.request.sizes()
            path = response.url.removeprefix(url).split("?")[0]
            kind = "trace" if "/api/v1/trace" in path else path.rsplit(".", 1)[-1] if "." in path else path
            received[kind] += sizes["responseBodySize"] + sizes["responseHeadersSize"]
            encodings[kind] = response.headers.get("content-encoding", "none")
        browser.close()
    return {"bytes": dict(received), "encodings": encodings, "total": sum(received.values())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path, default=CHECKPOINT_DIR)
    args = parser.parse_args()
    precompress()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.models_dir
        if not (folder / "transformer.safetensors").is_file():
            folder = build_tiny_models(Path(tmp) / "tiny")
            print("models: no shipped checkpoints; tiny random-init models")
        with run_server(folder) as url:
            compressed = visit(url, {})
            plain = visit(url, {"accept-encoding": "identity"})
    kinds = sorted(plain["bytes"], key=lambda k: -plain["bytes"][k])
    print("first visit to / with its first trace, headless Chromium, bytes received (body + headers)")
    print(f"{'resource':<24} {'identity':>12} {'as served':>12}  encoding")
    for k in kinds:
        got = compressed["bytes"].get(k, 0)
        print(f"{k:<24} {plain['bytes'][k]:>12,} {got:>12,}  {compressed['encodings'].get(k, '-')}")
    ratio = compressed["total"] / plain["total"]
    print(
        f"{'total':<24} {plain['total']:>12,} {compressed['total']:>12,}  ({ratio:.2f}x; goal <= 1,600,000)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
