"""Request-to-Book on the real database: answers race, timers expire requests."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from booking.domain.errors import BookingError, ErrorCode
from booking.features.checkout.service import PlaceBooking, place_booking
from booking.service_layer import host_response
from booking.service_layer.handlers import BookingHandlers
from booking.service_layer.timer_kinds import REQUEST_EXPIRY
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit import scheduler
from eventkit.outbox import Outbox
from eventkit.scheduler import Scheduler

pytestmark = pytest.mark.integration
OUTBOX = Outbox("booking", producer="booking")


async def awaiting_request(pool: asyncpg.Pool, window: timedelta = timedelta(hours=1)) -> uuid.UUID:
    """A Request-to-Book booking whose payment is authorized: status awaiting_host."""
    listing_id = f"lst_rtb_{uuid.uuid4().hex[:8]}"
    await pool.execute(
        "INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, hourly_rate,"
        " currency, platform_fee_bps, cancellation_policy, instant_book) "
        "VALUES ($1, 'host-rtb', 'acct_rtb', 'RTB', 1000, 'usd', 1000, 'flexible', false)",
        listing_id,
    )
    start = datetime(2034, 3, 1, 9, tzinfo=UTC)
    cmd = PlaceBooking("guest-rtb", listing_id, start, start + timedelta(hours=1), "pm_card_visa")
    async with pool.acquire() as conn, conn.transaction():
        booking = await place_booking(UnitOfWork(conn, OUTBOX), cmd, response_window=window)
    booking_id = uuid.UUID(booking["booking_id"])
    # What on_payment_authorized does, without Kafka: the request now waits for the host.
    await pool.execute(
        "UPDATE booking.bookings SET status = 'awaiting_host', payment_status = 'authorized', "
        "payment_id = 'pay_test' WHERE booking_id = $1",
        booking_id,
    )
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT respond_by FROM booking.bookings WHERE booking_id = $1", booking_id
        )
        await scheduler.schedule(
            conn, "booking", REQUEST_EXPIRY, str(booking_id), row["respond_by"]
        )
    return booking_id


async def _answer(pool: asyncpg.Pool, booking_id: uuid.UUID, accept: bool) -> str:
    async with pool.acquire() as conn:
        try:
            async with conn.transaction():
                if accept:
                    await host_response.accept(UnitOfWork(conn, OUTBOX), booking_id, "host-rtb")
                else:
                    await host_response.decline(
                        UnitOfWork(conn, OUTBOX), booking_id, "host-rtb", "busy"
                    )
            return "accepted" if accept else "declined"
        except BookingError as exc:
            assert exc.code == ErrorCode.ILLEGAL_TRANSITION
            return "refused"


async def test_concurrent_accept_and_decline_never_both_win(booking_pool: asyncpg.Pool) -> None:
    for _ in range(5):
        booking_id = await awaiting_request(booking_pool)
        results = await asyncio.gather(
            *(_answer(booking_pool, booking_id, accept=i % 2 == 0) for i in range(6))
        )
        winners = [r for r in results if r != "refused"]
        assert len(winners) == 1, results
        status = await booking_pool.fetchval(
            "SELECT status FROM booking.bookings WHERE booking_id = $1", booking_id
        )
        assert status == {"accepted": "confirmed", "declined": "declined"}[winners[0]]
        emitted = await booking_pool.fetch(
            "SELECT event_type FROM booking.outbox WHERE key = $1 AND (event_type = "
            "'booking.booking_confirmed' OR convert_from(payload, 'UTF8')::jsonb -> 'data' "
            "->> 'reason' = 'host_declined')",
            str(booking_id),
        )
        assert len(emitted) == 1  # the losers changed nothing and emitted nothing


async def test_a_host_cannot_answer_another_hosts_request(booking_pool: asyncpg.Pool) -> None:
    booking_id = await awaiting_request(booking_pool)
    async with booking_pool.acquire() as conn:
        with pytest.raises(BookingError) as caught:
            async with conn.transaction():
                await host_response.accept(
                    UnitOfWork(conn, OUTBOX), booking_id, "host-someone-else"
                )
    assert caught.value.code == ErrorCode.BOOKING_NOT_FOUND


async def test_an_unanswered_request_expires_and_asks_to_void_the_authorization(
    booking_pool: asyncpg.Pool,
) -> None:
    booking_id = await awaiting_request(booking_pool, window=timedelta(seconds=-1))
    timers = Scheduler("booking", {REQUEST_EXPIRY: BookingHandlers(OUTBOX).expire_request})
    assert await timers.run_due(booking_pool) >= 1
    row = await booking_pool.fetchrow(
        "SELECT status, failure_reason FROM booking.bookings WHERE booking_id = $1", booking_id
    )
    assert (row["status"], row["failure_reason"]) == ("expired", "request_expired")
    payload = await booking_pool.fetchval(
        "SELECT convert_from(payload, 'UTF8')::jsonb -> 'data' FROM booking.outbox "
        "WHERE key = $1 AND event_type = 'booking.booking_failed'",
        str(booking_id),
    )
    assert (payload["payment_id"], payload["reason"]) == ("pay_test", "request_expired")
