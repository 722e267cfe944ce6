"""Settings, read from ``ATTENZIONE_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

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
    cache_max_bytes: int = Field(64 << 20, ge=0, description="Bytes of responses kept in the cache, at most.")
    max_body_bytes: int = Field(65536, ge=1024, description="Largest request body accepted.")
    max_response_bytes: int = Field(
        32 << 20,
        ge=1 << 16,
        description="Largest response a request may ask for; larger ones get 413 before any work.",
    )
    max_pending_bytes: int = Field(
        256 << 20,
        ge=1 << 20,
        description="Bytes of responses being sent at once; past it, 503 until they drain.",
    )
    head_timeout_s: float = Field(
        10.0, gt=0, description="A request's line and headers must arrive within this."
    )
    body_timeout_s: float = Field(
        30.0, gt=0, description="A request's body must arrive within this after its headers."
    )
    write_timeout_s: float = Field(
        30.0, gt=0, description="A client that reads none of its response for this long is disconnected."
    )
    keep_alive_s: int = Field(5, ge=1, description="An idle keep-alive connection is closed after this.")
    graceful_shutdown_s: int = Field(10, ge=0, description="On SIGTERM, requests in flight get this long.")
    max_connections: int = Field(
        1000, ge=1, description="Open connections and requests at once; more get 503."
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        ["localhost", "127.0.0.1", "[::1]", "::1"],
        description='Host headers accepted (the bound host is added); "*" accepts any, e.g. behind a proxy.',
    )
    torch_threads: int = Field(0, ge=0, description="torch intra-op threads; 0 keeps torch's default.")
    telemetry: bool = Field(
        False, description="FastAPI's OpenTelemetry spans, metrics and logs, to the global providers."
    )
    log_level: Literal["critical", "error", "warning", "info", "debug"] = Field("info")

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        """ATTENZIONE_ALLOWED_HOSTS="a.example,b.example" as well as a list."""
        return [h.strip() for h in value.split(",") if h.strip()] if isinstance(value, str) else value

    def hosts(self) -> list[str]:
        """Host names a request may name: the allowed ones and the one the server binds."""
        return ["*"] if "*" in self.allowed_hosts else [*self.allowed_hosts, self.host]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
