"""Every way a request can be wrong gets an application/problem+json answer that says what
to change, with the right status; none is a 500."""

from __future__ import annotations

import pytest

from models.checkpoint import ARCHS

TRACE = "/api/v1/trace"
COMPARE = "/api/v1/compare"


def test_unknown_model_is_404_listing_the_valid_names(client, problem):
    body = problem(client.post(TRACE, json={"model": "gpt-5", "text": "Hi"}), 404)
    assert "'gpt-5'" in body["detail"]
    assert all(name in body["detail"] for name in ARCHS)
    assert body["valid"] == list(ARCHS)
    assert body["type"].endswith("unknown-model")


def test_unknown_model_in_compare_is_404(client, problem):
    body = problem(client.post(COMPARE, json={"models": ["transformer", "bert"], "text": "Hi"}), 404)
    assert "'bert'" in body["detail"]


@pytest.mark.parametrize("text", ["", " ", "  \n\t  "])
def test_empty_or_whitespace_text_is_422(client, problem, text):
    body = problem(client.post(TRACE, json={"model": "transformer", "text": text}), 422)
    assert "empty" in body["detail"]


def test_empty_text_in_compare_is_422(client, problem):
    problem(client.post(COMPARE, json={"models": ["transformer", "lstm"], "text": "   "}), 422)


def test_text_over_the_character_limit_is_413_stating_limit_and_size(client, problem):
    text = "a" * 4001  # default max_text_chars is 4000
    body = problem(client.post(TRACE, json={"model": "lstm", "text": text}), 413)
    assert "4000" in body["detail"] and "4001" in body["detail"]
    assert (body["limit"], body["actual"]) == (4000, 4001)


def test_text_at_the_character_limit_is_not_413(make_client, checkpoint_dir):
    client = make_client(checkpoint_dir, max_text_chars=12)
    assert client.post(TRACE, json={"model": "lstm", "text": "a" * 12}).status_code == 200
    assert client.post(TRACE, json={"model": "lstm", "text": "a" * 13}).status_code == 413


def test_text_over_the_token_context_is_422_stating_n_ctx_and_count(client, problem, lms):
    text = " ".join(str(i) for i in range(100))
    n_tokens = len(lms["transformer"].tokenizer.encode(text))
    assert n_tokens > 64
    body = problem(client.post(TRACE, json={"model": "transformer", "text": text}), 422)
    assert "64" in body["detail"] and str(n_tokens) in body["detail"]
    assert (body["n_tokens"], body["n_ctx"]) == (n_tokens, 64)


def test_text_over_the_token_context_says_which_prefix_fits_and_that_prefix_traces(client, problem):
    text = "The whale 😀 swam " * 20  # emoji: tokens that split a character are no place to cut
    body = problem(client.post(TRACE, json={"model": "transformer", "text": text}), 422)
    prefix = text[: body["fits_chars"]]
    assert 0 < len(prefix) < len(text)
    r = client.post(TRACE, json={"model": "transformer", "text": prefix, "parts": ["predictions"]})
    assert r.status_code == 200, r.text
    assert 64 - 4 <= r.json()["n_tokens"] <= 64  # the first tokens, not a few of them


def test_text_over_one_models_context_leaves_the_others_traced_and_says_why(client):
    text = "word " * 90  # 92 tokens: over the Transformer's 64, under the LSTM's 128
    r = client.post(COMPARE, json={"models": ["lstm", "transformer"], "text": text})
    assert r.status_code == 200, r.text
    lstm, transformer = r.json()["models"]
    assert lstm["model"] == "lstm" and "error" not in lstm and lstm["predictions"]["top_ids"]
    error = transformer["error"]
    assert transformer["model"] == "transformer" and "parts" not in transformer
    assert error["status"] == 422 and (error["n_ctx"], error["n_tokens"]) == (64, 92)
    assert "'transformer'" in error["detail"] and "n_ctx is 64" in error["detail"] and "92" in error["detail"]
    assert r.json()["tokenizations"][transformer["tokenizer"]]["n_tokens"] == 92


def test_text_over_every_models_context_fails_the_compare_with_422(client, problem):
    text = "word " * 200  # over the Transformer's 64 and the LSTM's 128
    body = problem(client.post(COMPARE, json={"models": ["lstm", "transformer"], "text": text}), 422)
    assert "'transformer'" in body["detail"] and "'lstm'" in body["detail"]
    # the way out: what the model that reads the most reads
    assert (body["n_tokens"], body["n_ctx"]) == (202, 128) and 0 < body["fits_chars"] < len(text)


def test_unknown_part_name_is_422(client, problem):
    body = problem(client.post(TRACE, json={"model": "transformer", "text": "Hi", "parts": ["kv"]}), 422)
    assert body["errors"][0]["field"].startswith("parts")


def test_part_the_model_lacks_is_422_naming_what_it_has(client, problem):
    body = problem(client.post(TRACE, json={"model": "lstm", "text": "Hi", "parts": ["attention"]}), 422)
    assert "attention" in body["detail"]
    assert "h, c, gates" in body["detail"]


@pytest.mark.parametrize("layers", [[2], [0, 7]])
def test_layer_out_of_range_is_422_naming_the_valid_range(client, problem, layers):
    body = problem(client.post(TRACE, json={"model": "gru", "text": "Hi", "layers": layers}), 422)
    assert "0..1" in body["detail"]


def test_negative_layer_is_422_from_the_schema(client, problem):
    body = problem(client.post(TRACE, json={"model": "gru", "text": "Hi", "layers": [-1]}), 422)
    assert "layers.0" in body["detail"] and "greater than or equal to 0" in body["detail"]


@pytest.mark.parametrize("heads", [[2], [0, 5]])
def test_head_out_of_range_is_422_naming_the_valid_range(client, problem, heads):
    body = problem(client.post(TRACE, json={"model": "transformer", "text": "Hi", "heads": heads}), 422)
    assert "heads" in body["detail"] and "0..1" in body["detail"]


def test_empty_layer_list_is_422(client, problem):
    problem(client.post(TRACE, json={"model": "transformer", "text": "Hi", "layers": []}), 422)


def test_head_out_of_range_in_compare_is_422(client, problem):
    r = client.post(COMPARE, json={"models": ["transformer", "lstm"], "text": "Hi", "heads": [5]})
    problem(r, 422)


@pytest.mark.parametrize(
    "raw", [b"{", b'{"model": "transformer", "text": }', b"not json", b"\xff\xfe\x00", b'{"model": NaN}']
)
def test_malformed_json_is_a_4xx_problem(client, raw):
    r = client.post(TRACE, content=raw, headers={"content-type": "application/json"})
    assert r.status_code in (400, 422), r.text
    assert r.headers["content-type"] == "application/problem+json"


def test_malformed_json_says_so(client, problem):
    r = client.post(TRACE, content=b'{"model": ', headers={"content-type": "application/json"})
    assert "not valid JSON" in problem(r, 422)["detail"]


@pytest.mark.parametrize("raw", [b"[]", b'"text"', b"null", b"42", b""])
def test_json_that_is_not_an_object_is_422(client, problem, raw):
    problem(client.post(TRACE, content=raw, headers={"content-type": "application/json"}), 422)


@pytest.mark.parametrize(
    "field, value",
    [
        ("text", 5),
        ("text", None),
        ("model", ["transformer"]),
        ("layers", "0"),
        ("layers", [0.5]),
        ("heads", {"0": 1}),
        ("top_k", "many"),
        ("top_k", 0),
        ("top_k", 51),
        ("decimals", 9),
        ("decimals", -1),
        ("encoding", "f32"),
        ("parts", "attention"),
    ],
)
def test_wrong_type_or_value_is_422_naming_the_field(client, problem, field, value):
    body = problem(client.post(TRACE, json={"model": "transformer", "text": "Hi", field: value}), 422)
    assert body["errors"][0]["field"].startswith(field)


def test_missing_text_is_422_naming_the_field(client, problem):
    body = problem(client.post(TRACE, json={"model": "transformer"}), 422)
    assert body["errors"] == [{"field": "text", "message": "Field required"}]


def test_unknown_field_is_422_naming_it(client, problem):
    body = problem(client.post(TRACE, json={"model": "transformer", "text": "Hi", "temperature": 1}), 422)
    assert "temperature" in body["detail"]


def test_unknown_field_in_compare_is_422(client, problem):
    problem(client.post(COMPARE, json={"models": ["gru", "rnn"], "text": "Hi", "model": "gru"}), 422)


def test_text_with_a_lone_surrogate_is_422_not_500(client, problem):
    raw = b'{"model": "transformer", "text": "bad \\ud800 half"}'
    body = problem(client.post(TRACE, content=raw, headers={"content-type": "application/json"}), 422)
    assert "surrogate" in body["detail"]


def test_lone_surrogate_in_a_key_or_model_name_is_a_4xx_problem(client):
    for raw in (b'{"model": "\\udfff", "text": "x"}', b'{"model": "gru", "text": "x", "\\ud800": 1}'):
        r = client.post(TRACE, content=raw, headers={"content-type": "application/json"})
        assert 400 <= r.status_code < 500 and r.headers["content-type"] == "application/problem+json"


def test_body_over_64_kb_with_content_length_is_413(client, problem):
    raw = b'{"model": "transformer", "text": "' + b"a" * 70_000 + b'"}'
    r = client.post(TRACE, content=raw, headers={"content-type": "application/json"})
    body = problem(r, 413)
    assert "65536" in body["detail"]


def test_declared_content_length_over_the_limit_is_413_before_reading(client, problem):
    """A Content-Length over the limit is refused without reading the body."""
    r = client.post(
        TRACE,
        content=b"{}",
        headers={"content-type": "application/json", "content-length": "1000000"},
    )
    problem(r, 413)


def test_unknown_path_is_404_problem(client, problem):
    problem(client.get("/api/v1/nothing"), 404)


def test_wrong_method_is_405_problem(client, problem):
    problem(client.get(TRACE), 405)
