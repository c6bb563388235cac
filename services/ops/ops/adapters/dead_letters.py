"""The one place ops calls eventkit.dlq: read a service's dead-letter topic, replay one letter.

Everything ops needs from Kafka's dead letters goes through these functions, so when
eventkit.dlq's Python API grows (filters, pagination, a per-service retry path, notes), only
this file changes. Filtering and paging are done here on the snapshot eventkit.dlq reads (a
dead-letter topic is small: what failed in 30 days).

A replay goes to `<service>.retry` when the topic catalogue has it (only the failing
service's consumer reads it), otherwise to the letter's original topic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka.structs import ConsumerRecord

from eventkit import dlq
from eventkit.producer import durable_producer
from marketplace_contracts.topics import CATALOGUE, SERVICES, dead_letter_topic
from ops.domain.errors import OpsError, invalid, not_found
from ops.domain.timeline import dead_letter_facts, read_envelope


@dataclass(frozen=True)
class DeadLetter:
    service: str
    topic: str
    partition: int
    offset: int
    key: str
    event_id: str | None
    event_type: str | None
    correlation_id: str | None
    original_topic: str | None
    error_type: str | None
    error_message: str | None
    attempts: int | None
    failed_at: datetime | None
    value: str
    record_ts: int  # with its place, what names this letter (a re-created topic reuses offsets)


@dataclass(frozen=True)
class Filters:
    event_type: str | None = None
    error_type: str | None = None
    key: str | None = None

    def admit(self, letter: DeadLetter) -> bool:
        return (
            (self.event_type is None or letter.event_type == self.event_type)
            and (self.error_type is None or letter.error_type == self.error_type)
            and (self.key is None or letter.key == self.key)
        )


def check_service(service: str) -> str:
    if service not in SERVICES:
        raise invalid(f"Unknown service {service!r}: one of {', '.join(SERVICES)}.")
    return service


def _letter(service: str, record: ConsumerRecord) -> DeadLetter:
    described = dlq.describe(record)
    env = read_envelope(record.value)
    facts = dead_letter_facts(dead_letter_topic(service), record.headers or ())
    return DeadLetter(
        service=service,
        topic=dead_letter_topic(service),
        partition=described["partition"],
        offset=described["offset"],
        key=described["key"],
        event_id=str(env.event_id) if env.event_id else None,
        event_type=env.type,
        correlation_id=str(env.correlation_id) if env.correlation_id else None,
        original_topic=facts.original_topic,
        error_type=facts.error_type,
        error_message=facts.error_message,
        attempts=facts.attempts,
        failed_at=facts.failed_at or datetime.fromtimestamp(record.timestamp / 1000, UTC),
        value=described["value"],
        record_ts=record.timestamp,
    )


async def read_letters(bootstrap: str, service: str) -> list[DeadLetter]:
    """Every dead letter of the service, oldest first."""
    topic = dead_letter_topic(check_service(service))
    try:
        async with dlq.open_topic(bootstrap, topic, None) as (consumer, partitions):
            snapshot = await dlq.read_all(consumer, partitions)
    except dlq.AdminError as exc:
        raise OpsError(exc.code, str(exc)) from None
    return [_letter(service, r) for r in snapshot.all()]


async def find(bootstrap: str, service: str, partition: int, offset: int) -> DeadLetter:
    for letter in await read_letters(bootstrap, service):
        if (letter.partition, letter.offset) == (partition, offset):
            return letter
    raise not_found(f"{dead_letter_topic(service)} has no dead letter {partition}:{offset}.")


def replay_target(letter: DeadLetter) -> str:
    retry = f"{letter.service}.retry"
    if retry in CATALOGUE:
        return retry
    if not letter.original_topic:
        raise OpsError(
            "not_replayable",
            f"Dead letter {letter.partition}:{letter.offset} has no original topic header.",
        )
    return letter.original_topic


async def replay(bootstrap: str, letter: DeadLetter) -> str:
    """Re-publish one dead letter (same key, value and non-`dlt.` headers); the target topic."""
    target = replay_target(letter)
    topic = dead_letter_topic(letter.service)
    async with dlq.open_topic(bootstrap, topic, None) as (consumer, partitions):
        snapshot = await dlq.read_all(consumer, partitions)
    dlq.resolve([(letter.partition, letter.offset)], snapshot)
    [record] = [r for r in snapshot.records[letter.partition] if r.offset == letter.offset]
    headers = [(k, v) for k, v in (record.headers or ()) if not k.startswith("dlt.")]
    headers.append((dlq.H_REPLAYED_FROM, f"{topic}[{record.partition}]@{record.offset}".encode()))
    producer = durable_producer(bootstrap, client_id="ops-dlt-replay")
    await producer.start()
    try:
        await producer.send_and_wait(target, record.value, key=record.key, headers=headers)
    finally:
        await producer.stop()
    return target
