"""English -> French translation: one or several models on one sentence, each with its
output, alignments (cross-attention), self-attention, decoder states, token probabilities
and the beam's alternatives; or a given French sentence scored and aligned (forced)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from models.errors import TextError
from models.translation import Translation, TranslationModel

from ..budget import OutboxResponse, check_budget, estimate_bytes
from ..deps import OutboxDep, RegistryDep, RunnerDep, SettingsDep
from ..errors import problem_body
from ..schemas import TranslateRequest
from ..serialize import Selection, dumps, parts_payload, predictions_payload, tokens_payload
from ..service import check_text, choose_parts, get_translator
from .api import ERRORS

router = APIRouter(prefix="/api/v1", tags=["translate"])


def translation_payload(result: Translation, sel: Selection, model: TranslationModel) -> dict[str, Any]:
    trace = result.trace
    return {
        "model": result.model,
        "family": trace.spec.architecture,
        "translation": result.text,
        "finished": result.finished,
        "forced": result.beam == 0,
        "beam": result.beam,
        "log_prob": result.log_prob,
        "token_probs": result.token_probs,
        "tokens": {role: tokens_payload(tokens) for role, tokens in trace.tokens.items()},
        "alternatives": [
            {"text": a.text, "score": a.score, "log_prob": a.log_prob, "finished": a.finished, "ids": a.ids}
            for a in result.alternatives
        ],
        "parts": parts_payload(trace, sel),
        "predictions": predictions_payload(trace, model.tokenizer, sel.decimals)
        if "predictions" in sel.parts
        else None,
    }


def translate_work(
    req: TranslateRequest, models: list[TranslationModel], sels: list[Selection]
) -> Callable[[], bytes]:
    def work() -> bytes:
        entries: list[dict[str, Any]] = []
        errors: list[str] = []
        for model, sel in zip(models, sels, strict=True):
            try:
                if req.target is not None:
                    result = model.force(req.text, req.target, top_k=req.top_k)
                else:
                    result = model.translate(req.text, beam=req.beam, max_len=req.max_len, top_k=req.top_k)
            except TextError as exc:  # one model's limit: the others still translate
                errors.append(f"model {model.name!r}: {exc}")
                problem = problem_body(
                    422, "Text cannot be translated", errors[-1], "bad-text", n_ctx=model.spec.n_ctx
                )
                entries.append({"model": model.name, "family": model.spec.architecture, "error": problem})
                continue
            entries.append(translation_payload(result, sel, model))
        if len(errors) == len(models):
            raise TextError("; ".join(errors))
        return dumps(
            {
                "api_version": "v1",
                "text": req.text,
                "target": req.target,
                "models": entries,
                "encoding": sels[0].encoding,
                "decimals": sels[0].decimals,
                "data_credit": "manythings.org/anki and tatoeba.org (CC-BY 2.0)",
            }
        )

    return work


@router.post("/translate", responses=ERRORS)
async def translate(
    req: TranslateRequest, registry: RegistryDep, runner: RunnerDep, settings: SettingsDep, outbox: OutboxDep
) -> Response:
    """Translate English into French with one or more models (greedy or beam search), or
    score and align a given French sentence (`target`): tokens by role, the translation,
    cross-attention [layer, head, target, source], encoder and decoder self-attention, the
    LSTM decoder's states and gates, token probabilities and the beam's alternatives."""
    models = [get_translator(registry, name) for name in req.names]
    check_text(req.text, settings)
    decimals = settings.decimals if req.decimals is None else req.decimals
    sels = [
        Selection(choose_parts(m, req.parts, len(models) == 1), None, None, req.encoding, decimals)
        for m in models
    ]
    sizes = []
    for m, sel in zip(models, sels, strict=True):
        n_source = len(m.tokenizer.encode_ids(req.text)) + 1
        n_target = m.max_target_tokens if req.target is None else len(m.tokenizer.encode_ids(req.target)) + 2
        sizes.append(estimate_bytes(m.spec, max(n_source, n_target), sel, req.top_k))
    check_budget(sizes, settings.max_response_bytes, sels[0])
    key = ("translate", tuple(req.names), req.text, req.target, req.beam, req.max_len, tuple(sels), req.top_k)
    content, info = await runner.run(key, translate_work(req, models, sels))
    headers = {"X-Cache": info["cache"], "Server-Timing": f"infer;dur={info['dur_ms']:.3f}"}
    return OutboxResponse(content, outbox, media_type="application/json", headers=headers)
