"""What the routes call: check a request against the registry and models, and build the
response bytes (run off the event loop by the InferenceRunner)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from models.errors import TextError
from models.influence import MAX_INFLUENCE_TOKENS, METHODS, influence
from models.lm import LanguageModel
from models.spec import DEFAULT_TOP_K, MAX_TOP_K, registry_dict
from models.tokenizer import Tokens
from models.translation import TranslationModel

from .errors import ProblemError, problem_body, text_facts
from .jsonfloat import round_floats
from .registry import Entry, Model, Registry
from .schemas import CompareRequest, InfluenceRequest, TraceOptions
from .serialize import Selection, dumps, encode_array, model_trace_payload, tokens_payload
from .settings import Settings


def model_info(entry: Entry, registry: Registry) -> dict[str, Any]:
    m = entry.model
    task = "translation" if entry.name in registry.translation_models else "language-model"
    if m is None:
        return {"name": entry.name, "family": None, "available": False, "task": task, "reason": entry.reason}
    spec = m.spec
    card = {k: v for k, v in m.card.items() if k not in ("config", "history")}
    return {
        "name": m.name,
        "family": spec.architecture,
        "available": True,
        "task": task,
        "n_params": m.n_params,
        "n_layers": spec.n_layers,
        "n_heads": spec.n_heads,
        "d_model": spec.width,
        "n_ctx": spec.n_ctx,
        "parts": list(spec.parts),
        "gates": list(spec.gates),
        "tokenizer": registry.tokenizer_id
        if isinstance(m, LanguageModel)
        else f"enfr-bpe-{m.tokenizer.vocab_size}",
        "spec": spec.to_dict(),
        "card": card,
    }


def models_payload(registry: Registry) -> dict[str, Any]:
    return {
        "api_version": "v1",
        "parts": registry_dict(),
        "default_top_k": DEFAULT_TOP_K,
        "max_top_k": MAX_TOP_K,
        "influence": {"methods": list(METHODS), "max_tokens": MAX_INFLUENCE_TOKENS},
        "models": [model_info(e, registry) for e in registry.entries.values()],
    }


def get_model(registry: Registry, name: str) -> LanguageModel:
    """The language model ``name``: 404 if unknown, 503 if unavailable, 422 if it translates."""
    model = _available(registry, name)
    if not isinstance(model, LanguageModel):
        raise ProblemError(
            422,
            "Not a language model",
            f"model {name!r} translates English to French; use POST /api/v1/translate, "
            f"or one of the language models: {', '.join(registry.language_models)}",
            "wrong-task",
        )
    return model


def get_translator(registry: Registry, name: str) -> TranslationModel:
    """The translation model ``name``: 404 if unknown, 503 if unavailable, 422 if it is a
    language model."""
    model = _available(registry, name)
    if not isinstance(model, TranslationModel):
        raise ProblemError(
            422,
            "Not a translation model",
            f"model {name!r} is a language model; translate with one of: "
            f"{', '.join(registry.translation_models) or '(none installed)'}",
            "wrong-task",
        )
    return model


def _available(registry: Registry, name: str) -> Model:
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
    """The character limit (the schema has already refused empty and blank texts)."""
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


def choose_parts(model: Model, requested: list[str] | None, strict: bool) -> tuple[str, ...]:
    """The parts to send: the model's default ones, or those requested that it has (a part it
    lacks is a 422 when ``strict``, else left out for it), in registry order."""
    have = model.spec.parts
    if requested is None:
        return model.spec.default_parts
    missing = [p for p in requested if p not in have]
    if missing and strict:
        raise ProblemError(
            422,
            "Part not available",
            f"model {model.name!r} has no part {', '.join(missing)}; it has: {', '.join(have)}",
            "bad-parts",
        )
    return tuple(p for p in have if p in requested)


def selection_for(
    model: LanguageModel, opts: TraceOptions, settings: Settings, strict_parts: bool
) -> Selection:
    spec = model.spec
    heads = _check_indices(opts.heads, spec.n_heads, "heads", model.name) if spec.n_heads else None
    return Selection(
        parts=choose_parts(model, opts.parts, strict_parts),
        layers=_check_indices(opts.layers, spec.n_layers, "layers", model.name),
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
            "n_tokens": len(trace.output_tokens),
            "tokenizer": tokenizer_id,
            "tokens": tokens_payload(trace.output_tokens),
            **model_trace_payload(trace, sel, model.tokenizer),
            "encoding": sel.encoding,
            "decimals": sel.decimals,
        }
        return dumps(payload)

    return work


def compare_work(
    models: list[LanguageModel], req: CompareRequest, sels: list[Selection], tokenizer_id: str
) -> Callable[[], bytes]:
    def work() -> bytes:
        """Each model applies its own limits: one that refuses the text (too many tokens for
        its n_ctx) gets an ``error`` entry saying why, and the others are traced; only if
        every model refuses is the whole request refused."""

        def one(i: int, m: LanguageModel) -> tuple[Tokens, dict[str, Any]]:
            t = m.trace(req.text, top_k=req.top_k)
            return t.output_tokens, model_trace_payload(t, sels[i], m.tokenizer)

        tokenizations, entries = each_model(models, req.text, tokenizer_id, "traced", one)
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


def each_model(
    models: list[LanguageModel],
    text: str,
    tokenizer_id: str,
    verb: str,
    one: Callable[[int, LanguageModel], tuple[Tokens, dict[str, Any]]],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run ``one`` for each model; shared tokenisations are stated once. Each model applies
    its own limits: one that refuses the text (e.g. more tokens than its n_ctx) gets an
    ``error`` entry saying why, and the others run; only if every model refuses is the whole
    request refused: a 422 whose facts (``text_facts``) are those of the model that reads the
    most, if the text is too long for every model."""
    tokenizations: dict[str, Any] = {}
    entries: list[dict[str, Any]] = []
    errors: list[str] = []
    longest: dict[str, Any] = {}  # the facts of the refusal with the largest n_ctx
    for i, m in enumerate(models):
        tok_key = tokenizer_id if m.tokenizer is models[0].tokenizer else f"{tokenizer_id}:{m.name}"
        try:
            tokens, entry = one(i, m)
        except TextError as exc:
            errors.append(f"model {m.name!r}: {exc}")
            tokens = m.tokenizer.encode(text)
            facts = {"n_ctx": m.n_ctx, **text_facts(exc)}
            if "n_tokens" in facts and facts["n_ctx"] > longest.get("n_ctx", 0):
                longest = facts
            problem = problem_body(422, f"Text cannot be {verb}", errors[-1], "bad-text", **facts)
            entry = {"model": m.name, "family": m.spec.architecture, "error": problem}
        tokenizations.setdefault(tok_key, {"n_tokens": len(tokens), **tokens_payload(tokens)})
        entries.append({**entry, "tokenizer": tok_key})
    if len(errors) == len(models):
        raise ProblemError(422, f"Text cannot be {verb}", "; ".join(errors), "bad-text", **longest)
    return tokenizations, entries


def influence_work(
    models: list[LanguageModel], req: InfluenceRequest, decimals: int, tokenizer_id: str
) -> Callable[[], bytes]:
    enc = req.encoding

    def one(_: int, m: LanguageModel) -> tuple[Tokens, dict[str, Any]]:
        inf = influence(m, req.text, req.method)
        entry: dict[str, Any] = {
            "model": m.name,
            "family": m.spec.architecture,
            "influence": encode_array(inf.values, enc, decimals, causal=True, unit=False),
            "grad_norm": None
            if inf.grad_norm is None
            else encode_array(inf.grad_norm, enc, decimals, causal=True, unit=False),
            "logp": round_floats(inf.logp, decimals),
            "neutral_token": inf.neutral_id,
        }
        return inf.tokens, entry

    def work() -> bytes:
        tokenizations, entries = each_model(models, req.text, tokenizer_id, "measured", one)
        return dumps(
            {
                "api_version": "v1",
                "text": req.text,
                "method": req.method,
                "max_tokens": MAX_INFLUENCE_TOKENS,
                "tokenizations": tokenizations,
                "models": entries,
                "encoding": enc,
                "decimals": decimals,
            }
        )

    return work
