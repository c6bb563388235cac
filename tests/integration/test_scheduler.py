"""Durable timers on the real database: due jobs fire once, failures retry then park."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from booking.domain.errors import BookingError, ErrorCode
from booking.domain.holds import HoldRule
from booking.domain.model import BookingStatus
from booking.features.checkout.service import PlaceBooking, place_booking
from booking.service_layer.handlers import BookingHandlers
from booking.service_layer.timer_kinds import COMPLETION, HOLD_EXPIRY
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit import scheduler
from eventkit.db import create_pool
from eventkit.outbox import Outbox
from eventkit.scheduler import Scheduler
from tests.conftest import service_dsn
from tests.support.poll import at_once, eventually

pytestmark = pytest.mark.integration
PAST = datetime(2020, 1, 1, tzinfo=UTC)
OUTBOX = Outbox("booking", producer="booking")


async def test_each_due_job_fires_exactly_once_across_concurrent_workers(
    booking_pool: asyncpg.Pool,
) -> None:
    kind = f"test.once.{uuid.uuid4().hex[:8]}"
    fired: list[str] = []

    async def handler(conn: asyncpg.Connection, subject: str, payload: dict[str, Any]) -> None:
        await asyncio.sleep(0.01)  # widen the window in which two workers could collide
        fired.append(subject)

    async with booking_pool.acquire() as conn, conn.transaction():
        for i in range(30):
            await scheduler.schedule(conn, "booking", kind, f"s{i}", PAST, {"n": i})
        await scheduler.schedule(
            conn, "booking", kind, "later", datetime.now(UTC) + timedelta(hours=1)
        )
    workers = [Scheduler("booking", {kind: handler}) for _ in range(4)]
    counts = await asyncio.gather(*(w.run_due(booking_pool) for w in workers))

    assert sorted(fired) == sorted(f"s{i}" for i in range(30))  # each once, none early
    assert sum(counts) == 30 and all(c > 0 for c in counts[:1])
    statuses = await booking_pool.fetch(
        "SELECT subject_id, status FROM booking.scheduled_jobs WHERE kind = $1", kind
    )
    assert {r["subject_id"]: r["status"] for r in statuses}["later"] == "pending"
    assert sum(r["status"] == "done" for r in statuses) == 30


async def test_a_timer_scheduled_replacing_another_cancels_it_in_the_same_statement(
    booking_pool: asyncpg.Pool,
) -> None:
    first, then = (f"test.{step}.{uuid.uuid4().hex[:8]}" for step in ("hold", "next"))
    due = datetime.now(UTC) + timedelta(hours=1)
    async with booking_pool.acquire() as conn, conn.transaction():
        await scheduler.schedule(conn, "booking", first, "b1", due)
        await scheduler.schedule(conn, "booking", first, "b2", due)
    async with booking_pool.acquire() as conn, conn.transaction():
        await scheduler.schedule(conn, "booking", then, "b1", due, replacing=first)
        with pytest.raises(ValueError):
            await scheduler.schedule(conn, "booking", then, "b1", due, replacing=then)
    rows = await booking_pool.fetch(
        "SELECT kind, subject_id, status FROM booking.scheduled_jobs WHERE kind = ANY($1)",
        [first, then],
    )
    assert {(r["kind"], r["subject_id"]): r["status"] for r in rows} == {
        (first, "b1"): "cancelled",  # replaced
        (first, "b2"): "pending",  # another subject's: untouched
        (then, "b1"): "pending",
    }


async def test_a_failing_job_is_retried_then_parked_with_its_error(
    booking_pool: asyncpg.Pool,
) -> None:
    kind = f"test.fail.{uuid.uuid4().hex[:8]}"

    async def handler(conn: asyncpg.Connection, subject: str, payload: dict[str, Any]) -> None:
        await conn.execute("SELECT 1")
        raise RuntimeError("downstream refused")

    async with booking_pool.acquire() as conn, conn.transaction():
        await scheduler.schedule(conn, "booking", kind, "x", PAST)
    worker = Scheduler("booking", {kind: handler}, max_attempts=2, backoff_seconds=0)
    await worker.run_due(booking_pool)
    await worker.run_due(booking_pool)
    row = await booking_pool.fetchrow(
        "SELECT status, attempts, last_error FROM booking.scheduled_jobs WHERE kind = $1", kind
    )
    assert (row["status"], row["attempts"]) == ("failed", 2)
    assert "downstream refused" in row["last_error"]
    assert await worker.run_due(booking_pool) == 0  # parked: never picked up again


async def test_a_job_whose_connection_broke_spends_no_attempt_and_fires_on_recovery(
    booking_pool: asyncpg.Pool,
) -> None:
    kind = f"test.outage.{uuid.uuid4().hex[:8]}"
    fired: list[str] = []
    app = f"ek-sched-{uuid.uuid4().hex[:8]}"
    pool = await create_pool(
        service_dsn("booking"),
        min_size=1,
        max_size=2,
        application_name=app,
    )
    assert pool is not None

    async def handler(conn: asyncpg.Connection, subject: str, payload: dict[str, Any]) -> None:
        if not fired:
            fired.append("broken")
            # What a Postgres restart does to the worker's connection, mid-job.
            await booking_pool.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = $1",
                app,
            )
        await conn.execute("SELECT 1")
        fired.append(subject)

    async with booking_pool.acquire() as conn, conn.transaction():
        await scheduler.schedule(conn, "booking", kind, "x", PAST)
    worker = Scheduler("booking", {kind: handler}, max_attempts=1, poll_interval=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(pool, stop))
    try:
        await eventually(
            lambda: at_once(worker.fired), timeout=30, interval=0.05, what="the job fired"
        )
    finally:
        stop.set()
        await task
        await pool.close()
    row = await booking_pool.fetchrow(
        "SELECT status, attempts FROM booking.scheduled_jobs WHERE kind = $1", kind
    )
    assert fired == ["broken", "x"]
    assert (row["status"], row["attempts"]) == ("done", 1)  # max_attempts=1: none was spent


async def _hold_run_out(booking_pool: asyncpg.Pool, tag: str) -> tuple[dict, PlaceBooking]:
    """A checkout whose hold ran out (its timer due now) without an answer from payments."""
    listing_id = f"lst_{tag}_{uuid.uuid4().hex[:8]}"
    await booking_pool.execute(
        "INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, hourly_rate,"
        " currency, platform_fee_bps, cancellation_policy) "
        "VALUES ($1, 'host-t', 'acct_ttl', 'TTL', 1000, 'usd', 1000, 'flexible')",
        listing_id,
    )
    start = datetime(2032, 5, 1, 9, tzinfo=UTC)
    cmd = PlaceBooking("guest-ttl", listing_id, start, start + timedelta(hours=2), "pm_card_visa")
    async with booking_pool.acquire() as conn, conn.transaction():
        booking = await place_booking(UnitOfWork(conn, OUTBOX), cmd, hold_ttl=timedelta(seconds=-1))
    return booking, cmd


async def _hold_state(booking_pool: asyncpg.Pool, booking_id: str) -> tuple[Any, ...]:
    row = await booking_pool.fetchrow(
        "SELECT b.status, b.failure_reason, j.status AS job, j.attempts, j.due_at > now() AS later"
        " FROM booking.bookings b JOIN booking.scheduled_jobs j"
        " ON j.kind = $2 AND j.subject_id = b.booking_id::text WHERE b.booking_id = $1",
        uuid.UUID(booking_id),
        HOLD_EXPIRY,
    )
    return tuple(row.values())


async def test_a_run_out_hold_waits_while_the_payment_request_is_in_flight(
    booking_pool: asyncpg.Pool,
) -> None:
    """The hold is the guest's time, not the platform's: no answer from payments yet means the
    request is queued or retrying, so the timer looks again later instead of expiring it."""
    booking, _ = await _hold_run_out(booking_pool, "wait")
    rule = HoldRule(recheck=timedelta(seconds=30), platform_limit=timedelta(hours=1))
    timers = Scheduler(
        "booking", {HOLD_EXPIRY: BookingHandlers(OUTBOX, hold_rule=rule).expire_hold}
    )
    assert await timers.run_due(booking_pool) >= 1
    # Deferred, not failed: no attempt spent, the booking still holds its slot.
    assert await _hold_state(booking_pool, booking["booking_id"]) == (
        BookingStatus.PENDING_PAYMENT,
        None,
        "pending",
        0,
        True,
    )
    assert await _events(booking_pool, booking["booking_id"], "booking.booking_failed") == 0


async def test_a_hold_waiting_on_the_guest_expires_and_releases_the_slot(
    booking_pool: asyncpg.Pool,
) -> None:
    booking, cmd = await _hold_run_out(booking_pool, "guest")
    await booking_pool.execute(  # payments asked for the guest's 3-D Secure step
        'UPDATE booking.bookings SET next_action = \'{"type": "use_stripe_sdk"}\' '
        "WHERE booking_id = $1",
        uuid.UUID(booking["booking_id"]),
    )
    await _expires(booking_pool, booking, cmd, HoldRule())


async def test_a_hold_past_the_platform_limit_expires_and_releases_the_slot(
    booking_pool: asyncpg.Pool,
) -> None:
    """A payment request lost outright (dead-lettered, never replayed) ends at the limit."""
    booking, cmd = await _hold_run_out(booking_pool, "limit")
    await _expires(booking_pool, booking, cmd, HoldRule(platform_limit=timedelta(0)))


async def _expires(
    booking_pool: asyncpg.Pool, booking: dict, cmd: PlaceBooking, rule: HoldRule
) -> None:
    timers = Scheduler(
        "booking", {HOLD_EXPIRY: BookingHandlers(OUTBOX, hold_rule=rule).expire_hold}
    )
    assert await timers.run_due(booking_pool) >= 1
    assert await _hold_state(booking_pool, booking["booking_id"]) == (
        BookingStatus.EXPIRED,
        "hold_expired",
        "done",
        1,
        False,
    )
    assert await _events(booking_pool, booking["booking_id"], "booking.booking_failed") == 1
    async with booking_pool.acquire() as conn, conn.transaction():  # the slot is free again
        await place_booking(UnitOfWork(conn, OUTBOX), cmd)


async def _events(booking_pool: asyncpg.Pool, key: str, event_type: str) -> int:
    count: int = await booking_pool.fetchval(
        "SELECT count(*) FROM booking.outbox WHERE event_type = $2 AND key = $1", key, event_type
    )
    return count


async def test_a_confirmed_booking_completes_when_its_time_is_over(
    booking_pool: asyncpg.Pool,
) -> None:
    listing_id = f"lst_end_{uuid.uuid4().hex[:8]}"
    await booking_pool.execute(
        "INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, hourly_rate,"
        " currency, platform_fee_bps, cancellation_policy) "
        "VALUES ($1, 'host-e', 'acct_end', 'End', 1000, 'usd', 1000, 'flexible')",
        listing_id,
    )
    outbox = Outbox("booking", producer="booking")
    start = datetime(2035, 6, 1, 9, tzinfo=UTC)
    cmd = PlaceBooking("guest-end", listing_id, start, start + timedelta(hours=1), "pm_card_visa")
    async with booking_pool.acquire() as conn, conn.transaction():
        booking = await place_booking(UnitOfWork(conn, outbox), cmd)
        await conn.execute(
            "UPDATE booking.bookings SET status = 'confirmed' WHERE booking_id = $1",
            uuid.UUID(booking["booking_id"]),
        )
        # Due now instead of in 2035: what the timer does is the point, not the wait.
        await scheduler.schedule(conn, "booking", COMPLETION, booking["booking_id"], PAST)

    timers = Scheduler("booking", {COMPLETION: BookingHandlers(outbox).complete})
    assert await timers.run_due(booking_pool) >= 1
    status = await booking_pool.fetchval(
        "SELECT status FROM booking.bookings WHERE booking_id = $1",
        uuid.UUID(booking["booking_id"]),
    )
    assert status == BookingStatus.COMPLETED
    completed = await booking_pool.fetchval(
        "SELECT count(*) FROM booking.outbox WHERE key = $1 "
        "AND event_type = 'booking.booking_completed'",
        booking["booking_id"],
    )
    assert completed == 1


async def test_a_booking_in_the_past_is_refused(booking_pool: asyncpg.Pool) -> None:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    cmd = PlaceBooking("guest-past", "lst_any", start, start + timedelta(hours=1), "pm_card_visa")
    async with booking_pool.acquire() as conn:
        with pytest.raises(BookingError) as caught:
            async with conn.transaction():
                await place_booking(UnitOfWork(conn, Outbox("booking", "booking")), cmd)
    assert caught.value.code == ErrorCode.INVALID_TIME_RANGE
