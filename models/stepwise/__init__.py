"""Step-by-step views of one Transformer attention step and one recurrent step, computed with
the model's own weights and set beside what its trace computed, and the memory horizon of a
gated recurrent layer. Every result is a frozen dataclass of numpy arrays and plain numbers;
nothing is written on the model, so concurrent callers may share it."""

from .attention import AttentionSteps, attention_steps, softmax_with_temperature
from .recurrence import MemoryHorizon, Preactivation, RecurrenceSteps, memory_horizon, recurrence_steps

__all__ = [
    "AttentionSteps",
    "MemoryHorizon",
    "Preactivation",
    "RecurrenceSteps",
    "attention_steps",
    "memory_horizon",
    "recurrence_steps",
    "softmax_with_temperature",
]
