"""The envelope every integration event travels in, and the base class of event payloads."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from domainkit.ids import new_uuid


class EventModel(BaseModel):
    """Payload of one event type at one version. Subclasses set TYPE, VERSION and TOPIC."""

    # Tolerant reader: a consumer on an older model ignores fields added compatibly later.
    model_config = ConfigDict(frozen=True, extra="ignore")

    TYPE: ClassVar[str]
    VERSION: ClassVar[int]
    TOPIC: ClassVar[str]


class Envelope(BaseModel):
    """Transport wrapper: identity, ordering key and saga tracing around the payload."""

    # Consumers must accept envelope fields added later in a compatible way.
    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: uuid.UUID = Field(description="Unique id of this event; the consumers' inbox key.")
    type: str = Field(description="Event type, `<producer>.<past_tense_fact>`.")
    version: int = Field(ge=1, description="Version of the payload schema for this type.")
    occurred_at: AwareDatetime = Field(description="When the fact happened, UTC.")
    producer: str = Field(description="Service that produced the event.")
    key: str = Field(description="Aggregate id; also the Kafka message key.")
    correlation_id: uuid.UUID = Field(description="One id per saga, copied onto every event of it.")
    causation_id: uuid.UUID | None = Field(
        default=None, description="event_id of the event that caused this one, if any."
    )
    data: dict[str, Any] = Field(description="The payload, valid against the type's version.")

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        return cls.model_validate_json(raw)


def make_envelope(
    event: EventModel,
    *,
    key: str,
    producer: str,
    correlation_id: uuid.UUID,
    causation_id: uuid.UUID | None = None,
    event_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
) -> Envelope:
    return Envelope(
        event_id=event_id or new_uuid(),
        type=event.TYPE,
        version=event.VERSION,
        occurred_at=occurred_at or datetime.now(UTC),
        producer=producer,
        key=key,
        correlation_id=correlation_id,
        causation_id=causation_id,
        data=event.model_dump(mode="json"),
    )
