"""What the timeline keeps of one Kafka record: an event, or a dead letter with its reason.

Ids are found by FIELD NAME anywhere in the payload (nested objects and lists too), never by
the shape of a value: a payout's `entry_id` and a booking's `booking_id` may look alike, and an
id that merely looks like a uuid is not one of ours. The field list is the one place to add an
id kind the search should find.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ID_FIELDS = (
    "booking_id",
    "group_id",
    "payment_id",
    "refund_id",
    "entry_id",
    "release_id",
    "dispute_id",
    "claim_id",
    "amendment_id",
    "invite_id",
    "transfer_id",
)

# Header names written by eventkit.dead_letters (kept as strings: the domain imports no I/O).
H_TOPIC = "dlt.original.topic"
H_ERROR_TYPE = "dlt.error.type"
H_ERROR_MESSAGE = "dlt.error.message"
H_ATTEMPTS = "dlt.attempts"
H_GROUP = "dlt.consumer.group"
H_FAILED_AT = "dlt.failed.at"
H_REPLAYED_FROM = "replay.from"  # on a replayed copy (eventkit.dlq)
MAX_RAW = 4000  # what a dead letter's undecodable body keeps for the console


def clean(text: str) -> str:
    """Postgres text cannot hold NUL; a poison message may be full of them."""
    return text.replace("\x00", "\ufffd")


def find_ids(data: Any) -> dict[str, list[str]]:
    """Every value of an id field in `data`, by field name, in order, without repeats."""
    found: dict[str, list[str]] = {}
    for name, value in _walk(data):
        if name in ID_FIELDS and isinstance(value, str | int) and str(value):
            values = found.setdefault(name, [])
            if clean(str(value)) not in values:
                values.append(clean(str(value)))
    return found


def _walk(data: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(data, dict):
        for name, value in data.items():
            yield name, value
            yield from _walk(value)
    elif isinstance(data, list):
        for item in data:
            yield from _walk(item)


@dataclass(frozen=True)
class Envelopeish:
    """The envelope fields the timeline keeps; None where a poison message has none."""

    event_id: uuid.UUID | None = None
    type: str | None = None
    version: int | None = None
    producer: str | None = None
    key: str | None = None
    correlation_id: uuid.UUID | None = None
    causation_id: uuid.UUID | None = None
    occurred_at: datetime | None = None
    data: dict[str, Any] = field(default_factory=dict)


def read_envelope(raw: bytes | None) -> Envelopeish:
    """Best effort: a dead letter may be anything, even not JSON (that is why it is one)."""
    try:
        doc = json.loads(raw or b"")
    except (ValueError, UnicodeDecodeError):
        return Envelopeish()
    if not isinstance(doc, dict):
        return Envelopeish()
    data = doc.get("data")
    return Envelopeish(
        event_id=_uuid(doc.get("event_id")),
        type=_str(doc.get("type")),
        version=doc.get("version") if isinstance(doc.get("version"), int) else None,
        producer=_str(doc.get("producer")),
        key=_str(doc.get("key")),
        correlation_id=_uuid(doc.get("correlation_id")),
        causation_id=_uuid(doc.get("causation_id")),
        occurred_at=_time(doc.get("occurred_at")),
        data=data if isinstance(data, dict) else {},
    )


def _str(value: Any) -> str | None:
    return clean(value) if isinstance(value, str) else None


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value is not None else None
    except ValueError:
        return None


def _time(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class DeadLetterFacts:
    """Why and where a message died, from the headers eventkit.dead_letters writes."""

    service: str
    original_topic: str | None
    error_type: str | None
    error_message: str | None
    attempts: int | None
    failed_at: datetime | None


def dead_letter_facts(dlt_topic: str, headers: Sequence[tuple[str, bytes]]) -> DeadLetterFacts:
    h = {k: clean(v.decode(errors="replace")) for k, v in headers}
    attempts = h.get(H_ATTEMPTS, "")
    return DeadLetterFacts(
        # The consumer group names the failing service; the topic name says it too.
        service=h.get(H_GROUP) or dlt_topic.removesuffix(".dlt"),
        original_topic=h.get(H_TOPIC),
        error_type=h.get(H_ERROR_TYPE),
        error_message=h.get(H_ERROR_MESSAGE),
        attempts=int(attempts) if attempts.isdigit() else None,
        failed_at=_time(h[H_FAILED_AT]) if H_FAILED_AT in h else None,
    )


def id_values(ids: dict[str, list[str]]) -> list[str]:
    return sorted({v for values in ids.values() for v in values})
