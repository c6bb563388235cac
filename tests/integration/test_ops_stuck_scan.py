"""The stuck-saga scan on real Postgres: it reads each saga's head (first and latest event),
kept as the timeline records events, whatever order and however often they arrive, and lists
the sagas waiting past their limit or left with a dead letter; answered sagas and history are
not listed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from eventkit.db import create_pool
from ops.adapters import timeline_repository as repo
from ops.config import OpsSettings
from ops.service_layer.stuck import detect
from tests.conftest import service_dsn

pytestmark = pytest.mark.integration

SETTINGS = OpsSettings(stuck_after_seconds=600, stuck_after_overrides="opsscan=60")


@pytest.fixture
async def ops_pool(pg_ready: None) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(service_dsn("ops"), min_size=1, max_size=5)
    assert pool is not None
    yield pool
    await pool.close()


def event(saga: uuid.UUID, type_: str, minutes_ago: float) -> repo.EventRow:
    return repo.EventRow(
        event_id=uuid.uuid4(),
        type=type_,
        version=1,
        producer=type_.split(".")[0],
        key=str(saga),
        correlation_id=saga,
        causation_id=None,
        occurred_at=datetime.now(UTC) - timedelta(minutes=minutes_ago),
        topic=f"{type_.split('.')[0]}.events",
        ids={},
        id_values=[],
        replayed_from=None,
    )


def letter(saga: uuid.UUID, offset: int) -> repo.DeadLetterRow:
    now = datetime.now(UTC)
    return repo.DeadLetterRow(
        topic="payments.dlq", partition=0, offset=offset, service="payments",
        original_topic="booking.events", error_type="ValueError", error_message="bad",
        attempts=5, failed_at=now - timedelta(minutes=30), event_id=uuid.uuid4(),
        type="booking.opsscan_requested", version=1, producer="booking", key=str(saga),
        correlation_id=saga, causation_id=None, occurred_at=now - timedelta(minutes=30),
        ids={}, id_values=[], raw=None, record_ts=int(now.timestamp() * 1000) + offset,
    )  # fmt: skip


async def record(pool: asyncpg.Pool, *events: repo.EventRow) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await repo.record(conn, events, [])


async def ours(pool: asyncpg.Pool, *sagas: uuid.UUID) -> dict[uuid.UUID, str]:
    found = await detect(pool, SETTINGS)
    return {s.correlation_id: s.step for s in found if s.correlation_id in sagas}


async def test_a_waiting_saga_past_its_limit_is_stuck_and_an_answered_one_is_not(
    ops_pool: asyncpg.Pool,
) -> None:
    waiting, answered, young = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await record(ops_pool, event(waiting, "booking.opsscan_requested", 20))
    await record(
        ops_pool,
        event(answered, "booking.opsscan_requested", 20),
        event(answered, "payments.opsscan_done", 19),
    )
    await record(ops_pool, event(young, "booking.opsscan_requested", 0.5))
    stuck = await ours(ops_pool, waiting, answered, young)
    assert stuck == {waiting: "after booking.opsscan_requested (booking)"}
    head = await ops_pool.fetchrow(
        "SELECT first_type, latest_type, waiting FROM saga_heads WHERE correlation_id = $1",
        answered,
    )
    assert dict(head) == {
        "first_type": "booking.opsscan_requested",
        "latest_type": "payments.opsscan_done",
        "waiting": False,
    }


async def test_events_out_of_order_and_replayed_leave_the_head_on_the_latest_event(
    ops_pool: asyncpg.Pool,
) -> None:
    saga = uuid.uuid4()
    request, answer = (
        event(saga, "booking.opsscan_requested", 20),
        event(saga, "payments.opsscan_done", 19),
    )
    await record(ops_pool, answer)  # the answer is projected first (another topic)
    await record(ops_pool, request)
    await record(ops_pool, request, answer)  # read again after a restart
    assert await ours(ops_pool, saga) == {}
    head = await ops_pool.fetchrow(
        "SELECT first_type, latest_type FROM saga_heads WHERE correlation_id = $1", saga
    )
    assert tuple(head) == ("booking.opsscan_requested", "payments.opsscan_done")
    # The saga asks again later: waiting once more, and stuck once that is old enough.
    await record(ops_pool, event(saga, "booking.opsscan_requested", 5))
    assert await ours(ops_pool, saga) == {saga: "after booking.opsscan_requested (booking)"}


async def test_one_batch_of_a_sagas_events_in_any_order_moves_its_head_as_one_by_one(
    ops_pool: asyncpg.Pool,
) -> None:
    """A batch is folded per saga before its one upsert: earliest first, latest last, and on
    equal times the later recorded is the latest and the earlier the first, as event by event."""
    saga, one_by_one = uuid.uuid4(), uuid.uuid4()

    def batch(of: uuid.UUID) -> list[repo.EventRow]:
        answer = event(of, "payments.opsscan_done", 19)
        asked_again = replace(
            event(of, "booking.opsscan_requested", 0), occurred_at=answer.occurred_at
        )
        first = event(of, "booking.opsscan_requested", 20)
        tie = replace(event(of, "payments.opsscan_started", 0), occurred_at=first.occurred_at)
        return [answer, first, asked_again, tie]

    await record(ops_pool, *batch(saga))
    for e in batch(one_by_one):
        await record(ops_pool, e)
    heads = [
        dict(await ops_pool.fetchrow(
            "SELECT first_type, first_at, latest_type, latest_producer, latest_at, waiting "
            "FROM saga_heads WHERE correlation_id = $1", of,
        ))
        for of in (saga, one_by_one)
    ]  # fmt: skip
    assert heads[0]["first_type"] == "booking.opsscan_requested"
    assert heads[0]["latest_type"] == "booking.opsscan_requested"
    assert heads[0]["waiting"] is True
    span = heads[0]["latest_at"] - heads[0]["first_at"]
    assert timedelta(seconds=59) < span < timedelta(seconds=61)
    assert {k: v for k, v in heads[0].items() if not k.endswith("_at")} == {
        k: v for k, v in heads[1].items() if not k.endswith("_at")
    }


async def test_a_finished_saga_with_a_dead_letter_nobody_handled_is_listed_until_handled(
    ops_pool: asyncpg.Pool,
) -> None:
    saga = uuid.uuid4()
    await record(
        ops_pool,
        event(saga, "booking.opsscan_requested", 40),
        event(saga, "payments.opsscan_done", 39),
    )
    offset = uuid.uuid4().int % 1_000_000_000
    dead = letter(saga, offset)
    async with ops_pool.acquire() as conn, conn.transaction():
        await repo.record(conn, [], [dead])
    step = (await ours(ops_pool, saga))[saga]
    assert step.endswith("dead letter in payments: ValueError")
    await ops_pool.execute(
        'INSERT INTO dead_letter_actions (topic, partition, "offset", record_ts, state, actor) '
        "VALUES ($1, $2, $3, $4, 'skipped', 'ana')",
        dead.topic, dead.partition, dead.offset, dead.record_ts,
    )  # fmt: skip
    assert await ours(ops_pool, saga) == {}


async def test_sagas_outside_the_window_are_not_read(ops_pool: asyncpg.Pool) -> None:
    old = uuid.uuid4()
    hours = SETTINGS.stuck_window_hours
    await record(ops_pool, event(old, "booking.opsscan_requested", hours * 60 + 5))
    assert await ours(ops_pool, old) == {}
