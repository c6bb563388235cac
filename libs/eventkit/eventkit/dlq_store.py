"""Kafka plumbing of `eventkit.dlq`: read every partition of a topic, keep ops' decisions.

What ops decided about a dead letter lives in the compacted topic `<service>.dlt-notes`, keyed
by the dead letter's `PARTITION:OFFSET`: the CLI has only Kafka, and a compacted topic keeps the
latest decision per dead letter for as long as it matters. A note remembers the dead letter's
timestamp and applies only to a record with that timestamp, so a dead-letter topic deleted and
created again (offsets restarting at 0) does not inherit the old topic's decisions.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord

from eventkit.producer import durable_producer
from marketplace_contracts import CATALOGUE
from marketplace_contracts.topics import SERVICES

PENDING, REPLAYED, SKIPPED = "pending", "replayed", "skipped"
STATES = (PENDING, REPLAYED, SKIPPED)


class AdminError(Exception):
    """A refusal the operator can act on; nothing was changed. `code` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Note:
    """The latest decision about one dead letter."""

    state: str  # replayed | skipped
    at: datetime
    actor: str | None = None
    note: str | None = None
    letter_timestamp: int | None = None

    def to_bytes(self) -> bytes:
        body = {
            "state": self.state,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "note": self.note,
            "letter_timestamp": self.letter_timestamp,
        }
        return json.dumps(body).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Note | None:
        """None for a tombstone or a record this module did not write."""
        try:
            body = json.loads(raw)
            return cls(
                state=body["state"],
                at=datetime.fromisoformat(body["at"]),
                actor=body.get("actor"),
                note=body.get("note"),
                letter_timestamp=body.get("letter_timestamp"),
            )
        except (ValueError, TypeError, KeyError):
            return None


def note_key(partition: int, offset: int) -> str:
    return f"{partition}:{offset}"


async def partitions_of(bootstrap: str, topic: str) -> list[int]:
    """The topic's partitions; AdminError if it does not exist (only existing topics are
    described, so a broker that auto-creates topics does not create it here)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            hint = (
                "`python -m eventkit.admin create-topics` creates it"
                if topic in CATALOGUE
                else f"no topic of the catalogue; the services with dead letters: "
                f"{', '.join(SERVICES)}"
            )
            raise AdminError("topic_missing", f"{topic} does not exist on {bootstrap} ({hint})")
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(p["partition"] for p in described["partitions"])


@asynccontextmanager
async def open_topic(
    bootstrap: str, topic: str
) -> AsyncIterator[tuple[AIOKafkaConsumer, list[TopicPartition]]]:
    """A group-less consumer assigned every partition of `topic`."""
    partitions = [TopicPartition(topic, p) for p in await partitions_of(bootstrap, topic)]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        yield consumer, partitions
    finally:
        await consumer.stop()


async def read_topic(bootstrap: str, topic: str) -> list[ConsumerRecord]:
    """Every record of every partition of `topic` up to the end offsets seen when reading
    began (one written meanwhile waits for the next read)."""
    async with open_topic(bootstrap, topic) as (consumer, partitions):
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord] = []
        while await _behind(consumer, end):
            for tp, batch in (await consumer.getmany(*partitions, timeout_ms=1000)).items():
                records.extend(r for r in batch if r.offset < end[tp])
    return records


async def _behind(consumer: AIOKafkaConsumer, end: dict[TopicPartition, int]) -> bool:
    for tp, offset in end.items():
        if await consumer.position(tp) < offset:
            return True
    return False


async def read_notes(bootstrap: str, topic: str) -> dict[str, Note]:
    """The latest note per dead letter (records are read in offset order: later wins)."""
    notes: dict[str, Note] = {}
    for record in sorted(await read_topic(bootstrap, topic), key=lambda r: r.offset):
        key = (record.key or b"").decode(errors="replace")
        note = Note.from_bytes(record.value) if record.value else None
        if note is None:
            notes.pop(key, None)
        else:
            notes[key] = note
    return notes


@asynccontextmanager
async def producer_for(bootstrap: str, client_id: str) -> AsyncIterator[AIOKafkaProducer]:
    producer = durable_producer(bootstrap, client_id=client_id)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


def now() -> datetime:
    return datetime.now(UTC)


def as_text(raw: bytes | None, limit: int | None = None) -> str:
    return (raw or b"")[:limit].decode(errors="replace")


def header_map(record: ConsumerRecord) -> dict[str, str]:
    return {k: v.decode(errors="replace") for k, v in (record.headers or ())}


def envelope_fields(raw: bytes | None) -> dict[str, Any]:
    """`type` and `event_id` of an envelope, best effort: a poison message has neither."""
    try:
        body = json.loads(raw or b"")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
