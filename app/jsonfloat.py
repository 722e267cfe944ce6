"""Fast JSON text for large float arrays, rounded to a fixed number of decimals.

orjson formats about 20 M floats/s; a 256-token attention tensor holds 1 M, so numbers are
formatted here with numpy table look-ups instead. Every number is written
with the same width W (5..9 bytes), padded by spaces (valid JSON whitespace), so the whole
nested array is one uint8 matrix. The result is embedded in orjson output as an
``orjson.Fragment``.

Two tricks keep it at ~3.5-6 ns per number (1.5-1.8x faster than ``np.rint`` then a
``np.take`` of W-byte cells; ``bench/bench_api.py`` measures the whole API):

- Rounding: ``q = x * 10**decimals`` in float64 (exact for float32 input), then adding
  1.5 * 2**52 rounds q to an integer half-to-even, exactly like ``np.rint``, and leaves that
  integer in the low bits of the float, so a subtraction on the int64 view gives the
  table index: no ``rint`` or float-to-int conversion passes.
- Writing: ``np.take`` is fast for 8-byte items and slow for odd ones, so the table holds
  each cell's first 8 bytes as one uint64, and the gathered items are stored at a stride of
  W bytes in ascending order: each 8-byte store spills 8 - W bytes into the next cell, which
  the next store overwrites (for W = 9 the comma is written beforehand). numpy copies a
  strided array in ascending address order; ``_overlapping_stores_work`` checks that once,
  and if it did not hold the slower exact-width ``np.take`` is used instead.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import orjson

_MAX_DIGITS = 6  # integer + decimal digits covered by a table; larger values use orjson
_ITEM = 8  # bytes per table item (uint64)
_BLOCK = 16384  # numbers rounded and looked up at a time (128 KB of float64)
_ROUND = 1.5 * 2**52  # x + _ROUND rounds x to an integer, half to even, for |x| < 2**51
_ROUND_BITS = int(np.array(_ROUND).view(np.int64))


def _table(digits: int, decimals: int, signed: bool) -> np.ndarray:
    """Every number with ``digits`` significant digits, ``decimals`` of them after the point,
    formatted right-aligned with a trailing comma, as fixed-width bytes; the entry for
    q = round(x * 10**decimals) sits at q (+ 10**digits - 1 if signed), the last is "null".

    Built as (sign and integer part) x (fraction) from two small tables by broadcasting:
    ~20 ms for the 2 M entries of a signed 6-digit table."""
    int_digits = digits - decimals
    frac_width = (1 + decimals if decimals else 0) + 1  # point, decimals, comma
    int_width = max(5 - frac_width, signed + int_digits)  # a cell fits "null,"
    width = int_width + frac_width
    fp = np.arange(10**decimals)
    frac = np.full((len(fp), frac_width), ord(" "), dtype=np.uint8)
    frac[:, -1] = ord(",")
    if decimals:
        frac[:, 0] = ord(".")
        for k in range(decimals):
            frac[:, frac_width - 2 - k] = ord("0") + (fp // 10**k) % 10
    ip = np.arange(10**int_digits, dtype=np.int32)
    ndig = np.ones(len(ip), dtype=np.int32)  # digits shown: no leading zeros, but "0" itself
    for k in range(1, int_digits):
        ndig[10**k :] += 1
    whole = np.full((2, len(ip), int_width), ord(" "), dtype=np.uint8)  # [negative?, ip]
    for k in range(int_digits):
        col = (ord("0") + (ip // 10**k) % 10).astype(np.uint8)
        col[: 10**k if k else 0] = ord(" ")  # a leading zero
        whole[:, :, int_width - 1 - k] = col
    whole[1, np.arange(len(ip)), int_width - 1 - ndig] = ord("-")

    def half(sign: int) -> np.ndarray:  # entries for |q| = ip * 10**decimals + fp, in order of |q|
        out = np.empty((len(ip), len(fp), width), dtype=np.uint8)
        out[:, :, :int_width] = whole[sign][:, None, :]
        out[:, :, int_width:] = frac[None, :, :]
        return out.reshape(-1, width)

    null = np.full((1, width), ord(" "), dtype=np.uint8)
    null[0, -5:] = np.frombuffer(b"null,", dtype=np.uint8)
    parts = [half(1)[:0:-1]] if signed else []  # q = -m .. -1
    return np.concatenate([*parts, half(0), null])


@lru_cache(maxsize=8)
def _items(digits: int, decimals: int, signed: bool) -> np.ndarray:
    """``_table`` as uint64 items: each cell's first 8 bytes, padded with spaces (at most
    16 MB, for a signed 6-digit table)."""
    table = _table(digits, decimals, signed)
    cells = np.full((len(table), _ITEM), ord(" "), dtype=np.uint8)
    cells[:, : min(table.shape[1], _ITEM)] = table[:, :_ITEM]
    return cells.view(np.uint64).ravel()


_exact_table = lru_cache(maxsize=4)(_table)  # for the exact-width path, if ever needed


def _cell_width(digits: int, decimals: int, signed: bool) -> int:
    return max(5, signed + digits - decimals + (1 + decimals if decimals else 0) + 1)


def round_floats(x: np.ndarray, decimals: int) -> np.ndarray:
    """``np.round(x, decimals)`` in float64, C-contiguous (orjson takes no other; a head
    selection such as x[:, heads] may come out Fortran-ordered), except that numbers of
    2**52 or more, already whole, stay as they are instead of overflowing to inf."""
    x64 = np.ascontiguousarray(x, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        rounded = np.round(x64, decimals)
    whole = np.abs(x64) >= 2.0**52
    if whole.any():
        rounded[whole] = x64[whole]
    return rounded


def _fallback(x: np.ndarray, decimals: int) -> bytes:
    return orjson.dumps(round_floats(x, decimals), option=orjson.OPT_SERIALIZE_NUMPY)


def dumps_floats(x: np.ndarray, decimals: int) -> bytes:
    """JSON text of ``x`` as nested arrays, rounded to ``decimals``; NaN and inf become null."""
    text = float_text(x, decimals)
    return text if isinstance(text, bytes) else text.tobytes()


def float_text(x: np.ndarray, decimals: int) -> bytes | np.ndarray:
    """``dumps_floats``, but large arrays' text comes as the uint8 array it was written in,
    so that a caller that copies it anyway (``serialize.dumps``) skips one copy."""
    if x.ndim < 2 or x.size < 256:
        return _fallback(x, decimals)
    scale = float(10**decimals)
    lo, hi = float(x.min()), float(x.max())  # NaN propagates, inf shows: both finite => all are
    finite = None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        finite = np.isfinite(x)
        lo = float(np.min(x, where=finite, initial=0.0))
        hi = float(np.max(x, where=finite, initial=0.0))
    if not max(-lo, hi) * scale < 10**_MAX_DIGITS:  # too many digits (or an overflow to inf)
        return _fallback(x, decimals)
    # Rounding is monotonic, so the extremes of the rounded values are the rounded extremes;
    # Python's float product and round() are IEEE double and half-to-even, as numpy's.
    qlo, qhi = round(lo * scale), round(hi * scale)
    digits = max(decimals + 1, len(str(max(-qlo, qhi))))
    if digits > _MAX_DIGITS:
        return _fallback(x, decimals)
    signed = qlo < 0
    return _frame(x, finite, scale, digits, decimals, signed)


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


def _store_cells(out: np.ndarray, offset: int, row_stride: int, items: np.ndarray, width: int) -> None:
    """Write ``items`` ([rows, n] uint64, a cell's first 8 bytes each) at ``width``-byte steps
    from ``offset`` in each row of ``out``; the last item of a row may spill 8 - width bytes."""
    rows, n = items.shape
    if width > _ITEM:  # the bytes past the 8th are the comma
        commas = np.ndarray((rows, n), np.uint8, out, offset + width - 1, (row_stride, width))
        commas[...] = ord(",")
    dst = np.ndarray((rows, n), np.uint64, out, offset, (row_stride, width))
    dst[...] = items


def _overlapping_stores_work() -> bool:
    """Does a strided copy of 8-byte items at a smaller stride leave each item's first bytes
    in place, that is, does numpy store them in ascending order? Checked on a small case."""
    width, rows, n = 5, 3, 70
    cells = np.array([b"%4d," % i for i in range(rows * n)], dtype="S5")
    items = np.zeros(rows * n, np.uint64)
    items.view(np.uint8).reshape(-1, 8)[:, :5] = cells.view(np.uint8).reshape(-1, 5)
    items.view(np.uint8).reshape(-1, 8)[:, 5:] = ord("#")  # spill that must be overwritten
    stride = n * width + 16
    out = np.zeros(rows * stride, np.uint8)
    _store_cells(out, 2, stride, items.reshape(rows, n), width)
    got = out.reshape(rows, stride)[:, 2 : 2 + n * width].tobytes()
    return got == cells.reshape(rows, n).tobytes()


_OVERLAP = _overlapping_stores_work()


def _frame(
    x: np.ndarray, finite: np.ndarray | None, scale: float, digits: int, decimals: int, signed: bool
) -> np.ndarray:
    """Format ``x`` into the output, one line per row of the innermost axis: brackets, the
    row's cells (its last comma becomes the row's ']'), more brackets. Rows are rounded and
    looked up in blocks of ~_BLOCK numbers, so the float64 and uint64 intermediates stay
    in the core's cache instead of making three more passes over memory."""
    n = x.shape[-1]
    rows = x.reshape(-1, n)
    ok = None if finite is None else finite.reshape(-1, n)
    pre, suf = _brackets(tuple(x.shape[:-1]))
    nrows, edge = pre.shape
    width = _cell_width(digits, decimals, signed)
    row_end = edge + n * width
    stride = row_end + edge
    buffer = np.empty(nrows * stride + _ITEM, dtype=np.uint8)  # room for the last spill
    out = buffer[: nrows * stride].reshape(nrows, stride)
    offset = _ROUND_BITS - (10**digits - 1 if signed else 0)  # float bits -> table index
    null = 2 * 10**digits - 1 if signed else 10**digits
    block = max(1, _BLOCK // n)
    q = np.empty((min(block, nrows), n), dtype=np.float64)
    gathered = np.empty(q.shape, dtype=np.uint64)
    items = _items(digits, decimals, signed) if _OVERLAP else None
    exact = None if _OVERLAP else _exact_table(digits, decimals, signed).view(f"S{width}").ravel()
    for r0 in range(0, nrows, block):
        r1 = min(r0 + block, nrows)
        qb = q[: r1 - r0]
        # in float64 (without dtype, numpy 2 would multiply float32 input in float32): exact for
        # float32 input; for float64, the same product np.round takes
        np.multiply(rows[r0:r1], scale, out=qb, dtype=np.float64)
        if ok is not None:
            qb[~ok[r0:r1]] = 0.0
        qb += _ROUND
        index = qb.view(np.int64)
        index -= offset
        if ok is not None:
            index[~ok[r0:r1]] = null
        if items is not None:
            g = gathered[: r1 - r0]
            np.take(items, index, out=g, mode="clip")
            _store_cells(buffer, r0 * stride + edge, stride, g, width)  # spills: brackets after
        else:
            assert exact is not None
            cells = np.ndarray((r1 - r0, n), exact.dtype, buffer, r0 * stride + edge, (stride, width))
            np.take(exact, index, out=cells, mode="clip")  # indices are in range by construction
    out[:, :edge] = pre
    out[:, row_end:] = suf
    out[:, row_end - 1] = ord("]")
    return out.reshape(-1)
