"""Docs-before-pay on the real database: payment is requested only after signing, in any order."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from booking.adapters.esign.base import EnvelopeStatus, WebhookEvent
from booking.domain.holds import HoldRule
from booking.features.checkout.service import PlaceBooking, place_booking
from booking.features.documents.service import Documents
from booking.service_layer.handlers import BookingHandlers
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.outbox import Outbox
from tests.support.esign_fake import TrailOnlyProvider

pytestmark = pytest.mark.integration
# The hold's timer here stands for a hold past every wait for payments (domain/holds.py).
NO_PLATFORM_WAIT = HoldRule(platform_limit=timedelta(0))
OUTBOX = Outbox("booking", producer="booking")
DOCS = [
    {"document_id": "agreement", "title": "Agreement", "text": "I agree."},
    {"document_id": "waiver", "title": "Waiver", "text": "I waive."},
]


async def _listing(pool: asyncpg.Pool) -> str:
    listing_id = f"lst_docs_{uuid.uuid4().hex[:8]}"
    await pool.execute(
        "INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, hourly_rate,"
        " currency, platform_fee_bps, cancellation_policy, required_documents) VALUES "
        "($1, 'host-d', 'acct_docs', 'Docs', 1000, 'usd', 1000, 'flexible', $2::jsonb)",
        listing_id,
        DOCS,
    )
    return listing_id


async def _booking(pool: asyncpg.Pool, listing_id: str, hour: int) -> str:
    start = datetime(2036, 1, 1, tzinfo=UTC) + timedelta(hours=hour)
    cmd = PlaceBooking("guest-d", listing_id, start, start + timedelta(hours=1), "pm_card_visa")
    async with pool.acquire() as conn, conn.transaction():
        booking = await place_booking(UnitOfWork(conn, OUTBOX), cmd)
    assert booking["status"] == "awaiting_signatures"
    booking_id: str = booking["booking_id"]
    await pool.execute(  # what the create-envelope job records
        "UPDATE booking.bookings SET envelope_id = $2 WHERE booking_id = $1",
        uuid.UUID(booking_id),
        f"env_{booking_id}",
    )
    return booking_id


async def _payment_requests(pool: asyncpg.Pool, booking_id: str) -> int:
    return await pool.fetchval(
        "SELECT count(*) FROM booking.outbox WHERE key = $1 "
        "AND event_type = 'booking.checkout_requested'",
        booking_id,
    )


OUTCOMES = ("signed", "declined", "expired_envelope", "hold_expired")


@pytest.mark.parametrize("order", list(itertools.permutations(OUTCOMES, 3)))
async def test_payment_is_requested_once_and_only_if_signing_came_first(
    booking_pool: asyncpg.Pool, order: tuple[str, ...]
) -> None:
    documents = Documents(OUTBOX, TrailOnlyProvider(), lambda: booking_pool)  # type: ignore[arg-type]
    handlers = BookingHandlers(OUTBOX, hold_rule=NO_PLATFORM_WAIT)
    booking_id = await _booking(booking_pool, await _listing(booking_pool), 0)
    assert await _payment_requests(booking_pool, booking_id) == 0  # nothing before signing

    for outcome in (*order, order[0]):  # the first outcome is also delivered twice
        if outcome == "hold_expired":
            async with booking_pool.acquire() as conn, conn.transaction():
                await handlers.expire_hold(conn, booking_id, {})
            continue
        status = {
            "signed": EnvelopeStatus.SIGNED,
            "declined": EnvelopeStatus.DECLINED,
            "expired_envelope": EnvelopeStatus.EXPIRED,
        }[outcome]
        await documents.on_envelope_event(
            WebhookEvent(f"env_{booking_id}", status, datetime.now(UTC))
        )

    expected = 1 if order[0] == "signed" else 0
    assert await _payment_requests(booking_pool, booking_id) == expected
    final = await booking_pool.fetchval(
        "SELECT status FROM booking.bookings WHERE booking_id = $1", uuid.UUID(booking_id)
    )
    if order[0] == "signed":  # on to payment, which the hold still bounds (no payment came)
        assert final == ("expired" if "hold_expired" in order else "pending_payment")
    else:
        assert (
            final
            == {"declined": "failed", "expired_envelope": "failed", "hold_expired": "expired"}[
                order[0]
            ]
        )
