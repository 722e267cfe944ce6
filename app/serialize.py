"""Turning traces into response payloads: the one place that converts arrays for the wire.

Encodings of a float array (every array is a dict with ``shape`` and ``encoding``):

- ``json``: ``data`` holds nested arrays of numbers rounded to ``decimals`` (NaN -> null).
- ``f16``: ``data`` is base64 of little-endian IEEE float16 values, row-major.
- ``u8``: ``data`` is base64 of uint8 codes q; the value is ``offset + scale * q``.

For attention kinds the model's spec declares causal, ``f16`` and ``u8`` send only the lower
triangle (key <= query; ``layout: "causal_lower"``), row by row (row i has i + 1 values); the
upper triangle is exactly 0. Every other array is ``layout: "dense"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import orjson
import pybase64

from models.spec import PARTS_BY_NAME
from models.tokenizer import Tokenizer, Tokens
from models.trace import Trace

from .jsonfloat import dumps_floats, round_floats

Encoding = Literal["json", "f16", "u8"]


@dataclass(frozen=True)
class Selection:
    """What part of a trace a client asked for."""

    parts: tuple[str, ...]
    layers: tuple[int, ...] | None = None  # None = all
    heads: tuple[int, ...] | None = None
    encoding: Encoding = "json"
    decimals: int = 4


def dumps(payload: Any) -> bytes:
    """JSON bytes; numpy arrays as nested lists, ready JSON text as ``orjson.Fragment``."""
    return orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)


@lru_cache(maxsize=32)
def _tril_flat(t: int) -> np.ndarray:
    """Flat positions (row * t + col) of the lower triangle of a t x t matrix, row by row."""
    rows, cols = np.tril_indices(t)
    return rows * t + cols


def _lower_triangle(x: np.ndarray) -> np.ndarray:
    t = x.shape[-1]
    return x.reshape(*x.shape[:-2], t * t).take(_tril_flat(t), axis=-1)


def encode_array(
    x: np.ndarray, encoding: Encoding, decimals: int, causal: bool = False, unit: bool | None = None
) -> dict[str, Any]:
    """``x`` for the wire. ``causal``: the last two axes are a lower-triangular matrix, and f16
    and u8 send only its lower triangle. ``unit``: u8 codes span 0..1 (weights that are
    probabilities; by default where ``causal``), else the values' own range."""
    unit = causal if unit is None else unit
    out: dict[str, Any] = {"shape": list(x.shape), "encoding": encoding}
    if encoding == "json":
        out["data"] = orjson.Fragment(dumps_floats(x, decimals))
        return out
    out["layout"] = "causal_lower" if causal else "dense"
    values = _lower_triangle(x) if causal else x
    if encoding == "f16":
        raw: Any = np.ascontiguousarray(values, dtype="<f2")
        out["dtype"] = "float16"
    else:
        finite = values[np.isfinite(values)]
        lo = 0.0 if unit else float(finite.min()) if finite.size else 0.0
        hi = 1.0 if unit else float(finite.max()) if finite.size else 0.0
        scale = (hi - lo) / 255 or 1.0
        codes = np.rint((np.nan_to_num(values, nan=lo) - lo) / scale)
        raw = np.clip(codes, 0, 255).astype(np.uint8)
        out.update(dtype="uint8", scale=scale, offset=lo)
    out["data"] = pybase64.b64encode_as_string(raw)
    return out


def _pick(x: np.ndarray, layers: Sequence[int] | None, heads: Sequence[int] | None = None) -> np.ndarray:
    if layers is not None:
        x = x[list(layers)]
    if heads is not None:
        x = x[:, list(heads)]
    return x


def tokens_payload(tokens: Tokens) -> dict[str, Any]:
    return {"ids": tokens.ids, "strings": tokens.strings, "spans": tokens.spans}


def predictions_payload(trace: Trace, tokenizer: Tokenizer, decimals: int) -> dict[str, Any]:
    """Top-k ids, strings and probabilities (at least 4 decimals, so a top-5 never shows as
    zeros), surprisal and entropy per position, and the mean surprisal."""
    p = trace.predictions
    known = p.surprisal[:-1].astype(np.float64)  # the last position has no next token
    mean = round(float(known.mean()), decimals) if len(known) else None
    return {
        "top_ids": p.top_ids,
        "top_strings": tokenizer.displays(p.top_ids),
        "top_probs": round_floats(p.top_probs, max(decimals, 4)),
        "surprisal_bits": round_floats(p.surprisal, decimals),
        "entropy_bits": round_floats(p.entropy, decimals),
        "mean_surprisal_bits": mean,
    }


def parts_payload(trace: Trace, sel: Selection) -> dict[str, Any]:
    """The requested array parts, cut down to the selected layers and heads; how each is
    stored and sent follows its group in the part registry."""
    out: dict[str, Any] = {}
    enc, dec, layers = sel.encoding, sel.decimals, sel.layers
    for name in sel.parts:
        group = PARTS_BY_NAME[name].group
        if group == "attention":
            out[name] = {
                kind.name: encode_array(
                    _pick(trace.attention[kind.name], layers, sel.heads), enc, dec, kind.causal
                )
                for kind in trace.spec.attention
            }
        elif group == "states":
            out[name] = encode_array(_pick(trace.states[name], layers), enc, dec)
        elif group == "gates":
            out[name] = {g: encode_array(_pick(trace.gates[g], layers), enc, dec) for g in trace.spec.gates}
        elif group == "logits":
            out[name] = encode_array(trace.logits, enc, dec)
    return out


def model_trace_payload(trace: Trace, sel: Selection, tokenizer: Tokenizer) -> dict[str, Any]:
    spec = trace.spec
    return {
        "model": trace.model,
        "family": spec.architecture,
        "layers": list(sel.layers) if sel.layers is not None else list(range(spec.n_layers)),
        "heads": list(sel.heads) if sel.heads is not None and spec.n_heads else None,
        "parts": parts_payload(trace, sel),
        "predictions": predictions_payload(trace, tokenizer, sel.decimals)
        if "predictions" in sel.parts
        else None,
    }
