"""Booking refuses a checkout for a host whose connected account cannot take charges."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from booking.domain.errors import BookingError, ErrorCode
from booking.features.checkout.service import PlaceBooking, place_booking
from booking.service_layer.handlers import BookingHandlers
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.outbox import Outbox
from marketplace_contracts import make_envelope
from marketplace_contracts.events.payments import HostAccountUpdatedV1

pytestmark = pytest.mark.integration
OUTBOX = Outbox("booking", producer="booking")


async def _report(pool: asyncpg.Pool, account: str, charges: bool, at: datetime) -> None:
    event = HostAccountUpdatedV1(
        host_account_id=account, charges_enabled=charges, payouts_enabled=charges, updated_at=at
    )
    env = make_envelope(event, key=account, producer="payments", correlation_id=uuid.uuid4())
    async with pool.acquire() as conn, conn.transaction():
        uow = UnitOfWork(conn, OUTBOX)
        await BookingHandlers(OUTBOX).on_host_account_updated(uow, env, event)


async def test_a_host_that_cannot_take_charges_is_refused_with_a_code(
    booking_pool: asyncpg.Pool,
) -> None:
    account = f"acct_ha_{uuid.uuid4().hex[:8]}"
    listing_id = f"lst_ha_{uuid.uuid4().hex[:8]}"
    await booking_pool.execute(
        "INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, hourly_rate,"
        " currency, platform_fee_bps, cancellation_policy) "
        "VALUES ($1, 'host-ha', $2, 'Ha', 1000, 'usd', 1000, 'flexible')",
        listing_id,
        account,
    )
    start = datetime(2036, 3, 1, 9, tzinfo=UTC)

    async def checkout(hour: int) -> None:
        at = start + timedelta(hours=hour)
        cmd = PlaceBooking("guest-ha", listing_id, at, at + timedelta(hours=1), "pm_card_visa")
        async with booking_pool.acquire() as conn, conn.transaction():
            await place_booking(UnitOfWork(conn, OUTBOX), cmd)

    await checkout(0)  # never reported: not refused
    now = datetime.now(UTC)
    await _report(booking_pool, account, False, now)
    await _report(booking_pool, account, True, now - timedelta(minutes=5))  # older: ignored
    with pytest.raises(BookingError) as refused:
        await checkout(2)
    assert refused.value.code is ErrorCode.HOST_CANNOT_TAKE_CHARGES
    await _report(booking_pool, account, True, now + timedelta(minutes=1))  # onboarded
    await checkout(4)
