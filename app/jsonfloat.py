"""Fast JSON text for large float arrays, rounded to a fixed number of decimals.

orjson formats about 20 M floats/s; a 256-token attention tensor holds 1 M, so numbers are
formatted here with numpy table look-ups instead (~10x faster). Every number is written
with the same width, padded by spaces (valid JSON whitespace), so the whole nested array is
one uint8 matrix. The result is embedded in orjson output as an ``orjson.Fragment``.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import orjson

_MAX_DIGITS = 6  # integer + decimal digits covered by a table; larger values use orjson


@lru_cache(maxsize=4)
def _table(digits: int, decimals: int, signed: bool) -> np.ndarray:
    """Every number with ``digits`` significant digits, ``decimals`` of them after the point,
    formatted right-aligned with a trailing comma, as fixed-width bytes; the entry for
    q = round(x * 10**decimals) sits at q (+ 10**digits - 1 if signed), the last is "null"."""
    m = 10**digits - 1
    q = np.arange(-m if signed else 0, m + 1, dtype=np.int64)
    ip, fp = np.divmod(np.abs(q), 10**decimals)
    int_digits = digits - decimals
    width = max(
        5, signed + int_digits + (1 + decimals if decimals else 0) + 1
    )  # sign, point, comma; fits "null,"
    out = np.full((len(q) + 1, width), ord(" "), dtype=np.uint8)
    out[:, -1] = ord(",")
    col = width - 1
    if decimals:
        for k in range(decimals):
            out[:-1, col - 1 - k] = ord("0") + (fp // 10**k) % 10
        col -= decimals
        out[:-1, col - 1] = ord(".")
        col -= 1
    ndig = np.maximum(1, np.floor(np.log10(np.maximum(ip, 1))).astype(np.int64) + 1)
    for k in range(int_digits):
        shown = k < ndig
        out[:-1, col - 1 - k][shown] = (ord("0") + (ip // 10**k) % 10)[shown]
    neg = q < 0
    out[np.flatnonzero(neg), col - 1 - ndig[neg]] = ord("-")
    out[-1, -5:-1] = np.frombuffer(b"null", dtype=np.uint8)
    return out.view(f"S{width}").ravel()


def _fallback(x: np.ndarray, decimals: int) -> bytes:
    return orjson.dumps(np.round(x.astype(np.float64), decimals), option=orjson.OPT_SERIALIZE_NUMPY)


def dumps_floats(x: np.ndarray, decimals: int) -> bytes:
    """JSON text of ``x`` as nested arrays, rounded to ``decimals``; NaN and inf become null."""
    if x.ndim < 2 or x.size < 256:
        return _fallback(x, decimals)
    q = np.multiply(x, 10**decimals, dtype=np.float64)  # one pass: cast and scale
    np.rint(q, out=q)
    lo, hi = float(q.min()), float(q.max())  # NaN propagates, inf shows: both finite => all are
    finite = None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        finite = np.isfinite(q)
        q[~finite] = 0
        lo, hi = float(q.min()), float(q.max())
    digits = max(decimals + 1, len(str(int(max(-lo, hi)))))
    if digits > _MAX_DIGITS:
        return _fallback(x, decimals)
    signed = lo < 0
    table = _table(digits, decimals, signed)
    index = q.astype(np.intp)
    if signed:
        index += 10**digits - 1
    if finite is not None:
        index[~finite] = len(table) - 1
    return _frame(table, index, x.shape)


@lru_cache(maxsize=64)
def _brackets(outer: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """For rows of the innermost axis: each row's fixed-width prefix of opening brackets and
    suffix of closing brackets and comma (after the row's first ']'), padded with spaces."""
    idx = np.indices(outer).reshape(len(outer), -1)  # [levels, rows]
    nrows = idx.shape[1]
    first = idx == 0
    last = idx == np.array(outer)[:, None] - 1
    width = len(outer) + 1
    opens = 1 + np.cumprod(first[::-1], axis=0).sum(axis=0)  # own '[' + blocks starting here
    closes = 1 + np.cumprod(last[::-1], axis=0).sum(axis=0)
    pre = np.full((nrows, width), ord(" "), dtype=np.uint8)
    suf = np.full((nrows, width + 1), ord(" "), dtype=np.uint8)
    col = np.arange(width)
    pre[col[None, :] >= width - opens[:, None]] = ord("[")
    suf[:, :width][col[None, :] < closes[:, None]] = ord("]")
    suf[np.arange(nrows), closes] = ord(",")
    suf[-1, closes[-1]] = ord(" ")
    return pre, suf[:, 1:]


def _frame(table: np.ndarray, index: np.ndarray, shape: tuple[int, ...]) -> bytes:
    """Format ``table[index]`` straight into the output, one line per row of the innermost
    axis: brackets, the row's cells (its last comma becomes the row's ']'), more brackets."""
    n = shape[-1]
    pre, suf = _brackets(tuple(shape[:-1]))
    nrows, width = pre.shape
    cell = table.itemsize
    row_end = width + n * cell
    out = np.empty((nrows, row_end + width), dtype=np.uint8)
    out[:, :width] = pre
    out[:, row_end:] = suf
    cells = np.ndarray((nrows, n), dtype=table.dtype, buffer=out, offset=width, strides=(out.shape[1], cell))
    np.take(table, index.reshape(nrows, n), out=cells, mode="clip")  # indices are in range by construction
    out[:, row_end - 1] = ord("]")
    return out.tobytes()
