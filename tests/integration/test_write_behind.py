"""A deferred outbox keeps a transaction's events and timer changes for one statement at its
end (eventkit.write_behind), on the real database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from booking.service_layer.unit_of_work import UnitOfWork
from eventkit import unit_of_work
from eventkit.outbox import Outbox
from tests.support import ping_model

pytestmark = pytest.mark.integration
DUE = datetime.now(UTC) + timedelta(days=1)


class _Boom(Exception):
    pass


def _outbox(table: str) -> Outbox:
    return Outbox("booking", producer="test", table=table, deferred=True)


async def _emit(outbox: Outbox, conn: asyncpg.Connection, key: str, seq: int) -> uuid.UUID:
    event = ping_model("test.write_behind")(key=key, seq=seq)
    envelope = await outbox.add(conn, event, key=key, correlation_id=uuid.uuid4())
    return envelope.event_id


async def _rows(db: asyncpg.Pool | asyncpg.Connection, table: str) -> list[uuid.UUID]:
    rows = await db.fetch(f"SELECT event_id FROM booking.{table} ORDER BY id")
    return [r["event_id"] for r in rows]


async def _timers(pool: asyncpg.Pool, subject: str) -> dict[str, str]:
    rows = await pool.fetch(
        "SELECT kind, status FROM booking.scheduled_jobs WHERE subject_id = $1", subject
    )
    return {r["kind"]: r["status"] for r in rows}


async def test_events_are_written_at_the_end_in_the_order_emitted(
    booking_pool: asyncpg.Pool, scratch_tables: tuple[str, str, str]
) -> None:
    table, _, _ = scratch_tables
    outbox = _outbox(table)
    async with booking_pool.acquire() as conn:
        async with unit_of_work.transaction(conn):
            ids = [await _emit(outbox, conn, f"k{i % 2}", i) for i in range(5)]
            assert await _rows(conn, table) == []  # kept, not yet written
        assert await _rows(conn, table) == ids
        # Outside `unit_of_work.transaction()` there is nowhere to keep them: written at once.
        async with conn.transaction():
            at_once = await _emit(outbox, conn, "k", 9)
            assert await _rows(conn, table) == [*ids, at_once]


async def test_a_nested_transaction_keeps_its_place_or_drops_its_events(
    booking_pool: asyncpg.Pool, scratch_tables: tuple[str, str, str]
) -> None:
    table, _, _ = scratch_tables
    outbox = _outbox(table)
    async with booking_pool.acquire() as conn, unit_of_work.transaction(conn):
        first = await _emit(outbox, conn, "k", 1)
        async with unit_of_work.transaction(conn):
            second = await _emit(outbox, conn, "k", 2)
        with pytest.raises(_Boom):
            async with unit_of_work.transaction(conn):
                await _emit(outbox, conn, "k", 3)
                raise _Boom
        third = await _emit(outbox, conn, "k", 4)
    assert await _rows(booking_pool, table) == [first, second, third]


async def test_timer_changes_collapse_to_the_last_and_go_with_the_events(
    booking_pool: asyncpg.Pool, scratch_tables: tuple[str, str, str]
) -> None:
    table, _, _ = scratch_tables
    outbox = _outbox(table)
    subject = f"wb-{uuid.uuid4().hex[:8]}"
    async with booking_pool.acquire() as conn:
        async with conn.transaction():  # written at once: the state the next one changes
            await UnitOfWork(conn, outbox).timers.schedule("test.hold", subject, DUE)
        async with unit_of_work.transaction(conn):
            timers = UnitOfWork(conn, outbox).timers
            await timers.schedule("test.next", subject, DUE, replacing="test.hold")
            await timers.schedule("test.gone", subject, DUE)
            await timers.cancel("test.gone", subject)  # scheduled, then cancelled: never pending
            await timers.cancel("test.back", subject)
            await timers.schedule("test.back", subject, DUE, {"n": 1})  # cancelled, then set
            event = await _emit(outbox, conn, "k", 1)
            assert await _timers(booking_pool, subject) == {"test.hold": "pending"}
    assert await _timers(booking_pool, subject) == {
        "test.hold": "cancelled",
        "test.next": "pending",
        "test.back": "pending",
    }
    payload = await booking_pool.fetchval(
        "SELECT payload FROM booking.scheduled_jobs WHERE subject_id = $1 AND kind = $2",
        subject,
        "test.back",
    )
    assert payload == {"n": 1}
    assert await _rows(booking_pool, table) == [event]


async def test_a_write_that_fails_at_the_end_rolls_the_transaction_back(
    booking_pool: asyncpg.Pool, scratch_tables: tuple[str, str, str]
) -> None:
    table, _, effects = scratch_tables
    outbox = _outbox(table)
    async with booking_pool.acquire() as conn:
        async with unit_of_work.transaction(conn):
            taken = await _emit(outbox, conn, "k", 1)
        with pytest.raises(asyncpg.UniqueViolationError):
            async with unit_of_work.transaction(conn):
                await conn.execute(
                    f"INSERT INTO booking.{effects} (event_id, key, seq) VALUES ($1, 'k', 2)",
                    uuid.uuid4(),
                )
                kept = outbox.kept(conn)
                assert kept is not None
                kept.add_row(taken, "test.write_behind", "k", "test.ping", b"{}", None)
    assert await booking_pool.fetchval(f"SELECT count(*) FROM booking.{effects}") == 0
    assert await _rows(booking_pool, table) == [taken]
