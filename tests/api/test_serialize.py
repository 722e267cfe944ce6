"""``serialize.dumps`` splices ready JSON text (``JsonText``) into orjson's output at marker
bytes: the result must be exactly what orjson writes with the same text as a Fragment, for
any payload, including strings that contain the marker byte."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.jsonfloat import dumps_floats, float_text
from app.serialize import ORJSON_OPTS, JsonText, dumps


def as_fragments(payload: Any) -> Any:
    """The same payload with each JsonText as an orjson.Fragment (the reference)."""
    if isinstance(payload, JsonText):
        text = payload.text
        return orjson.Fragment(text if isinstance(text, bytes) else text.tobytes())
    if isinstance(payload, dict):
        return {k: as_fragments(v) for k, v in payload.items()}
    if isinstance(payload, list):
        return [as_fragments(v) for v in payload]
    return payload


def reference(payload: Any) -> bytes:
    return orjson.dumps(as_fragments(payload), option=ORJSON_OPTS)


def test_json_text_from_arrays_and_bytes_is_spliced_in_order_of_the_output():
    big = np.linspace(-2, 2, 600, dtype=np.float32).reshape(3, 200)
    array_text = float_text(big, 3)
    assert isinstance(array_text, np.ndarray)  # the no-copy case is the one exercised
    late, early = JsonText(array_text), JsonText(b"[1,2]")  # created in one order...
    payload = {"a": {"data": early}, "b": [1, {"data": late}], "c": "after"}  # ...output in the other
    out = dumps(payload)
    assert out == reference(payload)
    parsed = json.loads(out)
    assert parsed["a"]["data"] == [1, 2] and parsed["c"] == "after"
    assert parsed["b"][1]["data"] == json.loads(dumps_floats(big, 3))


def test_payloads_without_json_text_are_plain_orjson():
    payload = {"x": np.arange(3), "s": "a\x00b"}
    assert dumps(payload) == orjson.dumps(payload, option=ORJSON_OPTS)


def test_other_unserialisable_objects_still_fail():
    with pytest.raises(TypeError, match="object"):
        dumps({"x": object()})


strings = st.text(alphabet=st.sampled_from(["\x00", "0", "1", "a", '"', "\\", "é", "\u2028"]), max_size=12)


@settings(max_examples=300, deadline=None, database=None)
@given(
    keys=st.lists(strings, min_size=1, max_size=4, unique=True),
    values=st.lists(strings, min_size=1, max_size=4),
    n_texts=st.integers(0, 4),
)
def test_strings_holding_the_marker_byte_cannot_break_the_splice(keys, values, n_texts):
    payload: dict[str, Any] = {k: v for k, v in zip(keys, values, strict=False)}
    for i in range(n_texts):
        payload[f"\x00{i}\x00"] = JsonText(b"[%d]" % i)  # even a key shaped like a marker
    out = dumps(payload)
    assert out == reference(payload)
    assert json.loads(out) == {
        **{k: v for k, v in zip(keys, values, strict=False)},
        **{f"\x00{i}\x00": [i] for i in range(n_texts)},
    }
