"""No input makes the server fail: random JSON-ish bodies (known and unknown keys, any
types, text with control characters, emoji and lone surrogates) get a 2xx or a 4xx
problem+json, never a 5xx, and the server answers /healthz afterwards."""

from __future__ import annotations

import json

import httpx
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from models.checkpoint import ARCHS
from models.spec import PART_NAMES

ODD = [
    "\ud800",
    "\udfff",
    "\ud83d",
    "\x00",
    "\x1b",
    "\x7f",
    "\u202e",
    "\ufeff",
    "\n",
    "😀",
    "é",
    "\u0301",
    " ",
]
text = st.text(alphabet=st.one_of(st.characters(), st.sampled_from(ODD)), max_size=60)
leaf = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), text
)
value = st.recursive(
    leaf, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4), max_leaves=8
)
indices = st.lists(st.integers(-3, 6), max_size=5)
FIELDS = {
    "model": st.sampled_from([*ARCHS, "bert", "", "TRANSFORMER"]) | value,
    "models": st.lists(st.sampled_from([*ARCHS, "bert"]), max_size=6) | value,
    "text": text | value,
    "parts": st.lists(st.sampled_from([*PART_NAMES, "kv"]), max_size=4) | value,
    "layers": indices | value,
    "heads": indices | value,
    "top_k": st.integers(-2, 60) | value,
    "encoding": st.sampled_from(["json", "f16", "u8", "f32"]) | value,
    "decimals": st.integers(-1, 10) | value,
}
objects = st.builds(
    lambda known, extra: {**known, **extra},
    st.fixed_dictionaries({}, optional=FIELDS),
    st.dictionaries(text, value, max_size=2) | st.just({}),
)
GOOD = {  # values of the right type, in or near range
    "parts": st.lists(st.sampled_from(PART_NAMES), max_size=3),
    "layers": st.lists(st.integers(-1, 2), max_size=3),
    "heads": st.lists(st.integers(-1, 2), max_size=3),
    "top_k": st.integers(0, 51),
    "encoding": st.sampled_from(["json", "f16", "u8"]),
    "decimals": st.integers(-1, 9),
}
plausible = st.one_of(
    st.fixed_dictionaries({"model": st.sampled_from(ARCHS), "text": text}, optional=GOOD),
    st.fixed_dictionaries(
        {"models": st.lists(st.sampled_from(ARCHS), min_size=1, max_size=4, unique=True), "text": text},
        optional=GOOD,
    ),
)
bodies = st.one_of(
    plausible.map(json.dumps),
    objects.map(json.dumps),  # ensure_ascii: a lone surrogate goes over the wire as "\ud800"
    value.map(json.dumps),
    st.binary(max_size=64),
)
FUZZ = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def check(response: httpx.Response) -> None:
    event(f"status {response.status_code}")
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == response.status_code and problem["title"] and problem["detail"]


@FUZZ
@given(body=bodies)
def test_random_trace_bodies_never_cause_a_server_error(client, body):
    check(client.post("/api/v1/trace", content=body, headers={"content-type": "application/json"}))


@FUZZ
@given(body=bodies)
def test_random_compare_bodies_never_cause_a_server_error(client, body):
    check(client.post("/api/v1/compare", content=body, headers={"content-type": "application/json"}))


@settings(max_examples=60, deadline=None, database=None)
@given(body=objects, model=st.sampled_from(ARCHS))
def test_random_options_on_a_real_text_never_cause_a_server_error(client, body, model):
    """Keeps model and text valid so the options reach the model and the serialiser."""
    body = {**body, "model": model, "text": "A short, ordinary text."}
    check(
        client.post("/api/v1/trace", content=json.dumps(body), headers={"content-type": "application/json"})
    )


@settings(max_examples=40, deadline=None, database=None)
@given(path=st.sampled_from(["/api/v1/trace", "/api/v1/compare"]), body=bodies)
def test_random_bodies_over_real_http_never_cause_a_server_error(live_server, path, body):
    check(
        httpx.post(live_server + path, content=body, headers={"content-type": "application/json"}, timeout=60)
    )


def test_server_still_answers_after_the_fuzzing(client, live_server):
    assert client.get("/healthz").status_code == 200
    assert client.post("/api/v1/trace", json={"model": "gru", "text": "still fine"}).status_code == 200
    assert httpx.get(live_server + "/healthz").status_code == 200
