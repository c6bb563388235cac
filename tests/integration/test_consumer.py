"""Consumers on real Kafka + PostgreSQL: inbox dedupe, retries, dead letters, commits."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from marketplace_contracts import Envelope
from tests.conftest import create_topic
from tests.support import ping_model, read_topic, wait_for
from tests.support.consumer_harness import Harness, committed_offset
from tests.support.poll import stays_async

pytestmark = pytest.mark.integration


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
    return h.envelope(seq, key, fail)


async def dead_letters_for(bootstrap: str, topic: str) -> list[Any]:
    return [
        r
        for r in await read_topic(bootstrap, "booking.dlt")
        if dict(r.headers).get("dlt.original.topic") == topic.encode()
    ]


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


async def _uncommitted(bootstrap: str, group: str, topic: str) -> bool:
    return await committed_offset(bootstrap, group, topic) in (None, -1, 0)


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
        await stays_async(
            lambda: _uncommitted(kafka_bootstrap, h.group, topic), 3, what="nothing committed"
        )
        await booking_pool.execute(f"ALTER TABLE booking.{inbox}_away RENAME TO {inbox}")
        await wait_for(lambda: _count(h, 1), timeout=30)
        await wait_for(lambda: _committed(kafka_bootstrap, h, 1))
