"""Median time from submitting a sentence to the first heatmap painted on the explore page,
in headless Chromium, at 16, 64 and 256 tokens; also until every view is drawn.

Run: ``python bench/bench_frontend.py [--repeats 7] [--models-dir DIR] [--model transformer]``.
Uses the trained checkpoints in models/checkpoints when they are there, else tiny random
ones (same code path, smaller tensors), and says which. Each repeat traces a different
text of the same length, so the server's response cache never answers.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled

from models.checkpoint import CHECKPOINT_DIR, TOKENIZER_FILE
from models.tokenizer import Tokenizer
from tests.browser.harness import build_tiny_models, launch_chromium, run_server

LENGTHS = (16, 64, 256)
PASSAGE = (
    "It is a truth universally acknowledged, that a single man in possession of a good fortune, "
    "must be in want of a wife. However little known the feelings or views of such a man may be "
    "on his first entering a neighbourhood, this truth is so well fixed in the minds of the "
    "surrounding families, that he is considered the rightful property of some one or other of "
    "their daughters. My dear Mr. Bennet, said his lady to him one day, have you heard that "
    "Netherfield Park is let at last? Mr. Bennet replied that he had not. But it is, returned she; "
    "for Mrs. Long has just been here, and she told me all about it. Mr. Bennet made no answer. "
    "Do you not want to know who has taken it? cried his wife impatiently. You want to tell me, "
    "and I have no objection to hearing it. This was invitation enough. Why, my dear, you must "
    "know, Mrs. Long says that Netherfield is taken by a young man of large fortune from the north "
    "of England; that he came down on Monday in a chaise and four to see the place, and was so much "
    "delighted with it, that he agreed with Mr. Morris immediately; that he is to take possession "
    "before Michaelmas, and some of his servants are to be in the house by the end of next week. "
    "What is his name? Bingley. Is he married or single? Oh! Single, my dear, to be sure! A single "
    "man of large fortune; four or five thousand a year. What a fine thing for our girls! How so? "
    "How can it affect them? My dear Mr. Bennet, replied his wife, how can you be so tiresome!"
)

# Submit the text (the form's submit: no debounce); resolve when the large heatmap has been
# painted (explore.js marks "attz-painted" after the frame that shows it) and when every
# view is drawn ("attz-grid": the thumbnail grid, drawn after that paint).
SUBMIT_AND_TIME = """async (text) => {
  performance.clearMarks();
  const done = (name) => new Promise((resolve) => {
    const seen = () => performance.getEntriesByName(name, "mark")[0];
    const poll = () => (seen() ? resolve(seen().startTime) : setTimeout(poll, 2));
    poll();
  });
  document.querySelector("#text").value = text;
  const t0 = performance.now();
  document.querySelector("#text-form").requestSubmit();
  const painted = await done("attz-painted");
  const all = await done("attz-grid");
  const at = (name) => performance.getEntriesByName(name, "mark")[0].startTime - t0;
  return { first: painted - t0, all: all - t0, tokens: document.querySelectorAll("#strip .tok").length,
    fetched: at("attz-fetched"), strip: at("attz-strip"), main: at("attz-main") };
}"""


def texts_of_length(tokenizer: Tokenizer, n: int, count: int) -> list[str]:
    """``count`` different texts of exactly ``n`` tokens (windows into the passage)."""
    ids = tokenizer.encode_ids(PASSAGE * 2)
    out = []
    start = 0
    while len(out) < count:
        text = tokenizer.decode(ids[start : start + n])
        if len(tokenizer.encode_ids(text)) == n and text.strip():
            out.append(text)
        start += 7
    return out


def has_real_checkpoints(folder: Path, model: str) -> bool:
    return (folder / f"{model}.json").is_file() and (folder / f"{model}.safetensors").is_file()


def bench(url: str, model: str, tokenizer: Tokenizer, repeats: int) -> dict[int, dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    results: dict[int, dict[str, Any]] = {}
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(f"{url}/?model={model}")
        page.wait_for_selector("body[data-status='ready']")
        warm = texts_of_length(tokenizer, 32, 2)
        for text in warm:  # JIT, fonts, plotly's first-draw setup
            page.evaluate(SUBMIT_AND_TIME, text)
        for n in LENGTHS:
            runs = [page.evaluate(SUBMIT_AND_TIME, text) for text in texts_of_length(tokenizer, n, repeats)]
            assert all(r["tokens"] == n for r in runs), runs
            results[n] = {
                "first": statistics.median(r["first"] for r in runs),
                "all": statistics.median(r["all"] for r in runs),
                "runs": [round(r["first"]) for r in runs],
            }
        browser.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--model", default="transformer")
    parser.add_argument("--models-dir", type=Path, default=None)
    args = parser.parse_args()
    folder = args.models_dir or CHECKPOINT_DIR
    with tempfile.TemporaryDirectory() as tmp:
        if has_real_checkpoints(folder, args.model):
            print(f"models: checkpoints in {folder}")
        else:
            folder = build_tiny_models(Path(tmp) / "tiny")
            print(
                f"models: no trained {args.model} checkpoint yet; tiny random-init models (tests/browser/harness.py)"
            )
        tokenizer = Tokenizer.from_file(folder / TOKENIZER_FILE)
        with run_server(folder) as url:
            results = bench(url, args.model, tokenizer, args.repeats)
    print(f"explore page, model {args.model}, headless Chromium, median of {args.repeats} different texts")
    print(f"{'tokens':>6}  {'first heatmap painted':>22}  {'every view drawn':>17}  runs (ms)")
    for n, r in results.items():
        print(f"{n:>6}  {r['first']:>19.0f} ms  {r['all']:>14.0f} ms  {r['runs']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
