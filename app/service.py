"""What the routes call: check a request against the registry and models, and build the
response bytes (run off the event loop by the InferenceRunner)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from models.errors import TextError
from models.lm import LanguageModel
from models.recurrent import GATES
from models.trace import Trace

from .errors import ProblemError
from .registry import Entry, Registry
from .schemas import CompareRequest, TraceOptions
from .serialize import Selection, dumps, model_trace_payload, tokens_payload
from .settings import Settings

DEFAULT_EXCLUDED = ("logits",)


def model_info(entry: Entry, registry: Registry) -> dict[str, Any]:
    m = entry.model
    if m is None:
        return {
            "name": entry.name,
            "family": entry.name if entry.name in GATES or entry.name == "transformer" else None,
            "available": False,
            "reason": entry.reason,
        }
    cfg = m.config
    card = {k: v for k, v in m.card.items() if k not in ("config", "history")}
    return {
        "name": m.name,
        "family": m.family,
        "available": True,
        "n_params": m.n_params,
        "n_layers": cfg["n_layers"],
        "n_heads": cfg.get("n_heads"),
        "d_model": cfg.get("d_model", cfg.get("d_hidden")),
        "n_ctx": m.n_ctx,
        "parts": list(m.parts),
        "gates": list(GATES.get(m.family, ())),
        "tokenizer": registry.tokenizer_id,
        "card": card,
    }


def get_model(registry: Registry, name: str) -> LanguageModel:
    entry = registry.entries.get(name)
    if entry is None:
        raise ProblemError(
            404,
            "Unknown model",
            f"no model named {name!r}; valid names: {', '.join(registry.names)}",
            "unknown-model",
            valid=registry.names,
        )
    if entry.model is None:
        raise ProblemError(
            503,
            "Model unavailable",
            f"model {name!r} is unavailable: {entry.reason}",
            "model-unavailable",
            headers={"Retry-After": "60"},
        )
    return entry.model


def check_text(text: str, settings: Settings) -> None:
    if not text.strip():
        raise ProblemError(
            422, "Empty text", "text is empty or only whitespace; type a sentence", "empty-text"
        )
    if len(text) > settings.max_text_chars:
        raise ProblemError(
            413,
            "Text too long",
            f"text is {len(text)} characters; the limit is {settings.max_text_chars}. Shorten it.",
            "text-too-long",
            limit=settings.max_text_chars,
            actual=len(text),
        )


def _check_indices(values: list[int] | None, count: int, what: str, model: str) -> tuple[int, ...] | None:
    if values is None:
        return None
    if not values:
        raise ProblemError(
            422, f"No {what} selected", f"{what} is an empty list; omit it to get all {what}", "bad-selection"
        )
    bad = [v for v in values if not 0 <= v < count]
    if bad:
        raise ProblemError(
            422,
            f"{what.capitalize()} out of range",
            f"{what} {bad} out of range: model {model!r} has {what} 0..{count - 1}",
            "bad-selection",
        )
    return tuple(dict.fromkeys(values))


def selection_for(
    model: LanguageModel, opts: TraceOptions, settings: Settings, strict_parts: bool
) -> Selection:
    have = model.parts
    if opts.parts is None:
        parts = tuple(p for p in have if p not in DEFAULT_EXCLUDED)
    else:
        missing = [p for p in opts.parts if p not in have]
        if missing and strict_parts:
            raise ProblemError(
                422,
                "Part not available",
                f"model {model.name!r} has no part {', '.join(missing)}; it has: {', '.join(have)}",
                "bad-parts",
            )
        parts = tuple(p for p in dict.fromkeys(opts.parts) if p in have)
    cfg = model.config
    n_heads = cfg.get("n_heads")
    heads = _check_indices(opts.heads, n_heads, "heads", model.name) if n_heads else None
    return Selection(
        parts=parts,
        layers=_check_indices(opts.layers, cfg["n_layers"], "layers", model.name),
        heads=heads,
        encoding=opts.encoding,
        decimals=settings.decimals if opts.decimals is None else opts.decimals,
    )


def trace_work(
    model: LanguageModel, text: str, sel: Selection, top_k: int, tokenizer_id: str
) -> Callable[[], bytes]:
    def work() -> bytes:
        trace = model.trace(text, top_k=top_k)
        payload = {
            "api_version": "v1",
            "text": text,
            "n_tokens": len(trace.tokens),
            "tokenizer": tokenizer_id,
            "tokens": tokens_payload(trace),
            **model_trace_payload(trace, sel, model.tokenizer),
            "encoding": sel.encoding,
            "decimals": sel.decimals,
        }
        return dumps(payload)

    return work


def _trace_named(model: LanguageModel, text: str, top_k: int) -> Trace:
    """``model.trace``, with a text error saying which of the compared models refused it."""
    try:
        return model.trace(text, top_k=top_k)
    except TextError as exc:
        raise TextError(f"model {model.name!r}: {exc}") from exc


def compare_work(
    models: list[LanguageModel], req: CompareRequest, sels: list[Selection], tokenizer_id: str
) -> Callable[[], bytes]:
    def work() -> bytes:
        traces = [_trace_named(m, req.text, req.top_k) for m in models]
        tokenizations: dict[str, Any] = {}
        entries = []
        for m, t, sel in zip(models, traces, sels, strict=True):
            tok_key = tokenizer_id if m.tokenizer is models[0].tokenizer else f"{tokenizer_id}:{m.name}"
            tokenizations.setdefault(tok_key, {"n_tokens": len(t.tokens), **tokens_payload(t)})
            entries.append({**model_trace_payload(t, sel, m.tokenizer), "tokenizer": tok_key})
        return dumps(
            {
                "api_version": "v1",
                "text": req.text,
                "tokenizations": tokenizations,
                "models": entries,
                "encoding": sels[0].encoding,
                "decimals": sels[0].decimals,
            }
        )

    return work
