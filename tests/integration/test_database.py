"""Schema ownership and the double-booking guard, on the real database."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from booking.domain.errors import BookingError, ErrorCode
from booking.features.checkout.service import PlaceBooking, place_booking
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.db import retry_conflicts
from eventkit.outbox import Outbox
from tests.conftest import service_dsn

pytestmark = pytest.mark.integration
SERVICES = ("booking", "payments", "finance", "disputes")
OWN_TABLE = {
    "booking": "bookings",
    "payments": "payments",
    "finance": "postings",
    "disputes": "charges",
}


@pytest.mark.parametrize("service", SERVICES)
async def test_a_service_role_reaches_only_its_own_schema(pg_ready: None, service: str) -> None:
    conn = await asyncpg.connect(service_dsn(service))
    try:
        await conn.fetchval(f"SELECT count(*) FROM {service}.{OWN_TABLE[service]}")
        for other in SERVICES:
            if other == service:
                continue
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetchval(f"SELECT count(*) FROM {other}.{OWN_TABLE[other]}")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE public.sneaky (id int)")
    finally:
        await conn.close()


async def test_concurrent_instant_books_of_one_slot_never_both_win(
    booking_pool: asyncpg.Pool,
) -> None:
    listing_id = f"lst_race_{uuid.uuid4().hex[:8]}"
    await booking_pool.execute(
        "INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, hourly_rate,"
        " currency, platform_fee_bps, cancellation_policy) "
        "VALUES ($1, 'host-r', 'acct_race', 'Race', 1000, 'usd', 1000, 'flexible')",
        listing_id,
    )
    start = datetime(2031, 1, 1, 10, tzinfo=UTC)
    outbox = Outbox("booking", producer="booking")

    async def attempt(i: int) -> str:
        # Overlapping but distinct ranges: only the exclusion constraint can tell them apart.
        cmd = PlaceBooking(
            f"guest-{i}",
            listing_id,
            start + timedelta(minutes=15 * (i % 3)),
            start + timedelta(hours=2),
            "pm_card_visa",
        )

        async def place() -> None:
            async with conn.transaction():
                await place_booking(UnitOfWork(conn, outbox), cmd)

        async with booking_pool.acquire() as conn:
            try:
                # As the gateway runs a command: two inserts may each wait on the other's
                # exclusion check, and Postgres then aborts one as a deadlock victim, to retry.
                await retry_conflicts(place)
                return "won"
            except BookingError as exc:
                assert exc.code == ErrorCode.SLOT_UNAVAILABLE
                return "refused"

    results = await asyncio.gather(*(attempt(i) for i in range(12)))
    assert results.count("won") == 1
    held = await booking_pool.fetchval(
        "SELECT count(*) FROM booking.bookings WHERE listing_id = $1", listing_id
    )
    assert held == 1
    requested = await booking_pool.fetchval(
        "SELECT count(*) FROM booking.outbox WHERE event_type = 'booking.checkout_requested' "
        "AND convert_from(payload, 'UTF8')::jsonb -> 'data' ->> 'listing_id' = $1",
        listing_id,
    )
    assert requested == 1  # the losers emitted nothing
