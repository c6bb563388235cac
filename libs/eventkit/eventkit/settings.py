"""Settings every service shares; each service subclasses with its own env prefix."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings


class ServiceSettings(BaseSettings):
    database_url: str
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    kafka_bootstrap: str = Field(
        default="127.0.0.1:9092", validation_alias=AliasChoices("KAFKA_BOOTSTRAP")
    )
    consumer_max_attempts: int = Field(default=5, ge=1)
    consumer_backoff_base: float = Field(default=0.2, gt=0)
    consumer_batch_size: int = Field(default=500, ge=1)
    # FastStream sleeps this long again after an empty batch poll, so it bounds the latency
    # each saga hop adds when idle (its 200 ms default put saga p99 at ~750 ms).
    consumer_poll_ms: int = Field(default=20, ge=1)
    relay_batch_size: int = Field(default=2000, ge=1)
    log_level: str = "INFO"
