"""What a response may cost: its size is estimated before any work (413 above the limit,
saying which options to drop), and the bytes of responses being sent are bounded in total
(503 while the server holds too many for slow readers)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from models.spec import PARTS_BY_NAME, ModelSpec

from .errors import ProblemError
from .serialize import Selection

CHUNK = 1 << 20  # bytes per body message: the server's flow control acts between them


def _value_bytes(encoding: str, decimals: int) -> float:
    """Upper bound of the bytes one float takes on the wire."""
    if encoding == "json":
        return decimals + 7  # "-123.4567," with 4 decimals
    return {"f16": 2, "u8": 1}[encoding] * 4 / 3  # base64


def estimate_bytes(spec: ModelSpec, n_tokens: int, sel: Selection, top_k: int) -> int:
    """An upper bound of a trace response's size, from the spec and the selection alone."""
    t = n_tokens
    layers = len(sel.layers) if sel.layers is not None else spec.n_layers
    per_value = _value_bytes(sel.encoding, sel.decimals)
    values = 0.0
    for name in sel.parts:
        group = PARTS_BY_NAME[name].group
        if group == "attention":
            for kind in spec.attention:
                heads = len(sel.heads) if sel.heads is not None else kind.n_heads
                cells = t * t if not kind.causal or sel.encoding == "json" else t * (t + 1) / 2
                values += min(layers, kind.n_layers) * heads * cells
        elif group == "states":
            values += layers * t * spec.width
        elif group == "gates":
            values += len(spec.gates) * layers * t * spec.width
        elif group == "logits":
            values += t * spec.d_vocab
    predictions = t * (top_k * 40 + 40) if "predictions" in sel.parts else 0  # id, string, prob; two floats
    tokens = t * 60  # id, display string, span
    return math.ceil(values * per_value + predictions + tokens + 4096)


def check_budget(estimates: Sequence[int], limit: int, sel: Selection) -> None:
    """413 if the response would exceed ``limit``, naming what to drop."""
    total = sum(estimates)
    if total <= limit:
        return
    hints = []
    if "logits" in sel.parts:
        hints.append("leave out logits")
    if sel.encoding == "json":
        hints.append('use encoding "f16" or "u8"')
        if sel.decimals > 4:
            hints.append("fewer decimals")
    if sel.layers is None:
        hints.append("select layers")
    if sel.heads is None and "attention" in sel.parts:
        hints.append("select heads")
    hints.append("ask for fewer parts or a shorter text")
    raise ProblemError(
        413,
        "Response too large",
        f"this response would be about {total / 1e6:.1f} MB; the limit is {limit / 1e6:.1f} MB. "
        f"To fit: {'; '.join(hints)}.",
        "response-too-large",
        limit=limit,
        estimate=total,
    )


class Outbox:
    """The bytes of responses being sent, bounded in total: a slow or stalled reader holds
    its response's bytes until it has read them (or the server cuts it off), so without a
    bound a few clients that do not read could pin any amount of memory."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0

    def reserve(self, n: int) -> None:
        if self.held and self.held + n > self.limit:
            raise ProblemError(
                503,
                "Server busy",
                "the server is still sending other large responses; retry in a moment",
                "busy",
                headers={"Retry-After": "1"},
            )
        self.held += n

    def release(self, n: int) -> None:
        self.held -= n


class OutboxResponse(Response):
    """A response whose bytes count against the ``Outbox`` until they are sent, sent in
    chunks so that a client that does not read stops the sending (and is cut off by the
    server's write deadline) instead of having the whole body queued for it."""

    def __init__(self, content: bytes, outbox: Outbox, **kwargs: object) -> None:
        super().__init__(content, **kwargs)  # type: ignore[arg-type]
        outbox.reserve(len(self.body))
        self.outbox = outbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = self.body
        try:
            await send(
                {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
            )
            for start in range(0, max(len(body), 1), CHUNK):
                more = start + CHUNK < len(body)
                await send(
                    {"type": "http.response.body", "body": body[start : start + CHUNK], "more_body": more}
                )
        finally:
            self.outbox.release(len(body))
