"""JSON text for large float arrays, rounded to a fixed number of decimals, by table look-up.

orjson formats about 20 M floats/s and a 256-token attention tensor holds 1 M, so large
arrays are written here instead (``bench/bench_jsonfloat.py`` compares the two). Every
number is written with the same width W, right-aligned and padded by spaces (valid JSON
whitespace), so the nested array is one byte matrix: each number is a look-up of its
rounded value in a table of every W-byte cell, and brackets are added per row.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import orjson

_MAX_DIGITS = 6  # integer + decimal digits covered by a table; larger values use orjson
_ROUND = 1.5 * 2**52  # x + _ROUND rounds x to an integer, half to even, for |x| < 2**51
_ROUND_BITS = int(np.array(_ROUND).view(np.int64))


def _cell_width(digits: int, decimals: int, signed: bool) -> int:
    return max(5, signed + digits - decimals + (1 + decimals if decimals else 0) + 1)


@lru_cache(maxsize=8)
def _table(digits: int, decimals: int, signed: bool) -> np.ndarray:
    """Every number with ``digits`` significant digits, ``decimals`` of them after the point,
    right-aligned with a trailing comma, as ``S{W}`` cells: the cell for
    q = round(x * 10**decimals) sits at q (+ 10**digits - 1 if signed); the last is "null".
    Written column by column from the right with integer arithmetic (a 6-digit signed
    table, 2 M cells, takes ~0.1 s)."""
    width = _cell_width(digits, decimals, signed)
    q = np.arange(-(10**digits) + 1 if signed else 0, 10**digits, dtype=np.int64)
    mag = np.abs(q)
    whole = mag // 10**decimals
    cells = np.full((len(q) + 1, width), ord(" "), dtype=np.uint8)
    col = width - 1
    cells[:-1, col] = ord(",")
    for k in range(decimals):
        col -= 1
        cells[:-1, col] = ord("0") + (mag // 10**k) % 10
    if decimals:
        col -= 1
        cells[:-1, col] = ord(".")
    n_digits = np.ones_like(whole)  # digits of the integer part: "0" has one
    for k in range(1, digits - decimals):
        n_digits += whole >= 10**k
    for k in range(digits - decimals):
        col -= 1
        cells[:-1, col] = np.where(k < n_digits, ord("0") + (whole // 10**k) % 10, ord(" "))
    if signed:
        rows = np.flatnonzero(q < 0)
        cells[rows, width - 1 - (1 + decimals if decimals else 0) - n_digits[rows] - 1] = ord("-")
    cells[-1, -5:] = np.frombuffer(b"null,", dtype=np.uint8)
    return cells.view(f"S{width}").ravel()


def round_floats(x: np.ndarray, decimals: int) -> np.ndarray:
    """``np.round(x, decimals)`` in float64, C-contiguous, except that numbers of 2**52 or
    more, already whole, stay as they are instead of overflowing to inf."""
    x64 = np.ascontiguousarray(x, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        rounded = np.round(x64, decimals)
    whole = np.abs(x64) >= 2.0**52
    if whole.any():
        rounded[whole] = x64[whole]
    return rounded


@lru_cache(maxsize=64)
def _brackets(outer: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """For each row of the innermost axis: its fixed-width prefix of opening brackets, and its
    suffix of closing brackets and a comma (after the row's own ']'), padded with spaces."""
    idx = np.indices(outer).reshape(len(outer), -1)  # [levels, rows]
    first, last = idx == 0, idx == np.array(outer)[:, None] - 1
    width = len(outer) + 1
    opens = 1 + np.cumprod(first[::-1], axis=0).sum(axis=0)  # own '[' + blocks starting here
    closes = 1 + np.cumprod(last[::-1], axis=0).sum(axis=0)
    nrows = idx.shape[1]
    pre = np.full((nrows, width), ord(" "), dtype=np.uint8)
    suf = np.full((nrows, width + 1), ord(" "), dtype=np.uint8)
    col = np.arange(width)
    pre[col[None, :] >= width - opens[:, None]] = ord("[")
    suf[:, :width][col[None, :] < closes[:, None]] = ord("]")
    suf[np.arange(nrows), closes] = ord(",")
    suf[-1, closes[-1]] = ord(" ")
    return pre, suf[:, 1:]


def dumps_floats(x: np.ndarray, decimals: int) -> bytes:
    """JSON text of ``x`` as nested arrays, rounded to ``decimals``; NaN and inf become null."""
    if x.ndim < 2 or x.size < 256:
        return orjson.dumps(round_floats(x, decimals), option=orjson.OPT_SERIALIZE_NUMPY)
    scale = float(10**decimals)
    finite = np.isfinite(x)
    lo = float(np.min(x, where=finite, initial=0.0))
    hi = float(np.max(x, where=finite, initial=0.0))
    # Rounding is monotonic, so the extremes of the rounded values are the rounded extremes;
    # Python's float product and round() are IEEE double and half-to-even, as numpy's.
    if not max(-lo, hi) * scale < 10**_MAX_DIGITS:
        return orjson.dumps(round_floats(x, decimals), option=orjson.OPT_SERIALIZE_NUMPY)
    qlo, qhi = round(lo * scale), round(hi * scale)
    digits = max(decimals + 1, len(str(max(-qlo, qhi))))
    signed = qlo < 0
    table = _table(digits, decimals, signed)
    # x * 10**decimals in float64 (exact for float32 input; the product np.round takes), then
    # + 1.5 * 2**52 rounds it half to even, as np.rint, and leaves the integer in the low bits
    q = np.multiply(x, scale, dtype=np.float64, where=finite, out=np.zeros(x.shape))
    q += _ROUND
    index = q.view(np.int64)
    index -= _ROUND_BITS - (10**digits - 1 if signed else 0)
    index[~finite] = len(table) - 1
    n = x.shape[-1]
    pre, suf = _brackets(tuple(x.shape[:-1]))
    edge, width = pre.shape[1], table.dtype.itemsize
    out = np.empty((len(pre), 2 * edge + n * width), dtype=np.uint8)
    out[:, :edge], out[:, edge + n * width :] = pre, suf
    np.take(table, index.reshape(-1, n), out=out[:, edge : edge + n * width].view(table.dtype))
    out[:, edge + n * width - 1] = ord("]")  # the row's last comma
    return out.tobytes()
