"""Turning traces into response payloads: the one place that converts arrays for the wire.

Encodings of a float array (every array is a dict with ``shape`` and ``encoding``):

- ``json``: ``data`` holds nested arrays of numbers rounded to ``decimals`` (NaN -> null).
- ``f16``: ``data`` is base64 of little-endian IEEE float16 values, row-major.
- ``u8``: ``data`` is base64 of uint8 codes q; the value is ``offset + scale * q``.

For causal attention in ``f16`` and ``u8``, ``layout`` is ``"causal_lower"``: only the
lower triangle (key <= query) is sent, row by row (row i has i + 1 values); the upper
triangle is exactly 0. Otherwise ``layout`` is ``"dense"``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import orjson
import pybase64
import torch

from models.tokenizer import Tokenizer
from models.trace import Trace

from .jsonfloat import float_text

Encoding = Literal["json", "f16", "u8"]
ORJSON_OPTS = orjson.OPT_SERIALIZE_NUMPY


@dataclass(frozen=True)
class Selection:
    """What part of a trace a client asked for."""

    parts: tuple[str, ...]
    layers: tuple[int, ...] | None = None  # None = all
    heads: tuple[int, ...] | None = None
    encoding: Encoding = "json"
    decimals: int = 4


@lru_cache(maxsize=32)
def _tril_flat(t: int) -> np.ndarray:
    """Flat positions (row * t + col) of the lower triangle of a t x t matrix, row by row."""
    rows, cols = np.tril_indices(t)
    return rows * t + cols


def _lower_triangle(x: np.ndarray) -> np.ndarray:
    t = x.shape[-1]
    return x.reshape(*x.shape[:-2], t * t).take(_tril_flat(t), axis=-1)


def _float16(x: np.ndarray) -> np.ndarray:
    """Little-endian IEEE float16 of ``x``, C-contiguous. torch's cast rounds exactly like
    numpy's (checked bit for bit over every float32 from 2**-26 to 70000) but is
    vectorised: ~40x faster here. ``asarray(copy=True)`` also takes a trace's read-only
    arrays, which ``torch.from_numpy`` warns about."""
    half = torch.asarray(np.ascontiguousarray(x), dtype=torch.float16, copy=True).numpy()
    return half if sys.byteorder == "little" else half.astype("<f2")


def encode_array(x: np.ndarray, encoding: Encoding, decimals: int, causal: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"shape": list(x.shape), "encoding": encoding}
    if encoding == "json":
        out["data"] = JsonText(float_text(x, decimals))
        return out
    out["layout"] = "causal_lower" if causal else "dense"
    values = _lower_triangle(x) if causal else x
    if encoding == "f16":
        raw: Any = _float16(values)
        out["dtype"] = "float16"
    else:
        lo = 0.0 if causal else float(np.nanmin(values)) if values.size else 0.0
        hi = 1.0 if causal else float(np.nanmax(values)) if values.size else 0.0
        scale = (hi - lo) / 255 or 1.0
        codes = np.rint((np.nan_to_num(values, nan=lo) - lo) / scale)
        raw = np.clip(codes, 0, 255).astype(np.uint8)
        out.update(dtype="uint8", scale=scale, offset=lo)
    out["data"] = pybase64.b64encode_as_string(raw)  # SIMD: ~50x the speed of base64's; any buffer
    return out


def _pick(x: np.ndarray, layers: Sequence[int] | None, heads: Sequence[int] | None = None) -> np.ndarray:
    if layers is not None:
        x = x[list(layers)]
    if heads is not None:
        x = x[:, list(heads)]
    return x


def tokens_payload(trace: Trace) -> dict[str, Any]:
    t = trace.tokens
    return {"ids": t.ids, "strings": t.strings, "spans": t.spans}  # tuples: JSON arrays


@lru_cache(maxsize=32)
def _prediction_scales(n_probs: int, t: int, decimals: int) -> np.ndarray:
    """10**decimals for each number that ``predictions_payload`` rounds: probabilities keep at
    least 4 decimals (so a top-5 never shows as zeros), surprisal and entropy get ``decimals``."""
    scales = np.full(n_probs + 2 * t, 10.0**decimals)
    scales[:n_probs] = 10.0 ** max(decimals, 4)
    return scales


def predictions_payload(trace: Trace, tokenizer: Tokenizer, decimals: int) -> dict[str, Any]:
    """Top-k ids, strings and probabilities, surprisal and entropy per position.

    The float arrays are rounded together in one float64 array (the steps of ``np.round``:
    multiply, round half to even, divide) and written by orjson. This runs right after a
    trace has pushed numpy out of the CPU caches, where each numpy call costs ~20 us more
    than warm, so fewer calls beat faster ones; a table-driven writer like ``float_text``
    would also miss the cache once per number."""
    p = trace.predictions
    n, t = p.top_probs.size, len(p.surprisal)
    values = np.concatenate((p.top_probs.reshape(-1), p.surprisal, p.entropy), dtype=np.float64)
    known = values[n : n + t - 1]  # surprisal where there is a next token (not the last)
    mean = float(np.add.reduce(known)) / len(known) if len(known) else None  # before rounding
    scales = _prediction_scales(n, t, decimals)
    values *= scales
    np.rint(values, out=values)
    values /= scales
    return {
        "top_ids": p.top_ids,
        "top_strings": tokenizer.displays(p.top_ids),
        "top_probs": values[:n].reshape(p.top_probs.shape),
        "surprisal_bits": values[n : n + t],
        "entropy_bits": values[n + t :],
        "mean_surprisal_bits": None if mean is None else round(mean, decimals),
    }


def parts_payload(trace: Trace, sel: Selection) -> dict[str, Any]:
    """The requested layered parts, cut down to the selected layers and heads."""
    out: dict[str, Any] = {}
    enc, dec = sel.encoding, sel.decimals
    if "attention" in sel.parts and trace.attention:
        out["attention"] = {
            kind: encode_array(_pick(a, sel.layers, sel.heads), enc, dec, causal=kind == "self")
            for kind, a in trace.attention.items()
        }
    for name in ("resid", "h", "c"):
        if name in sel.parts and name in trace.states:
            out[name] = encode_array(_pick(trace.states[name], sel.layers), enc, dec)
    if "gates" in sel.parts and trace.gates:
        out["gates"] = {g: encode_array(_pick(a, sel.layers), enc, dec) for g, a in trace.gates.items()}
    if "logits" in sel.parts:
        out["logits"] = encode_array(trace.logits, enc, dec)
    return out


def model_trace_payload(trace: Trace, sel: Selection, tokenizer: Tokenizer) -> dict[str, Any]:
    n_layers = next(iter({**trace.attention, **trace.states}.values())).shape[0]
    return {
        "model": trace.model,
        "family": trace.family,
        "layers": list(sel.layers) if sel.layers is not None else list(range(n_layers)),
        "heads": list(sel.heads) if sel.heads is not None and trace.attention else None,
        "parts": parts_payload(trace, sel),
        "predictions": predictions_payload(trace, tokenizer, sel.decimals)
        if "predictions" in sel.parts
        else None,
    }


class JsonText:
    """Ready JSON text (bytes, or a uint8 array it was written in) that ``dumps`` puts into
    the response as it is. (Not a dataclass: orjson would serialise that itself.)"""

    __slots__ = ("text",)

    def __init__(self, text: bytes | np.ndarray) -> None:
        self.text = text


_MARK = b"\x00"  # never in orjson's own output: it escapes control characters in strings


def dumps(payload: Any) -> bytes:
    """``payload`` as JSON bytes, with each ``JsonText`` spliced in whole.

    orjson writes the rest with a short marker per ``JsonText`` (a raw NUL, which orjson
    never emits itself); the pieces are then joined once. Handing orjson the text as an
    ``orjson.Fragment`` would need it as ``bytes`` (a copy of the array) and copy it again
    into orjson's growing buffer: ~1 ms per copy for a 256-token attention tensor."""
    texts: list[bytes | memoryview] = []

    def mark(obj: Any) -> orjson.Fragment:
        if not isinstance(obj, JsonText):
            raise TypeError(f"cannot serialise {type(obj).__name__}")
        texts.append(obj.text if isinstance(obj.text, bytes) else obj.text.data)
        return orjson.Fragment(b"%s%d%s" % (_MARK, len(texts) - 1, _MARK))

    out = orjson.dumps(payload, default=mark, option=ORJSON_OPTS)
    if not texts:
        return out
    pieces = out.split(_MARK)  # json, index, json, index, ..., json
    if len(pieces) != 2 * len(texts) + 1:
        raise AssertionError("a JSON splice marker appeared outside a JsonText")
    joined: list[bytes | memoryview] = [pieces[0]]
    for k in range(1, len(pieces), 2):
        joined += (texts[int(pieces[k])], pieces[k + 1])
    return b"".join(joined)
