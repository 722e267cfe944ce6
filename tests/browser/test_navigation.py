"""Moving about the pages in a real Chromium: the nav links carry the text and the model
between Explore and Compare, a failed request keeps the last picture (with the ways out the
error allows: Retry, the part of a too long text that fits, a model that reads it all), and
Back/Forward step through the deliberate changes of view."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

import pytest

from tests.browser.helpers import api_trace, figure, query, wait_js, wait_ready

pytestmark = pytest.mark.browser

REPEATED = "the cat saw the cat"
LONG = "cat " * 300  # over the tiny Transformer's 256 tokens, within the recurrent models' 1,024
MAIN = "#main-plot"


def open_page(page: Any, server: str, path: str, text: str, **params: str) -> None:
    q = "&".join(f"{k}={quote(v)}" for k, v in {"text": text, **params}.items())
    page.goto(f"{server}{path}?{q}")
    wait_ready(page, text)


def refusal(server: str, model: str, text: str) -> dict[str, Any]:
    """The API's 422 problem for a text too long for ``model``."""
    body = json.dumps({"model": model, "text": text, "parts": ["predictions"]}).encode()
    req = urllib.request.Request(
        server + "/api/v1/trace", data=body, headers={"content-type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=30)
    assert err.value.code == 422
    return json.loads(err.value.read())


def strip_tokens(page: Any) -> list[str]:
    return page.locator("#strip .tok").all_inner_texts()


def is_stale(page: Any, selector: str) -> bool:
    return page.evaluate("sel => document.querySelector(sel).classList.contains('stale')", selector)


def test_nav_links_carry_the_text_and_model_from_explore_to_compare_and_back(page: Any, server: str) -> None:
    open_page(page, server, "/", REPEATED, model="lstm")
    page.fill("#text", "a dog barked at the cat")  # the text in the box, traced or not yet
    page.click("nav a[data-page='compare']")
    wait_ready(page, "a dog barked at the cat")
    assert page.url.startswith(f"{server}/compare")
    # Explore's model is the first compared, with a model of the other kind (one that attends)
    assert query(page)["models"] == "lstm,transformer"
    assert page.is_checked("#model-boxes input[value='lstm']")
    assert page.locator("#columns .col").evaluate_all("cs => cs.map(c => c.dataset.model)") == [
        "lstm",
        "transformer",
    ]
    assert "text=a+dog+barked" in page.get_attribute("nav a[data-page='learn']", "href")
    # another first model, another text: Explore takes both
    page.check("#model-boxes input[value='gru']")
    page.uncheck("#model-boxes input[value='lstm']")
    wait_js(page, "location.search.includes('models=transformer%2Cgru')")
    page.fill("#text", REPEATED)
    wait_ready(page, REPEATED)
    page.click("nav a[data-page='explore']")
    wait_ready(page, REPEATED)
    assert page.input_value("#model") == "transformer" and query(page)["model"] == "transformer"
    assert strip_tokens(page) == api_trace(server, "transformer", REPEATED)["tokens"]["strings"]


def test_a_text_too_long_keeps_the_picture_and_tracing_its_first_n_ctx_tokens_works(
    page: Any, server: str, recorder: Any
) -> None:
    recorder.allow_console(r"status of 422")
    open_page(page, server, "/", REPEATED, model="transformer")
    before = figure(page, MAIN)["data"][0]["z"]
    problem = refusal(server, "transformer", LONG)
    page.fill("#text", LONG)
    wait_js(page, "document.body.dataset.status === 'error'")
    # said plainly, with the count the server used, and the last picture kept, dimmed
    message = page.inner_text("#error")
    assert str(problem["n_tokens"]) in message and "256" in message
    assert page.inner_text("#count") == f"({problem['n_tokens']} / 256 tokens)"
    assert "Still showing the last result, for “the cat saw the cat”" in message
    assert page.is_visible(MAIN) and is_stale(page, "#views") and is_stale(page, "#strip")
    assert figure(page, MAIN)["data"][0]["z"] == before and len(strip_tokens(page)) == 5
    assert page.inner_text("#error [data-action='cut']") == "Trace the first 256 tokens"
    page.click("#error [data-action='cut']")
    cut = LONG[: problem["fits_chars"]]
    wait_ready(page, cut)
    n = api_trace(server, "transformer", cut)["n_tokens"]
    assert 250 <= n <= 256  # the first tokens: all that fit
    assert page.inner_text("#count") == f"({n} / 256 tokens)"
    assert len(strip_tokens(page)) == n and not is_stale(page, "#views")
    assert page.is_hidden("#error")


def test_a_text_too_long_offers_a_model_that_reads_it_all(page: Any, server: str, recorder: Any) -> None:
    recorder.allow_console(r"status of 422")
    open_page(page, server, "/", REPEATED, model="transformer")
    n_tokens = refusal(server, "transformer", LONG)["n_tokens"]
    page.fill("#text", LONG)
    wait_js(page, "document.body.dataset.status === 'error'")
    assert page.inner_text("#error [data-action='switch']") == "Switch to lstm (reads 1024 tokens)"
    page.click("#error [data-action='switch']")
    wait_ready(page, LONG)
    assert page.input_value("#model") == "lstm" and query(page)["model"] == "lstm"
    # the same count as the error's: one tokenizer
    assert page.inner_text("#count") == f"({n_tokens} / 1024 tokens)"
    assert len(strip_tokens(page)) == n_tokens and not is_stale(page, "#views")


@pytest.mark.parametrize("failure", ["no answer", 502, 503])
def test_server_down_keeps_the_picture_and_retry_sends_the_request_again(
    page: Any, server: str, recorder: Any, failure: Any
) -> None:
    recorder.allow_console(r"Failed to load resource")
    open_page(page, server, "/", REPEATED)
    before = strip_tokens(page)

    def down(route: Any) -> None:
        if failure == "no answer":
            route.abort("connectionrefused")
        else:
            route.fulfill(status=failure, content_type="text/html", body="<h1>Bad Gateway</h1>")

    page.route("**/api/v1/trace", down)
    page.fill("#text", "the dog ran")
    wait_js(page, "document.body.dataset.status === 'error'")
    assert page.is_visible("#error [data-action='retry']")
    assert page.is_visible(MAIN) and is_stale(page, "#views") and strip_tokens(page) == before
    assert page.input_value("#text") == "the dog ran"
    page.unroute("**/api/v1/trace")
    page.click("#error [data-action='retry']")
    wait_ready(page, "the dog ran")
    assert strip_tokens(page) == api_trace(server, "transformer", "the dog ran")["tokens"]["strings"]
    assert not is_stale(page, "#views") and page.is_hidden("#error")


def test_back_and_forward_step_through_text_model_layer_and_head(page: Any, server: str) -> None:
    open_page(page, server, "/", REPEATED, model="transformer")
    entries = page.evaluate("history.length")
    page.select_option("#layer", "1")
    wait_js(page, "location.search.includes('layer=1')")
    page.select_option("#head", "1")
    wait_js(page, "location.search.includes('head=1')")
    page.click("#text")
    page.keyboard.press("End")
    page.keyboard.type(" again")  # six keystrokes, one trace: one step
    wait_ready(page, f"{REPEATED} again")
    wait_js(page, "location.search.includes('again')")
    page.select_option("#model", "lstm")
    wait_js(page, "location.search.includes('model=lstm')")
    wait_ready(page)
    assert page.evaluate("history.length") == entries + 4

    def shows(model: str, text: str, layer: str, head: str | None) -> None:
        wait_js(page, "m => document.querySelector('#model').value === m", model)
        wait_ready(page, text)
        assert page.input_value("#layer") == layer
        if head is not None:
            assert page.input_value("#head") == head
            title = f"Layer {layer} · head {head}"
            wait_js(page, "t => document.querySelector('#main-plot').layout?.title.text.startsWith(t)", title)
        tokens = api_trace(server, model, text)["tokens"]["strings"]
        wait_js(page, "n => document.querySelectorAll('#strip .tok').length === n", len(tokens))

    page.go_back()
    shows("transformer", f"{REPEATED} again", "1", "1")
    page.go_back()
    shows("transformer", REPEATED, "1", "1")
    page.go_back()
    shows("transformer", REPEATED, "1", "0")
    page.go_back()
    shows("transformer", REPEATED, "0", "0")
    page.go_forward()
    page.go_forward()
    shows("transformer", REPEATED, "1", "1")
    page.go_forward()
    shows("transformer", f"{REPEATED} again", "1", "1")
    page.reload()  # the URL restores the same
    shows("transformer", f"{REPEATED} again", "1", "1")


def test_back_restores_the_models_compared(page: Any, server: str) -> None:
    open_page(page, server, "/compare", REPEATED, models="transformer,lstm")
    page.check("#model-boxes input[value='gru']")
    wait_js(page, "document.querySelectorAll('#columns .col').length === 3")
    wait_ready(page)
    page.go_back()
    wait_js(page, "document.querySelectorAll('#columns .col').length === 2")
    wait_ready(page)
    assert query(page)["models"] == "transformer,lstm"
    assert not page.is_checked("#model-boxes input[value='gru']")


def test_compare_a_text_too_long_for_every_model_offers_what_the_longest_reads(
    page: Any, server: str, recorder: Any
) -> None:
    recorder.allow_console(r"status of 422")
    text = " ".join(["a"] * 1100)  # 1,100 tokens: over the Transformer's 256 and the LSTM's 1,024
    cut = text[: refusal(server, "lstm", text)["fits_chars"]]
    open_page(page, server, "/compare", REPEATED, models="transformer,lstm")
    page.fill("#text", text)
    wait_js(page, "document.body.dataset.status === 'error'")
    assert page.inner_text("#count") == "(1100 / 1024 tokens)"
    assert is_stale(page, "#columns") and page.locator("#columns .col").count() == 2
    page.click("#error [data-action='cut']")
    wait_ready(page, cut)
    # the LSTM traces the first 1,024 tokens; the Transformer's column says why it does not
    assert page.inner_text("#count") == "(1024 tokens)"
    wait_js(page, "document.querySelector('#plot-lstm')?.data?.length > 0")
    assert "256" in page.inner_text("#columns .col[data-model='transformer'] .refusal")
    assert not is_stale(page, "#columns")
