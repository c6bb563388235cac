"""No authorization lapses silently: payments' sweeper reports each one nearing its limit once,
and booking captures, or releases what it holds."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from booking.features.checkout.service import PlaceBooking, place_booking
from booking.features.groups.service import LegRequest, PlaceGroup, place_group
from booking.service_layer.handlers import BookingHandlers
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.db import create_pool
from eventkit.outbox import Outbox
from marketplace_contracts import make_envelope
from marketplace_contracts.events.payments import AuthorizationExpiringV1, PaymentAuthorizedV1
from payments.service_layer.authorization_expiry import sweep
from tests.conftest import service_dsn

pytestmark = pytest.mark.integration
BOOKING = Outbox("booking", producer="booking")
DAY = timedelta(days=1)


@pytest.fixture
async def payments_pool(pg_ready: None) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(service_dsn("payments"), min_size=1, max_size=2)
    assert pool is not None
    yield pool
    await pool.close()


async def _authorized(pool: asyncpg.Pool, age: timedelta, status: str = "authorized") -> str:
    payment_id = f"pay_ax_{uuid.uuid4().hex[:10]}"
    await pool.execute(
        "INSERT INTO payments.payments (payment_id, booking_id, guest_id, amount, platform_fee, "
        "currency, host_account_id, payment_method, payment_intent_id, status, correlation_id, "
        "created_at) VALUES ($1, $1, 'guest-ax', 1000, 100, 'usd', 'acct_ax', 'pm_card_visa', "
        "'pi_ax', $2, $3, now() - $4::interval)",
        payment_id,
        status,
        uuid.uuid4(),
        age,
    )
    return payment_id


async def _reported(pool: asyncpg.Pool, payment_ids: list[str]) -> list[str]:
    rows = await pool.fetch(
        "SELECT key FROM payments.outbox WHERE event_type = 'payments.authorization_expiring' "
        "AND key = ANY($1::text[])",
        payment_ids,
    )
    return sorted(r["key"] for r in rows)


async def test_the_sweeper_reports_each_old_authorization_once(payments_pool: asyncpg.Pool) -> None:
    old = await _authorized(payments_pool, 6 * DAY + timedelta(hours=1))
    young = await _authorized(payments_pool, 2 * DAY)
    captured = await _authorized(payments_pool, 6 * DAY + timedelta(hours=1), "captured")
    outbox = Outbox("payments", producer="payments")
    for _ in range(2):  # a second sweep reports nothing again
        async with payments_pool.acquire() as conn:
            await sweep(conn, outbox, lifetime=7 * DAY, margin=DAY)
    assert await _reported(payments_pool, [old, young, captured]) == [old]


def _expiring(
    payment_id: str, booking_id: str, group_id: str | None = None
) -> AuthorizationExpiringV1:
    now = datetime.now(UTC)
    return AuthorizationExpiringV1(
        payment_id=payment_id,
        booking_id=booking_id,
        group_id=group_id,
        amount=1000,
        currency="usd",
        authorized_at=now - 6 * DAY,
        expires_at=now + DAY,
    )


async def _deliver(pool: asyncpg.Pool, handler: Any, event: Any) -> None:
    env = make_envelope(
        event, key=event.payment_id, producer="payments", correlation_id=uuid.uuid4()
    )
    async with pool.acquire() as conn, conn.transaction():
        await handler(UnitOfWork(conn, BOOKING), env, event)


async def _listing(pool: asyncpg.Pool, instant: bool) -> str:
    listing_id = f"lst_ax_{uuid.uuid4().hex[:8]}"
    await pool.execute(
        "INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, hourly_rate,"
        " currency, platform_fee_bps, cancellation_policy, instant_book, response_window_hours) "
        "VALUES ($1, 'host-ax', 'acct_ax', 'Ax', 1000, 'usd', 1000, 'flexible', $2, 240)",
        listing_id,
        instant,
    )
    return listing_id


async def _events(pool: asyncpg.Pool, key: str, event_type: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT payload FROM booking.outbox WHERE key = $1 AND event_type = $2 ORDER BY id",
        key,
        event_type,
    )
    return [json.loads(bytes(r["payload"]))["data"] for r in rows]


async def test_booking_releases_an_unanswered_request_and_recaptures_a_confirmed_one(
    booking_pool: asyncpg.Pool,
) -> None:
    handlers = BookingHandlers(BOOKING)
    start = datetime(2035, 2, 1, 9, tzinfo=UTC) + timedelta(hours=uuid.uuid4().int % 5000)
    ids = {}
    for name, instant in (("request", False), ("confirmed", True)):
        cmd = PlaceBooking(
            "guest-ax",
            await _listing(booking_pool, instant),
            start,
            start + timedelta(hours=1),
            "pm_card_visa",
        )
        async with booking_pool.acquire() as conn, conn.transaction():
            ids[name] = (await place_booking(UnitOfWork(conn, BOOKING), cmd))["booking_id"]
    await booking_pool.execute(
        "UPDATE booking.bookings SET status = 'awaiting_host', payment_status = 'authorized', "
        "payment_id = 'pay_ax_r' WHERE booking_id = $1",
        uuid.UUID(ids["request"]),
    )
    await booking_pool.execute(
        "UPDATE booking.bookings SET status = 'confirmed', payment_status = 'authorized', "
        "payment_id = 'pay_ax_c' WHERE booking_id = $1",
        uuid.UUID(ids["confirmed"]),
    )
    await _deliver(
        booking_pool, handlers.on_authorization_expiring, _expiring("pay_ax_r", ids["request"])
    )
    await _deliver(
        booking_pool, handlers.on_authorization_expiring, _expiring("pay_ax_c", ids["confirmed"])
    )

    released = await booking_pool.fetchrow(
        "SELECT status, failure_reason FROM booking.bookings WHERE booking_id = $1",
        uuid.UUID(ids["request"]),
    )
    assert (released["status"], released["failure_reason"]) == ("expired", "authorization_expiring")
    [failed] = await _events(booking_pool, ids["request"], "booking.booking_failed")
    assert failed["payment_id"] == "pay_ax_r"  # payments voids it
    again = await _events(booking_pool, ids["confirmed"], "booking.booking_confirmed")
    assert [e["payment_id"] for e in again] == ["pay_ax_c"]  # capture asked for again


async def test_a_group_still_waiting_for_hosts_is_released(booking_pool: asyncpg.Pool) -> None:
    handlers = BookingHandlers(BOOKING)
    start = datetime(2035, 8, 1, 9, tzinfo=UTC) + timedelta(hours=uuid.uuid4().int % 5000)
    listings = [await _listing(booking_pool, False), await _listing(booking_pool, True)]
    legs = tuple(LegRequest(lst, start, start + timedelta(hours=1)) for lst in listings)
    async with booking_pool.acquire() as conn, conn.transaction():
        group = await place_group(
            UnitOfWork(conn, BOOKING), PlaceGroup("guest-ax", legs, "pm_card_visa")
        )
    gid = group["group_id"]
    authorized = PaymentAuthorizedV1(
        payment_id="pay_ax_g",
        booking_id=gid,
        group_id=gid,
        payment_intent_id="pi_g",
        amount=group["amount"],
        currency="usd",
    )
    await _deliver(booking_pool, handlers.on_payment_authorized, authorized)
    await _deliver(
        booking_pool, handlers.on_authorization_expiring, _expiring("pay_ax_g", gid, gid)
    )
    status = await booking_pool.fetchval(
        "SELECT status FROM booking.checkout_groups WHERE group_id = $1", uuid.UUID(gid)
    )
    assert status == "failed"
    [failed] = await _events(booking_pool, gid, "booking.group_failed")
    assert (failed["reason"], failed["payment_id"]) == ("authorization_expiring", "pay_ax_g")
