"""A booking's read (polled by guests until the capture) finds its amendments' charges and its
payments' disputes through indexes: its cost does not grow with the history of either table.

With sequential scans disabled for the transaction, the planner still scans a table it has no
index for; `pg_stat_xact_user_tables` counts the scans of this transaction alone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from booking.adapters import disputes
from booking.adapters.repository import SHOWN_BOOKING, get_booking_shown
from booking.features.checkout.service import PlaceBooking, place_booking
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.outbox import Outbox

pytestmark = pytest.mark.integration
OUTBOX = Outbox("booking", producer="booking")


async def test_a_bookings_disputes_and_amendment_charges_are_read_without_a_table_scan(
    booking_pool: asyncpg.Pool,
) -> None:
    booking = {"booking_id": uuid.uuid4(), "group_id": uuid.uuid4(), "payment_id": "pi_view"}
    async with booking_pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        assert await disputes.for_booking(conn, booking) == []  # type: ignore[arg-type]
        scans = await conn.fetch(
            "SELECT relname, seq_scan FROM pg_stat_xact_user_tables "
            "WHERE schemaname = 'booking' AND relname IN ('amendments', 'payment_disputes')"
        )
    assert {r["relname"]: r["seq_scan"] for r in scans} == {"amendments": 0, "payment_disputes": 0}


async def test_the_shown_read_asks_whether_disputed_through_indexes_only(
    booking_pool: asyncpg.Pool,
) -> None:
    async with booking_pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {SHOWN_BOOKING}", uuid.uuid4()))
    assert "Seq Scan on payment_disputes" not in plan, plan
    assert "Seq Scan on amendments" not in plan, plan


@pytest.mark.parametrize("disputed_by", ["nothing", "payment", "amendment", "subject", "leg"])
async def test_the_shown_read_says_disputed_exactly_when_the_disputes_read_finds_one(
    booking_pool: asyncpg.Pool, disputed_by: str
) -> None:
    """`disputes.DISPUTED` and `disputes.for_booking` say the same, each way a dispute names
    a booking's payment: its own, an amendment's extra charge, its id as the subject, or a
    group payment's leg."""
    booking_id, payment_id = await _booking(booking_pool)
    other = f"pay_{uuid.uuid4().hex[:12]}"
    payment, subject, legs = {
        "nothing": (other, other, []),
        "payment": (payment_id, other, []),
        "amendment": (f"pay_extra_{uuid.uuid4().hex[:8]}", other, []),
        "subject": (other, str(booking_id), []),
        "leg": (other, other, [str(booking_id)]),
    }[disputed_by]
    if disputed_by == "amendment":
        await _amendment_charged(booking_pool, booking_id, payment)
    await disputes.record(
        booking_pool,  # type: ignore[arg-type]
        dispute_id=f"dsp_{uuid.uuid4().hex[:10]}",
        payment_id=payment,
        subject_id=subject,
        booking_ids=legs,
        status="needs_response",
        rank=1,
    )
    async with booking_pool.acquire() as conn:
        row = await get_booking_shown(conn, booking_id)
        assert row is not None
        found = await disputes.for_booking(conn, row)
    assert row["disputed"] is bool(found) is (disputed_by != "nothing")


async def _booking(pool: asyncpg.Pool) -> tuple[uuid.UUID, str]:
    listing_id = f"lst_view_{uuid.uuid4().hex[:8]}"
    await pool.execute(
        "INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, hourly_rate,"
        " currency, platform_fee_bps, cancellation_policy) "
        "VALUES ($1, 'host-view', 'acct_view', 'Viewed', 4000, 'usd', 1000, 'flexible')",
        listing_id,
    )
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=20)
    cmd = PlaceBooking("guest-view", listing_id, start, start + timedelta(hours=2), "pm_card_visa")
    async with pool.acquire() as conn, conn.transaction():
        booking = await place_booking(UnitOfWork(conn, OUTBOX), cmd)
    payment_id = f"pay_{uuid.uuid4().hex[:12]}"
    booking_id = uuid.UUID(booking["booking_id"])
    await pool.execute(
        "UPDATE booking.bookings SET status = 'confirmed', payment_status = 'captured', "
        "payment_id = $2 WHERE booking_id = $1",
        booking_id,
        payment_id,
    )
    return booking_id, payment_id


async def _amendment_charged(pool: asyncpg.Pool, booking_id: uuid.UUID, charge: str) -> None:
    now = datetime.now(UTC)
    await pool.execute(
        "INSERT INTO booking.amendments (amendment_id, booking_id, kind, proposed_by, status, "
        "starts_at, ends_at, guests, extras, quote, previous, delta, currency, respond_by, "
        "correlation_id, charge_payment_id) VALUES ($1, $2, 'change', 'guest', 'applied', $3, "
        "$3, 1, '[]', '{}', '{}', 100, 'usd', $3, $1, $4)",
        uuid.uuid4(),
        booking_id,
        now,
        charge,
    )
