"""A capture of a booking that payments cannot have captured yet (a Request-to-Book not
confirmed: a replayed or forged `payments.payment_captured` ahead of its authorization and its
host's answer) is refused to the dead letters with its reason, and changes nothing; in order,
the same capture is applied. An Instant Book's card is charged at checkout: its capture, of the
booking's amount, is what confirms it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from booking.features.checkout.service import PlaceBooking, place_booking
from booking.service_layer.handlers import BookingHandlers
from booking.service_layer.host_response import accept
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.outbox import Outbox
from eventkit.routing import PermanentError
from marketplace_contracts import EventModel, make_envelope
from marketplace_contracts.events.payments import (
    PaymentAuthorizedV1,
    PaymentCapturedV2,
    PaymentSplit,
)

OUTBOX = Outbox("booking", producer="booking")
HANDLERS = BookingHandlers(OUTBOX)


async def _listing(pool: asyncpg.Pool, instant_book: bool) -> str:
    listing_id = f"lst_ooo_{uuid.uuid4().hex[:8]}"
    await pool.execute(
        "INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, hourly_rate,"
        " currency, platform_fee_bps, cancellation_policy, instant_book) "
        "VALUES ($1, 'host-ooo', 'acct_ooo', 'Out of order', 10000, 'usd', 1000, 'flexible', $2)",
        listing_id,
        instant_book,
    )
    return listing_id


async def _pending(pool: asyncpg.Pool, instant_book: bool = False) -> dict[str, Any]:
    start = (datetime.now(UTC) + timedelta(days=9)).replace(minute=0, second=0, microsecond=0)
    listing_id = await _listing(pool, instant_book)
    cmd = PlaceBooking("guest-ooo", listing_id, start, start + timedelta(hours=2), "pm_card_visa")
    async with pool.acquire() as conn, conn.transaction():
        return await place_booking(UnitOfWork(conn, OUTBOX), cmd)


async def _deliver(pool: asyncpg.Pool, handler: Any, event: EventModel, key: str) -> None:
    env = make_envelope(event, key=key, producer="payments", correlation_id=uuid.uuid4())
    async with pool.acquire() as conn, conn.transaction():
        await handler(UnitOfWork(conn, OUTBOX), env, event)


def _captured(booking: dict[str, Any], payment_id: str, extra: int = 0) -> PaymentCapturedV2:
    amount, fee = booking["amount"] + extra, booking["amount"] // 10
    return PaymentCapturedV2(
        payment_id=payment_id,
        booking_id=str(booking["booking_id"]),
        payment_intent_id=f"pi_{payment_id}",
        charge_id=f"ch_{payment_id}",
        amount=amount,
        currency="usd",
        platform_fee=fee,
        splits=[
            PaymentSplit(
                booking_id=str(booking["booking_id"]),
                host_account_id="acct_ooo",
                amount=amount,
                platform_fee=fee,
                host_amount=amount - fee,
            )
        ],
    )


async def _state(pool: asyncpg.Pool, booking_id: str) -> tuple[str, str, int]:
    row = await pool.fetchrow(
        "SELECT status, payment_status, (SELECT count(*) FROM booking.receipts r"
        " WHERE r.booking_id = b.booking_id) AS receipts FROM booking.bookings b"
        " WHERE booking_id = $1",
        uuid.UUID(booking_id),
    )
    assert row is not None
    return row["status"], row["payment_status"], row["receipts"]


async def test_a_capture_before_the_authorization_is_refused_then_applied_in_order(
    booking_pool: asyncpg.Pool,
) -> None:
    booking = await _pending(booking_pool)
    booking_id, payment_id = str(booking["booking_id"]), f"pay_ooo_{uuid.uuid4().hex[:8]}"
    before = await _state(booking_pool, booking_id)
    assert before[0] == "pending_payment"

    with pytest.raises(PermanentError, match=r"^out_of_order: .* which is pending_payment"):
        await _deliver(
            booking_pool, HANDLERS.on_payment_captured, _captured(booking, payment_id), booking_id
        )
    assert await _state(booking_pool, booking_id) == before  # no payment status, no receipt

    authorized = PaymentAuthorizedV1(
        payment_id=payment_id,
        booking_id=booking_id,
        payment_intent_id=f"pi_{payment_id}",
        amount=booking["amount"],
        currency="usd",
    )
    await _deliver(booking_pool, HANDLERS.on_payment_authorized, authorized, booking_id)
    assert (await _state(booking_pool, booking_id))[:2] == ("awaiting_host", "authorized")
    with pytest.raises(PermanentError, match=r"^out_of_order: .* which is awaiting_host"):
        await _deliver(
            booking_pool, HANDLERS.on_payment_captured, _captured(booking, payment_id), booking_id
        )
    async with booking_pool.acquire() as conn, conn.transaction():
        await accept(UnitOfWork(conn, OUTBOX), uuid.UUID(booking_id), "host-ooo")
    await _deliver(
        booking_pool, HANDLERS.on_payment_captured, _captured(booking, payment_id), booking_id
    )
    assert await _state(booking_pool, booking_id) == ("confirmed", "captured", 1)


async def test_an_instant_book_is_confirmed_by_its_charge_but_not_by_another_amount(
    booking_pool: asyncpg.Pool,
) -> None:
    booking = await _pending(booking_pool, instant_book=True)
    booking_id, payment_id = str(booking["booking_id"]), f"pay_ooo_{uuid.uuid4().hex[:8]}"
    before = await _state(booking_pool, booking_id)
    with pytest.raises(PermanentError, match=r"^out_of_order: .* which is pending_payment"):
        await _deliver(
            booking_pool,
            HANDLERS.on_payment_captured,
            _captured(booking, payment_id, extra=100),
            booking_id,
        )
    assert await _state(booking_pool, booking_id) == before
    await _deliver(
        booking_pool, HANDLERS.on_payment_captured, _captured(booking, payment_id), booking_id
    )
    assert await _state(booking_pool, booking_id) == ("confirmed", "captured", 1)
