"""Settings, read from ``ATTENZIONE_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.checkpoint import CHECKPOINT_DIR


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ATTENZIONE_", extra="ignore")

    host: str = Field("127.0.0.1", description="Interface to listen on.")
    port: int = Field(
        8000,
        ge=1,
        le=65535,
        description="TCP port; a plain PORT variable (the container convention) also works.",
        validation_alias=AliasChoices("attenzione_port", "port"),
    )
    models_dir: Path = Field(CHECKPOINT_DIR, description="Folder of built-in checkpoints and tokenizer.")
    max_text_chars: int = Field(4000, ge=1, description="Longest text accepted, in characters.")
    max_concurrency: int = Field(2, ge=1, description="Inferences run at once; more wait.")
    queue_timeout_s: float = Field(2.0, ge=0, description="How long a request waits for a slot before 503.")
    decimals: int = Field(4, ge=0, le=8, description="Default float decimals in JSON encoding.")
    cache_size: int = Field(256, ge=0, description="Responses kept in the LRU cache; 0 turns it off.")
    max_body_bytes: int = Field(65536, ge=1024, description="Largest request body accepted.")
    torch_threads: int = Field(0, ge=0, description="torch intra-op threads; 0 keeps torch's default.")
    telemetry: bool = Field(
        False, description="FastAPI's OpenTelemetry spans, metrics and logs, to the global providers."
    )
    log_level: Literal["critical", "error", "warning", "info", "debug"] = Field("info")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
