"""Errors as ``application/problem+json`` (RFC 9457), each with a message saying what to change."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from models.errors import MissingPartError, OptionError, TextError, TooLongError

from .serialize import dumps

PROBLEM = "application/problem+json"


class ProblemError(Exception):
    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        kind: str,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.kind = status, title, detail, kind
        self.headers = headers or {}
        self.extra = extra


def problem_body(status: int, title: str, detail: str, kind: str, **extra: Any) -> dict[str, Any]:
    """An RFC 9457 problem as a dict (a response body, or an entry's ``error``)."""
    return {
        "type": f"urn:attenzione:problem:{kind}",
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }


def text_facts(exc: TextError) -> dict[str, Any]:
    """What a page needs to offer a way out of a text that is too long: the token count the
    server used, the model's n_ctx and, where known, how many characters of the text fit."""
    if not isinstance(exc, TooLongError):
        return {}
    facts = {"n_tokens": exc.n_tokens, "n_ctx": exc.n_ctx}
    return facts if exc.fits_chars is None else {**facts, "fits_chars": exc.fits_chars}


def problem_response(
    status: int, title: str, detail: str, kind: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    body = problem_body(status, title, detail, kind, **extra)
    return Response(dumps(body), status_code=status, media_type=PROBLEM, headers=headers)


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc if p != "body") or "body"


def describe_validation(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    errors = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            reason = str(err.get("ctx", {}).get("error", "parse error"))
            msg = f"request body is not valid JSON: {reason}"
            if "hex escape" in reason or "surrogate" in reason:
                msg += (
                    "; a \\uD800-\\uDFFF escape is half of a UTF-16 surrogate pair and is not text"
                    " on its own: send the whole pair, or the character as UTF-8"
                )
            errors.append({"field": "body", "message": msg})
        else:
            errors.append({"field": _loc(err.get("loc", ())), "message": err.get("msg", "invalid")})
    detail = "; ".join(
        f"{e['field']}: {e['message']}" if e["field"] != "body" else e["message"] for e in errors
    )
    return detail, errors


def install(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(_: Request, exc: ProblemError) -> Response:
        return problem_response(exc.status, exc.title, exc.detail, exc.kind, exc.headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> Response:
        detail, errors = describe_validation(exc)
        return problem_response(422, "Invalid request", detail, "invalid-request", errors=errors)

    @app.exception_handler(TextError)
    async def _text(_: Request, exc: TextError) -> Response:
        return problem_response(422, "Text cannot be traced", str(exc), "bad-text", **text_facts(exc))

    @app.exception_handler(OptionError)
    async def _option(_: Request, exc: OptionError) -> Response:
        return problem_response(422, "Option out of range", str(exc), "bad-option", field=exc.name)

    @app.exception_handler(MissingPartError)
    async def _missing(_: Request, exc: MissingPartError) -> Response:
        return problem_response(422, "Not available for this model", str(exc), "missing-part")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Not found", 405: "Method not allowed"}
        detail = str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = "no such page or endpoint; see /docs for the API"
        elif exc.status_code == 400 and detail == "There was an error parsing the body":  # not UTF-8
            detail = "request body is not JSON text: send a JSON object encoded as UTF-8"
        return problem_response(
            exc.status_code,
            titles.get(exc.status_code, "HTTP error"),
            detail,
            "http",
            dict(exc.headers or {}),
        )
