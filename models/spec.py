"""What a network declares about itself: the part registry and the frozen model spec.

Everything downstream (the trace, the API's schemas and serialisation, ``/api/v1/models``
and the browser pages) reads a model's facts from its ``ModelSpec`` and the part registry
``PARTS``, never from its name or a config dict.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Group = Literal["attention", "states", "gates", "predictions", "logits"]
Role = Literal["input", "source", "target"]

DEFAULT_TOP_K = 5  # next-token candidates per position, everywhere a caller gives none
MAX_TOP_K = 50


@dataclass(frozen=True)
class Part:
    """One kind of array a trace can carry."""

    name: str  # as requests name it
    group: Group  # how it is stored on a ``Trace`` and sent
    layout: str  # axes of each array, outermost first
    default: bool  # sent when a request names no parts
    label: str  # display name


PARTS: tuple[Part, ...] = (
    Part("attention", "attention", "{kind: [layer, head, query, key]}", True, "Attention"),
    Part("resid", "states", "[layer, position, d_model]", True, "Residual stream"),
    Part("h", "states", "[layer, position, d_hidden]", True, "Hidden state h"),
    Part("c", "states", "[layer, position, d_hidden]", True, "Cell state c"),
    Part("gates", "gates", "{gate: [layer, position, d_hidden]}", True, "Gates"),
    Part("predictions", "predictions", "top-k, surprisal and entropy per position", True, "Predictions"),
    Part("logits", "logits", "[position, d_vocab]", False, "Logits"),
)
PART_NAMES: tuple[str, ...] = tuple(p.name for p in PARTS)
PARTS_BY_NAME: dict[str, Part] = {p.name: p for p in PARTS}


@dataclass(frozen=True)
class AttentionKind:
    """One kind of attention a model exposes, as [n_layers, n_heads, query, key] arrays."""

    name: str  # "self"; later "encoder_self", "decoder_self", "cross"
    causal: bool  # keys after the query are masked: the upper triangle is exactly 0
    query_role: Role  # the token sequence the queries run over
    key_role: Role  # the token sequence the keys run over
    n_layers: int
    n_heads: int


@dataclass(frozen=True)
class ModelSpec:
    """The facts a network declares: its architecture, sizes, gates, parts and attention."""

    architecture: str  # "transformer", "lstm", "gru", "rnn"
    n_layers: int
    n_heads: int | None  # None for models without attention heads
    width: int  # d_model (residual stream) or d_hidden (recurrent state)
    n_ctx: int  # longest token sequence accepted
    d_vocab: int
    parts: tuple[str, ...]  # names from PARTS, in registry order
    gates: tuple[str, ...] = ()
    attention: tuple[AttentionKind, ...] = ()
    roles: tuple[Role, ...] = ("input",)  # the token sequences a trace carries
    output_role: Role = "input"  # the sequence states, gates and predictions run over

    def __post_init__(self) -> None:
        unknown = [p for p in self.parts if p not in PARTS_BY_NAME]
        if unknown:
            raise ValueError(f"unknown parts {unknown}; the registry has {PART_NAMES}")
        if tuple(sorted(self.parts, key=PART_NAMES.index)) != self.parts:
            raise ValueError("parts must follow the registry order")
        if ("attention" in self.parts) != bool(self.attention):
            raise ValueError("a model has the attention part exactly when it declares attention kinds")
        if ("gates" in self.parts) != bool(self.gates):
            raise ValueError("a model has the gates part exactly when it declares gate names")
        for kind in self.attention:
            if kind.query_role not in self.roles or kind.key_role not in self.roles:
                raise ValueError(f"attention {kind.name!r} runs over a role the model lacks")

    def attention_kind(self, name: str) -> AttentionKind:
        for kind in self.attention:
            if kind.name == name:
                return kind
        raise KeyError(name)

    @property
    def default_parts(self) -> tuple[str, ...]:
        return tuple(p for p in self.parts if PARTS_BY_NAME[p].default)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data: tuples become lists."""
        out = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


def registry_dict() -> list[dict[str, Any]]:
    """The part registry as plain data (for the API and the pages)."""
    return [asdict(p) for p in PARTS]
