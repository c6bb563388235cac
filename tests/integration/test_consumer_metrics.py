"""eventkit.metrics on a real consumer: outcomes, durations, retries and dead letters by event
type, consumer lag from the committed offset, and the outbox gauges."""

from __future__ import annotations

import asyncio
import types
import uuid
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY

from eventkit import metrics_refresh
from tests.conftest import create_topic
from tests.support import ping_model, wait_for
from tests.support.consumer_harness import Harness

pytestmark = pytest.mark.integration


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def topic(kafka_bootstrap: str) -> str:
    name = f"test.metrics.{uuid.uuid4().hex[:8]}"
    await create_topic(kafka_bootstrap, name, partitions=1)
    return name


async def test_outcomes_durations_retries_and_dead_letters_are_counted_by_event_type(
    kafka_bootstrap: str, booking_pool: asyncpg.Pool, scratch_tables: Any, topic: str
) -> None:
    ping = {"service": "booking", "event_type": "test.ping"}
    handled = sample("eventkit_consumer_events_total", **ping, outcome="handled")
    timed = sample("eventkit_consumer_handler_duration_seconds_count", **ping)
    retried = sample("eventkit_consumer_retries_total", **ping, reason="error")
    poison = {"service": "booking", "event_type": "other"}
    letters = sample("eventkit_dead_letters_total", **poison)
    group = f"test-{uuid.uuid4().hex[:8]}"
    async with Harness(
        kafka_bootstrap, booking_pool, scratch_tables, ping_model(topic), group
    ) as h:
        await h.send(h.envelope(1).to_bytes())
        await h.send(b"{not json")
        await h.send(h.envelope(3, fail="always").to_bytes())
        await h.send(h.envelope(4).to_bytes())

        async def settled() -> bool:
            return sum(h.processor.outcomes.values()) >= 4

        await wait_for(settled)
    assert sample("eventkit_consumer_events_total", **ping, outcome="handled") == handled + 2
    assert sample("eventkit_consumer_handler_duration_seconds_count", **ping) == timed + 2
    # max_attempts 3: two retries, then the dead letter
    assert sample("eventkit_consumer_retries_total", **ping, reason="error") == retried + 2
    assert sample("eventkit_dead_letters_total", **poison) == letters + 1
    assert sample("eventkit_dead_letters_total", **ping) >= 1
    assert sample("eventkit_consumer_events_total", **ping, outcome="dead_lettered") >= 1


async def test_lag_is_the_high_watermark_minus_the_committed_offset(
    kafka_bootstrap: str, booking_pool: asyncpg.Pool, scratch_tables: Any, topic: str
) -> None:
    gate = asyncio.Event()

    async def hold_the_first(event: Any) -> None:
        if event.seq == 1:
            await gate.wait()

    group = f"test-{uuid.uuid4().hex[:8]}"
    model = ping_model(topic)
    async with Harness(
        kafka_bootstrap, booking_pool, scratch_tables, model, group, before_apply=hold_the_first
    ) as h:
        for seq in (1, 2, 3):
            await h.send(h.envelope(seq).to_bytes())  # one key: 2 and 3 wait behind 1

        async def lag_is(expected: int) -> bool:
            return list((await h.consumer.lag()).values()) == [expected]

        await wait_for(lambda: lag_is(3))
        gate.set()
        await wait_for(lambda: lag_is(0))


async def test_the_outbox_gauges_count_unpublished_rows_and_the_oldest_age(
    booking_pool: asyncpg.Pool,
) -> None:
    event_id = uuid.uuid4()
    await booking_pool.execute(
        "INSERT INTO booking.outbox (event_id, topic, key, event_type, payload, created_at) "
        "VALUES ($1, 'test.metrics', 'k', 'test.ping', '\\x7b7d', now() - interval '120 seconds')",
        event_id,
    )
    runtime: Any = types.SimpleNamespace(
        name="booking",
        db=booking_pool,
        consumer=None,
        consumers=[],
        producer=None,
        state={},
        lag_sources=(),
    )
    try:
        await metrics_refresh.refresh(runtime)
        assert sample("eventkit_outbox_unpublished_rows", service="booking") >= 1
        assert sample("eventkit_outbox_oldest_unpublished_age_seconds", service="booking") >= 120
    finally:
        await booking_pool.execute("DELETE FROM booking.outbox WHERE event_id = $1", event_id)
    # Without our row the gauge is the age of whatever else waits (other tests' rows, or 0).
    await metrics_refresh.refresh(runtime)
    left = await booking_pool.fetchval(
        "SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0) FROM booking.outbox "
        "WHERE published_at IS NULL"
    )
    age = sample("eventkit_outbox_oldest_unpublished_age_seconds", service="booking")
    assert abs(age - float(left)) < 5
