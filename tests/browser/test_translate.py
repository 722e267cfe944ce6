"""The translate page in a real Chromium, on tiny random-init translation models: both
models' translations side by side with the model's own numbers, a French-token focus shared
by both alignments, forced decoding, the beam's alternatives, encoder self-attention on
request, the URL as permalink, refusals and unavailable models shown clearly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest

from tests.browser.harness import build_tiny_models, run_server
from tests.browser.helpers import api_post, decode, figure, hover_cell, query, wait_js, wait_ready

pytestmark = pytest.mark.browser

MODELS = ["transformer-enfr", "lstm-enfr"]
TEXT = "Where is the train station?"
F16 = 2e-3  # the page reads half floats; the API is asked for six decimals


def tiny_translation_folder(folder: Path) -> Path:
    """The tiny language models (Transformer, LSTM) and both tiny translation models."""
    from tests.tiny import write_tiny_translation_checkpoints

    build_tiny_models(folder, ("transformer", "lstm"))
    write_tiny_translation_checkpoints(folder / "mt")
    return folder


@pytest.fixture(scope="module")
def tserver(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[str]:
    folder = tiny_translation_folder(tmp_path_factory.mktemp("translate-models"))
    with run_server(folder, artifacts / "server-translate.log") as url:
        yield url


def open_translate(page: Any, server: str, text: str = TEXT, **params: Any) -> None:
    q = "&".join(f"{k}={quote(str(v), safe=',')}" for k, v in {"text": text, **params}.items())
    page.goto(f"{server}/translate?{q}")
    wait_ready(page, text)


def api_translate(server: str, **body: Any) -> dict[str, dict[str, Any]]:
    res = api_post(server, "/api/v1/translate", {"models": MODELS, "encoding": "json", "decimals": 6, **body})
    return {m["model"]: m for m in res["models"]}


def alignment(entry: dict[str, Any], layer: int | None = None, head: int | None = None) -> np.ndarray:
    """The API's cross-attention as the page shows it: the layer's heads averaged (or one
    head), one row per French token produced (rows of the steps that produced them)."""
    cross = decode(entry["parts"]["attention"]["cross"])
    layer = cross.shape[0] - 1 if layer is None else layer
    m = cross[layer].mean(0) if head is None else cross[layer, head]
    return m[: len(entry["tokens"]["target"]["strings"]) - 1]


def column(model: str) -> str:
    return f"#columns .col[data-model='{model}']"


def chip_weights(page: Any, model: str) -> list[float | None]:
    return page.evaluate(
        "sel => [...document.querySelectorAll(sel + ' .src')].map(c => c.dataset.weight ?? null)",
        column(model),
    )


def test_both_models_translate_side_by_side_with_their_own_alignments(page: Any, tserver: str) -> None:
    open_translate(page, tserver)
    want = api_translate(tserver, text=TEXT)
    for name in MODELS:
        entry = want[name]
        assert page.inner_text(f"{column(name)} .translation") == entry["translation"].strip()
        chips = page.locator(f"{column(name)} .tgt-strip .tok").evaluate_all(
            "bs => bs.map(b => b.textContent)"
        )
        assert chips == entry["tokens"]["target"]["strings"]
        fig = figure(page, f"#align-{name}")
        np.testing.assert_allclose(np.array(fig["data"][0]["z"], dtype=float), alignment(entry), atol=F16)
        assert fig["layout"]["xaxis"]["ticktext"][-1] == "&lt;/s&gt;"  # the EOS label is not read as a tag
    # the Transformer's map says which layer and heads; the LSTM's is its only one
    assert figure(page, "#align-transformer-enfr")["layout"]["title"]["text"].endswith(
        "layer 1 · mean over 2 heads"
    )
    assert figure(page, "#align-lstm-enfr")["layout"]["title"]["text"].endswith("its one attention map")
    # each token's probability is on its chip; the credit for the data is on the page
    p = want["lstm-enfr"]["token_probs"][0]
    assert f"p = {p:.4f}" in page.get_attribute(f"{column('lstm-enfr')} .tok[data-t='1']", "title")
    assert "manythings.org/anki and tatoeba.org (CC-BY 2.0)" in page.inner_text(".credit")


def test_a_french_token_shows_where_both_models_looked(page: Any, tserver: str) -> None:
    open_translate(page, tserver)
    want = api_translate(tserver, text=TEXT)
    page.hover(f"{column('transformer-enfr')} .tgt-strip .tok[data-t='2']")
    wait_js(page, "sel => document.querySelector(sel + ' .src')?.dataset.weight", column("lstm-enfr"))
    for name in MODELS:
        got = np.array(chip_weights(page, name), dtype=float)
        np.testing.assert_allclose(got, alignment(want[name])[1], atol=F16)  # row 1 produced token 2
        shapes = figure(page, f"#align-{name}")["layout"]["shapes"]
        assert [s["y0"] for s in shapes if s["line"].get("dash") is None] == [0.5]
    # a row of the LSTM's map moves the focus in the Transformer's column too
    hover_cell(page, "#align-lstm-enfr", 0, 4)
    wait_js(
        page,
        "sel => document.querySelector(sel + \" .tgt-strip .tok[data-t='5']\").classList.contains('focus')",
        column("transformer-enfr"),
    )
    got = np.array(chip_weights(page, "transformer-enfr"), dtype=float)
    np.testing.assert_allclose(got, alignment(want["transformer-enfr"])[4], atol=F16)
    # an English token outlines its column in both maps
    page.hover(f"{column('lstm-enfr')} .src[data-j='1']")
    wait_js(page, "document.querySelector('#align-transformer-enfr').layout.shapes.some(s => s.x0 === 0.5)")
    assert any(s["x0"] == 0.5 for s in figure(page, "#align-lstm-enfr")["layout"]["shapes"])


def test_your_french_is_forced_and_aligned(page: Any, tserver: str) -> None:
    open_translate(page, tserver, text="I am cold.")
    page.fill("#target", "J'ai froid.")
    for name in MODELS:
        wait_js(
            page,
            'sel => document.querySelector(sel)?.textContent === "J\'ai froid."',
            f"{column(name)} .translation",
        )
    wait_js(page, "document.body.dataset.status === 'ready'")
    assert query(page)["target"] == "J'ai froid."
    assert page.is_disabled("#beam")
    want = api_translate(tserver, text="I am cold.", target="J'ai froid.")
    for name in MODELS:
        fig = figure(page, f"#align-{name}")
        np.testing.assert_allclose(
            np.array(fig["data"][0]["z"], dtype=float), alignment(want[name]), atol=F16
        )
        assert "forced" in page.inner_text(f"{column(name)} .tr-body")
    # the same French in both: one token focus is the same French token in both maps
    strings = want["lstm-enfr"]["tokens"]["target"]["strings"]
    assert strings == want["transformer-enfr"]["tokens"]["target"]["strings"]
    page.hover(f"{column('lstm-enfr')} .tgt-strip .tok[data-t='4']")
    wait_js(page, "sel => document.querySelector(sel + ' .src')?.dataset.weight", column("transformer-enfr"))
    top = page.get_attribute(f"{column('transformer-enfr')} .src.top", "data-j")
    assert int(top) == int(np.argmax(alignment(want["transformer-enfr"])[3]))


def test_beam_alternatives_are_listed_with_their_scores(page: Any, tserver: str) -> None:
    open_translate(page, tserver)
    assert "choose a beam" in page.inner_text(f"{column('lstm-enfr')} .alts")
    page.select_option("#beam", "3")
    wait_js(page, "sel => document.querySelectorAll(sel + ' .alt-list li').length === 3", column("lstm-enfr"))
    wait_js(page, "document.body.dataset.status === 'ready'")
    assert query(page)["beam"] == "3"
    want = api_translate(tserver, text=TEXT, beam=3)
    for name in MODELS:
        wait_js(page, "sel => document.querySelectorAll(sel + ' .alt-list li').length > 0", column(name))
        items = page.locator(f"{column(name)} .alt-list li").evaluate_all(
            "ls => ls.map(l => [l.querySelector('.alt-text').textContent, l.querySelector('.num').textContent])"
        )
        alts = want[name]["alternatives"]
        assert items == [[a["text"].strip(), f"score {a['score']:.3f}"] for a in alts]
        assert page.inner_text(f"{column(name)} .translation") == alts[0]["text"].strip()


def test_encoder_self_attention_on_request(page: Any, tserver: str) -> None:
    open_translate(page, tserver)
    assert page.is_hidden("#enc-transformer-enfr")
    page.check("#encoder")
    wait_js(page, "document.querySelector('#enc-transformer-enfr').data?.length === 1")
    assert query(page)["enc"] == "1"
    entry = api_translate(tserver, text=TEXT)["transformer-enfr"]
    enc = decode(entry["parts"]["attention"]["encoder_self"])
    z = np.array(figure(page, "#enc-transformer-enfr")["data"][0]["z"], dtype=float)
    np.testing.assert_allclose(z, enc[-1].mean(0), atol=F16)
    # the LSTM declares none, and says so
    assert "no encoder self-attention" in page.inner_text(column("lstm-enfr"))
    assert page.is_hidden("#enc-lstm-enfr")
    page.uncheck("#encoder")
    wait_js(page, "document.querySelector('#enc-transformer-enfr').hidden")


def test_the_url_restores_the_choices(page: Any, tserver: str) -> None:
    open_translate(page, tserver, text="I am cold.", beam=2, layer=0, head=1, enc=1)
    assert page.input_value("#text") == "I am cold."
    assert (page.input_value("#beam"), page.input_value("#layer"), page.input_value("#head")) == (
        "2",
        "0",
        "1",
    )
    assert page.is_checked("#encoder")
    wait_js(page, "document.querySelector('#enc-transformer-enfr').data?.length === 1")
    assert figure(page, "#align-transformer-enfr")["layout"]["title"]["text"].endswith("layer 0 · head 1")
    want = api_translate(tserver, text="I am cold.", beam=2)["transformer-enfr"]
    z = np.array(figure(page, "#align-transformer-enfr")["data"][0]["z"], dtype=float)
    np.testing.assert_allclose(z, alignment(want, 0, 1), atol=F16)
    # a change of view goes into the URL, and the URL brings it back
    page.select_option("#head", "mean")
    wait_js(page, "!location.search.includes('head=')")
    page.select_option("#layer", "1")
    wait_js(page, "location.search.includes('layer=1')")
    url = page.url
    page.goto(url)
    wait_ready(page, "I am cold.")
    assert (page.input_value("#layer"), page.input_value("#head")) == ("1", "mean")
    assert figure(page, "#align-transformer-enfr")["layout"]["title"]["text"].endswith(
        "layer 1 · mean over 2 heads"
    )


def test_a_text_no_model_can_take_is_a_clear_error(page: Any, tserver: str, recorder: Any) -> None:
    recorder.allow_console("422")
    open_translate(page, tserver, text="I am cold.")
    page.fill("#text", "word " * 60)
    wait_js(page, "document.body.dataset.status === 'error'")
    assert "n_ctx" in page.inner_text("#error")


@pytest.fixture(scope="module")
def tserver_one(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[str]:
    """Only the Transformer translates: the LSTM's files are gone."""
    folder = tiny_translation_folder(tmp_path_factory.mktemp("translate-one"))
    for path in (folder / "mt").glob("lstm-enfr.*"):
        path.unlink()
    with run_server(folder, artifacts / "server-translate-one.log") as url:
        yield url


def test_an_unavailable_model_shows_its_reason(page: Any, tserver_one: str) -> None:
    open_translate(page, tserver_one)
    assert page.inner_text(f"{column('transformer-enfr')} .translation")
    import json
    import urllib.request

    with urllib.request.urlopen(f"{tserver_one}/api/v1/models", timeout=30) as res:
        reason = next(m["reason"] for m in json.loads(res.read())["models"] if m["name"] == "lstm-enfr")
    assert page.inner_text(f"{column('lstm-enfr')} .unavailable") == f"Unavailable: {reason}"
    assert page.locator("#align-lstm-enfr").count() == 0


def test_downloads_the_translations_json_the_alignments_csv_and_each_map(page: Any, tserver: str) -> None:
    import json

    open_translate(page, tserver, text="I am cold.", target="J'ai froid.")
    with page.expect_download() as dl:
        page.click("#dl-json")
    data = json.loads(Path(dl.value.path()).read_text())
    assert [m["model"] for m in data["models"]] == MODELS and data["encoding"] == "json"
    assert all(m["translation"] == "J'ai froid." for m in data["models"])
    with page.expect_download() as dl:
        page.click("#dl-csv")
    text = Path(dl.value.path()).read_text()
    target = data["models"][0]["tokens"]["target"]["strings"]
    for name in MODELS:
        block = text.split(f"# {name}: cross-attention")[1].split("\n# ")[0].strip().splitlines()
        assert block[1].startswith('"French \\ English","#0 I"')
        assert len(block) == 2 + len(target) - 1  # title, header, a row per French token produced
    for fmt, title in [("png", "Download plot as a PNG"), ("svg", "Download plot as SVG")]:
        page.hover("#align-lstm-enfr")
        with page.expect_download() as dl:
            page.click(f"#align-lstm-enfr .modebar-btn[data-title='{title}']")
        assert dl.value.suggested_filename == f"attenzione-translate-lstm-enfr.{fmt}"
        assert Path(dl.value.path()).stat().st_size > 1000


def test_language_model_pages_offer_only_language_models(page: Any, tserver: str) -> None:
    """The server has both kinds; Explore, Compare and Learn offer only the language models."""
    page.goto(f"{tserver}/")
    page.wait_for_function("() => !document.getElementById('model').disabled")
    offered = page.eval_on_selector_all("#model option", "os => os.map(o => o.value)")
    assert sorted(offered) == ["gru", "lstm", "rnn", "transformer"]
    page.goto(f"{tserver}/compare")
    page.wait_for_selector("input[name=models]")
    boxes = page.eval_on_selector_all("input[name=models]", "bs => bs.map(b => b.value)")
    assert sorted(boxes) == ["gru", "lstm", "rnn", "transformer"]
