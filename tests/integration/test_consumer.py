"""Consumers on real Kafka + PostgreSQL: inbox dedupe, retries, dead letters, manual commits."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from faststream.kafka import KafkaBroker

from eventkit.consumer import MessageProcessor
from eventkit.dead_letters import DeadLetters
from eventkit.producer import durable_producer
from eventkit.routing import EventRouter
from eventkit.subscriber import subscribe
from marketplace_contracts import Envelope, EventModel, make_envelope
from tests.conftest import create_topic
from tests.support import ping_model, read_topic, wait_for

pytestmark = pytest.mark.integration


class Harness:
    """One service-like consumer: FastStream batch subscriber + MessageProcessor + inbox."""

    def __init__(
        self,
        bootstrap: str,
        pool: asyncpg.Pool,
        tables: tuple[str, str, str],
        model: type[EventModel],
        group: str,
    ) -> None:
        self.bootstrap, self.pool, self.model, self.group = bootstrap, pool, model, group
        _, self.inbox, self.effects_table = tables
        self.calls = 0

    async def apply(self, conn: asyncpg.Connection, env: Envelope, event: Any, _: object) -> None:
        self.calls += 1
        if event.fail == "always":
            raise RuntimeError(f"handler cannot process seq {event.seq}")
        await conn.execute(
            f"INSERT INTO booking.{self.effects_table} (event_id, key, seq) VALUES ($1, $2, $3)",
            env.event_id,
            event.key,
            event.seq,
        )

    async def __aenter__(self) -> Harness:
        self.producer = durable_producer(self.bootstrap, client_id="test")
        await self.producer.start()
        # Dead letters go to booking.dlt; each test has its own consumer group.
        router = EventRouter("booking")
        router.add(self.model, self.apply)
        self.processor = MessageProcessor(
            self.pool,
            "booking",
            router,
            DeadLetters(self.producer, "booking"),
            max_attempts=3,
            backoff_base=0.05,
            inbox_table=self.inbox,
        )
        self.broker = KafkaBroker(self.bootstrap)
        subscribe(self.broker, router, self.processor.process, max_records=50, group_id=self.group)
        await self.broker.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.broker.stop()
        await self.producer.stop()

    async def send(self, value: bytes, key: str = "k") -> None:
        await self.producer.send_and_wait(self.model.TOPIC, value, key=key.encode())

    async def effects(self) -> list[asyncpg.Record]:
        return await self.pool.fetch(
            f"SELECT key, seq, event_id FROM booking.{self.effects_table} ORDER BY id"
        )


@pytest.fixture
async def harness(
    kafka_bootstrap: str, booking_pool: asyncpg.Pool, scratch_tables: tuple[str, str, str]
) -> AsyncIterator[Harness]:
    topic = f"test.consume.{uuid.uuid4().hex[:8]}"
    await create_topic(kafka_bootstrap, topic, partitions=1)
    async with Harness(
        kafka_bootstrap,
        booking_pool,
        scratch_tables,
        ping_model(topic),
        group=f"test-{uuid.uuid4().hex[:8]}",
    ) as h:
        yield h


def envelope(h: Harness, seq: int, key: str = "k", fail: str = "") -> Envelope:
    return make_envelope(
        h.model(key=key, seq=seq, fail=fail), key=key, producer="test", correlation_id=uuid.uuid4()
    )


async def dead_letters_for(bootstrap: str, topic: str) -> list[Any]:
    return [
        r
        for r in await read_topic(bootstrap, "booking.dlt")
        if dict(r.headers).get("dlt.original.topic") == topic.encode()
    ]


async def committed_offset(bootstrap: str, group: str, topic: str) -> int | None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        return await consumer.committed(TopicPartition(topic, 0))
    finally:
        await consumer.stop()


async def test_poison_message_goes_to_the_dead_letter_topic_and_the_partition_moves_on(
    harness: Harness, kafka_bootstrap: str
) -> None:
    await harness.send(envelope(harness, 1).to_bytes())
    await harness.send(b"{this is not json")
    await harness.send(envelope(harness, 3).to_bytes())
    await wait_for(lambda: _count(harness, 2))

    assert [r["seq"] for r in await harness.effects()] == [1, 3]
    [dead] = await dead_letters_for(kafka_bootstrap, harness.model.TOPIC)
    headers = {k: v.decode() for k, v in dead.headers}
    assert dead.value == b"{this is not json"
    assert headers["dlt.original.partition"] == "0"
    assert headers["dlt.original.offset"] == "1"
    assert headers["dlt.error.type"] == "ValidationError"
    assert "json" in headers["dlt.error.message"].lower()
    assert headers["dlt.attempts"] == "1"
    await wait_for(lambda: _committed(kafka_bootstrap, harness, 3))


async def test_failing_handler_is_retried_then_dead_lettered_with_attempts(
    harness: Harness, kafka_bootstrap: str
) -> None:
    await harness.send(envelope(harness, 1, fail="always").to_bytes())
    await harness.send(envelope(harness, 2).to_bytes())
    await wait_for(lambda: _count(harness, 1))

    # At least the three counted attempts (a shared-batch attempt may come first); the next
    # event is handled once all the same.
    assert harness.calls >= 3 + 1
    assert [r["seq"] for r in await harness.effects()] == [2]
    [dead] = await dead_letters_for(kafka_bootstrap, harness.model.TOPIC)
    headers = {k: v.decode() for k, v in dead.headers}
    assert headers["dlt.error.type"] == "RuntimeError"
    assert headers["dlt.error.message"] == "handler cannot process seq 1"
    assert headers["dlt.attempts"] == "3"
    assert Envelope.from_bytes(dead.value).data["seq"] == 1


async def test_redelivered_and_duplicated_events_have_one_effect(harness: Harness) -> None:
    first, second = envelope(harness, 1), envelope(harness, 2)
    for value in (first, first, second, first, second):
        await harness.send(value.to_bytes())
    await wait_for(lambda: _outcomes(harness, 5))

    effects = await harness.effects()
    assert sorted(r["seq"] for r in effects) == [1, 2]
    assert harness.processor.outcomes["duplicate"] == 3


async def _count(h: Harness, n: int) -> bool:
    return len(await h.effects()) >= n


async def _outcomes(h: Harness, n: int) -> bool:
    return sum(h.processor.outcomes.values()) >= n


async def _committed(bootstrap: str, h: Harness, offset: int) -> bool:
    return await committed_offset(bootstrap, h.group, h.model.TOPIC) == offset


async def test_offsets_are_not_committed_while_the_database_is_unavailable(
    kafka_bootstrap: str, booking_pool: asyncpg.Pool, scratch_tables: tuple[str, str, str]
) -> None:
    topic = f"test.outage.{uuid.uuid4().hex[:8]}"
    await create_topic(kafka_bootstrap, topic, partitions=1)
    _, inbox, _ = scratch_tables
    # The inbox table is missing: every transaction fails as it would with the database down.
    await booking_pool.execute(f"ALTER TABLE booking.{inbox} RENAME TO {inbox}_away")
    async with Harness(
        kafka_bootstrap,
        booking_pool,
        scratch_tables,
        ping_model(topic),
        group=f"test-{uuid.uuid4().hex[:8]}",
    ) as h:
        h.processor.max_attempts = 1_000_000  # keep retrying instead of dead-lettering
        await h.send(envelope(h, 1).to_bytes())
        await asyncio.sleep(3)
        assert await committed_offset(kafka_bootstrap, h.group, topic) in (None, -1, 0)
        await booking_pool.execute(f"ALTER TABLE booking.{inbox}_away RENAME TO {inbox}")
        await wait_for(lambda: _count(h, 1), timeout=30)
        await wait_for(lambda: _committed(kafka_bootstrap, h, 1))
