"""Request and response schemas of the JSON API v1 (pydantic). Responses are written with
orjson for speed; these classes document them in OpenAPI."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from models.generate import MAX_NEW_TOKENS
from models.spec import DEFAULT_TOP_K, MAX_TOP_K, PART_NAMES

if TYPE_CHECKING:
    PartName = str
else:
    PartName = Literal[PART_NAMES]  # the part registry's names, generated
EncodingName = Literal["json", "f16", "u8"]


def _integral(value: object) -> object:
    """JSON has one number type and JSON Schema calls 3.0 an integer, so it is 3 here too;
    2.5, true and "3" stay refused (strict mode: no other coercion)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


# Bounds first, then the validator: that order keeps them as minimum/maximum in the JSON schema.
Index = Annotated[int, Field(ge=0, le=1023), BeforeValidator(_integral)]
TopK = Annotated[int, Field(ge=1, le=MAX_TOP_K), BeforeValidator(_integral)]
Decimals = Annotated[int, Field(ge=0, le=8), BeforeValidator(_integral)]
NewTokens = Annotated[int, Field(ge=1, le=MAX_NEW_TOKENS), BeforeValidator(_integral)]
SampleTopK = Annotated[int, Field(ge=1, le=1 << 20), BeforeValidator(_integral)]
Seed = Annotated[int, Field(ge=0, le=2**53), BeforeValidator(_integral)]
ModelName = Annotated[
    str, Field(min_length=1, max_length=100, description="A model name from GET /api/v1/models.")
]
MAX_TEXT_CHARS = 4000  # the schema's statement of the default limit (settings.max_text_chars enforces it)


# JSON Schema's "\S" (ECMA-262): anything but these; Python's str.isspace() differs (it also
# counts \x1c-\x1f and \x85), so the check is written out to match what the schema says.
_NOT_BLANK = re.compile("[^\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]")


def _not_blank(text: str) -> str:
    if not _NOT_BLANK.search(text):
        raise ValueError("text is empty or only whitespace; type a sentence")
    return text


Text = Annotated[
    str,
    AfterValidator(_not_blank),
    Field(
        description=f"The text: at least one non-space character, at most {MAX_TEXT_CHARS} characters by default "
        "(a longer one gets 413), and no more tokens than the model's n_ctx.",
        json_schema_extra={"minLength": 1, "maxLength": MAX_TEXT_CHARS, "pattern": r"\S"},
    ),
]


class StrictRequest(BaseModel):
    """Request bodies: no unknown fields, no type coercion (1.0, "1" and true are not 1)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class TraceOptions(StrictRequest):
    parts: list[PartName] | None = Field(
        None,
        min_length=1,
        max_length=len(PART_NAMES),
        description="Parts to return (omit for the default: every part the model has except `logits`, "
        "T x vocabulary floats). `predictions` is the top-k, surprisal and entropy.",
    )
    layers: list[Index] | None = Field(
        None, min_length=1, max_length=64, description="Layer indices to keep (omit for all)."
    )
    heads: list[Index] | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="Attention heads to keep (omit for all); models without attention ignore it.",
    )
    top_k: TopK = Field(DEFAULT_TOP_K, description="Next-token candidates per position.")
    encoding: EncodingName = Field(
        "json",
        description="`json`: nested arrays rounded to `decimals`. `f16`: base64 little-endian float16. "
        "`u8`: base64 uint8 codes, value = offset + scale * code. Causal attention in f16/u8 "
        'sends only the lower triangle (`layout: "causal_lower"`).',
    )
    decimals: Decimals | None = Field(None, description="Decimals for JSON floats (default from settings).")


class TraceRequest(TraceOptions):
    model: ModelName
    text: Text

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": "transformer",
                    "text": "The cat sat on the mat.",
                    "parts": ["attention", "predictions"],
                },
                {"model": "lstm", "text": "It was the best of times.", "layers": [1], "encoding": "f16"},
            ]
        },
    )


def _distinct(names: list[str]) -> list[str]:
    if len(set(names)) != len(names):
        raise ValueError(f"models must be distinct; got {names}")
    return names


# Up to four distinct model names (each request sets its own least number).
ModelNames = Annotated[
    list[ModelName], AfterValidator(_distinct), Field(max_length=4, json_schema_extra={"uniqueItems": True})
]


class CompareRequest(TraceOptions):
    models: ModelNames = Field(..., min_length=2, description="2 to 4 distinct model names.")
    text: Text

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"models": ["transformer", "lstm"], "text": "The cat sat on the mat.", "layers": [0]},
            ]
        },
    )


class InfluenceRequest(StrictRequest):
    models: ModelNames = Field(..., min_length=1, description="1 to 4 distinct language models.")
    text: Text
    method: Literal["gradient", "occlusion"] = Field(
        "gradient",
        description="gradient: gradient x input, <d log p(x_{t+1}) / d e_s, e_s> (with the gradient's norm); "
        "occlusion: the change in log p(x_{t+1}) when token s is replaced by a neutral token.",
    )
    encoding: EncodingName = Field(
        "json", description='As for /trace: f16 and u8 send the lower triangle (`layout: "causal_lower"`).'
    )
    decimals: Decimals | None = Field(None, description="Decimals for JSON floats (default from settings).")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "models": ["transformer", "lstm"],
                    "text": "The keys to the cabinet are",
                    "method": "gradient",
                },
                {
                    "models": ["gru"],
                    "text": "It was the best of times.",
                    "method": "occlusion",
                    "encoding": "f16",
                },
            ]
        }
    )


class EncodedArray(BaseModel):
    shape: list[int]
    encoding: EncodingName
    data: Any = Field(..., description="Nested arrays (json) or a base64 string (f16, u8).")
    dtype: Literal["float16", "uint8"] | None = None
    layout: Literal["dense", "causal_lower"] | None = None
    scale: float | None = None
    offset: float | None = None


class TokensPublic(BaseModel):
    ids: list[int]
    strings: list[str] = Field(..., description="Display strings: '␣' is a space, '↵' a newline.")
    spans: list[list[int]] = Field(..., description="[start, end) character offsets into the text.")


class PredictionsPublic(BaseModel):
    top_ids: list[list[int]] = Field(..., description="[T, k]: row t ranks the token after position t.")
    top_strings: list[list[str]]
    top_probs: list[list[float]]
    surprisal_bits: list[float | None] = Field(
        ..., description="-log2 p(actual next token); null at the end."
    )
    entropy_bits: list[float]
    mean_surprisal_bits: float | None


class ModelTracePublic(BaseModel):
    model: str
    family: str
    layers: list[int]
    heads: list[int] | None
    parts: dict[str, Any] = Field(
        ...,
        description="attention: {self: [layer, head, query, key]}; resid, h, c: [layer, position, dim]; "
        "gates: {i,f,g,o | r,z,n: [layer, position, dim]}; logits: [position, vocab].",
    )
    predictions: PredictionsPublic | None


class TraceResponse(ModelTracePublic):
    api_version: Literal["v1"]
    text: str
    n_tokens: int
    tokenizer: str
    tokens: TokensPublic
    encoding: EncodingName
    decimals: int


class TokenizationPublic(TokensPublic):
    n_tokens: int


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    n_tokens: int | None = Field(None, description="A text over the model's context: its length in tokens.")
    n_ctx: int | None = Field(None, description="A text over the model's context: the most tokens it reads.")
    fits_chars: int | None = Field(
        None,
        description="A text over the model's context: its first `fits_chars` characters (Unicode code "
        "points) are the longest prefix, cut at a token boundary, with at most `n_ctx` tokens.",
    )


class CompareModelPublic(BaseModel):
    model: str
    family: str
    tokenizer: str = Field(..., description="Key into `tokenizations`.")
    layers: list[int] | None = None
    heads: list[int] | None = None
    parts: dict[str, Any] | None = Field(None, description="As in a trace; absent when `error` says why.")
    predictions: PredictionsPublic | None = None
    error: Problem | None = Field(
        None, description="Why this model did not trace the text (e.g. more tokens than its n_ctx)."
    )


class CompareResponse(BaseModel):
    api_version: Literal["v1"]
    text: str
    tokenizations: dict[str, TokenizationPublic] = Field(..., description="Each distinct tokenisation, once.")
    models: list[CompareModelPublic]
    encoding: EncodingName
    decimals: int


class InfluenceModelPublic(BaseModel):
    model: str
    family: str
    tokenizer: str = Field(..., description="Key into `tokenizations`.")
    influence: EncodedArray | None = Field(
        None,
        description="[T, T]: row t is the prediction of token t+1, column s <= t an earlier token; positive: "
        "token s made the actual next token more likely. Above the diagonal exactly 0; the last row, which "
        "predicts nothing, is NaN (null in json).",
    )
    grad_norm: EncodedArray | None = Field(
        None, description="[T, T]: ||d log p(x_{t+1}) / d e_s|| (method gradient only)."
    )
    logp: list[float | None] | None = Field(
        None, description="log p(x_{t+1}) in nats at each position; null at the last."
    )
    neutral_token: int | None = Field(None, description="Occlusion's replacement token id.")
    error: Problem | None = Field(
        None, description="Why this model gave no map (e.g. more tokens than its n_ctx)."
    )


class InfluenceResponse(BaseModel):
    api_version: Literal["v1"]
    text: str
    method: Literal["gradient", "occlusion"]
    max_tokens: int = Field(..., description="The longest text (in tokens) influence maps accept.")
    tokenizations: dict[str, TokenizationPublic]
    models: list[InfluenceModelPublic]
    encoding: EncodingName
    decimals: int


class AttentionKindPublic(BaseModel):
    name: str = Field(..., description='"self", or "encoder_self", "decoder_self", "cross".')
    causal: bool = Field(..., description="Keys after the query are masked (the upper triangle is 0).")
    query_role: str = Field(..., description="The token sequence the queries run over.")
    key_role: str = Field(..., description="The token sequence the keys run over.")
    n_layers: int
    n_heads: int


class SpecPublic(BaseModel):
    architecture: str
    n_layers: int
    n_heads: int | None
    width: int = Field(..., description="Residual width (Transformer) or hidden size (recurrent).")
    n_ctx: int
    d_vocab: int
    parts: list[str]
    gates: list[str]
    attention: list[AttentionKindPublic]
    roles: list[str] = Field(..., description='The token sequences a trace carries ("input").')
    output_role: str


class PartPublic(BaseModel):
    name: str
    group: str
    layout: str
    default: bool = Field(..., description="Sent when a request names no parts.")
    label: str


class ModelInfo(BaseModel):
    name: str
    family: str | None = Field(None, description="The architecture: transformer, lstm, gru or rnn.")
    available: bool
    task: Literal["language-model", "translation"] = Field(
        "language-model", description="What the model does (known even while it is unavailable)."
    )
    reason: str | None = Field(None, description="Why the model is unavailable.")
    n_params: int | None = None
    n_layers: int | None = None
    n_heads: int | None = None
    d_model: int | None = Field(None, description="Residual width (Transformer) or hidden size (recurrent).")
    n_ctx: int | None = None
    parts: list[str] = []
    gates: list[str] = []
    tokenizer: str | None = None
    spec: SpecPublic | None = None
    card: dict[str, Any] | None = None


class ModelsResponse(BaseModel):
    api_version: Literal["v1"]
    parts: list[PartPublic] = Field(..., description="The part registry: every part a trace can carry.")
    default_top_k: int
    max_top_k: int
    influence: dict[str, Any] = Field(
        ..., description="Influence maps: their methods and the longest text (max_tokens) they accept."
    )
    models: list[ModelInfo]


class StepsRequest(StrictRequest):
    model: ModelName
    text: Text
    layer: Index = Field(0, description="The layer to open.")


class AttentionStepsRequest(StepsRequest):
    head: Index = Field(0, description="The head to follow.")
    query: Index | None = Field(None, description="The query token's position (default: the last token).")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"model": "transformer", "text": "The cat sat on the mat.", "layer": 1, "head": 2}]
        }
    )


class RecurrenceStepsRequest(StepsRequest):
    t: Index | None = Field(None, description="The step (token position) to open (default: the last).")
    units: list[Index] | None = Field(
        None, min_length=1, max_length=1024, description="Units to show (default: every unit)."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"model": "lstm", "text": "The cat sat on the mat.", "layer": 1, "t": 3}]
        }
    )


class MemoryRequest(StepsRequest):
    max_distance: Index | None = Field(
        None, description="Largest distance measured (default: the whole text)."
    )


class GenerateRequest(StrictRequest):
    model: ModelName
    prompt: Text
    max_new_tokens: NewTokens = Field(40, description="Tokens to generate at most.")
    strategy: Literal["greedy", "sample"] = Field("greedy", description="Argmax, or a draw from the softmax.")
    temperature: float = Field(1.0, gt=0, le=100, description="Sampling temperature (sample only).")
    top_k: SampleTopK | None = Field(None, description="Sample among the k most likely tokens only.")
    seed: Seed | None = Field(None, description="Seed: the same seed gives the same tokens.")
    stream: bool = Field(
        False, description="Stream one JSON line per token (application/x-ndjson) instead of one JSON answer."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"model": "transformer", "prompt": "It was a dark and stormy night,", "max_new_tokens": 20},
                {
                    "model": "lstm",
                    "prompt": "Once upon a time",
                    "strategy": "sample",
                    "temperature": 0.8,
                    "seed": 7,
                },
            ]
        }
    )


class TranslateRequest(StrictRequest):
    model: ModelName | None = Field(None, description="One translation model (or give `models`).")
    models: (
        Annotated[
            list[ModelName],
            AfterValidator(_distinct),
            Field(min_length=1, max_length=4, json_schema_extra={"uniqueItems": True}),
        ]
        | None
    ) = Field(None, description="Several translation models, side by side (or give `model`).")
    text: Text
    beam: Annotated[int, Field(ge=1, le=8), BeforeValidator(_integral)] = Field(
        1, description="1: greedy search; 2-8: beam search with length normalisation."
    )
    max_len: Annotated[int, Field(ge=1, le=256), BeforeValidator(_integral)] | None = Field(
        None, description="Most output tokens, the end token included (default 2 x source + 10)."
    )
    target: Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS)] | None = Field(
        None, description="A French translation to score and align (forced decoding) instead of searching."
    )
    parts: list[PartName] | None = Field(
        None,
        min_length=1,
        max_length=len(PART_NAMES),
        description="Parts to return (default: every part the model has except `logits`).",
    )
    top_k: TopK = Field(DEFAULT_TOP_K, description="Next-token candidates per target position.")
    encoding: EncodingName = Field("json", description="As for /trace.")
    decimals: Decimals | None = Field(None, description="Decimals for JSON floats (default from settings).")

    model_config = ConfigDict(
        json_schema_extra={
            # Exactly one of "model" and "models" names the models (the validator below).
            "anyOf": [
                {
                    "required": ["model"],
                    "properties": {"model": {"type": "string"}, "models": {"type": "null"}},
                },
                {
                    "required": ["models"],
                    "properties": {"models": {"type": "array"}, "model": {"type": "null"}},
                },
            ],
            "examples": [
                {"model": "transformer-enfr", "text": "I am cold.", "beam": 4},
                {
                    "models": ["transformer-enfr", "lstm-enfr"],
                    "text": "Where is the station?",
                    "encoding": "f16",
                },
                {"model": "lstm-enfr", "text": "I am cold.", "target": "J'ai froid."},
            ],
        }
    )

    @model_validator(mode="after")
    def _one_way_to_name_models(self) -> TranslateRequest:
        if (self.model is None) == (self.models is None):
            raise ValueError('give either "model" (one name) or "models" (a list), not both or neither')
        return self

    @property
    def names(self) -> list[str]:
        return [self.model] if self.model is not None else list(self.models or [])
