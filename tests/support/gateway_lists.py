"""What the tests of the gateway's lists share: the gateway on the test database, tokens, and
bookings, requests, invites and groups made through the service layer (no Kafka)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx

from booking.bootstrap import build_app, build_runtime
from booking.config import BookingSettings
from booking.features.checkout.service import PlaceBooking, place_booking
from booking.features.groups.service import LegRequest, PlaceGroup, place_group
from booking.features.invites import service as invites
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.auth import issue_token
from eventkit.outbox import Outbox

SECRET = "lists-test-secret-long-enough-for-hs256"
OUTBOX = Outbox("booking", producer="booking")
# Far enough ahead that no test's stay is in the past, within the booking horizon's years.
FIRST_DAY = datetime(2035, 1, 1, 9, tzinfo=UTC)


@asynccontextmanager
async def gateway_client(pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(build_runtime(BookingSettings(jwt_secret=SECRET)))
    app.state.runtime = SimpleNamespace(db=pool)  # no lifespan: HTTP + database only
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


def bearer(sub: str, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(SECRET, sub, role)}"}


@dataclass
class World:
    """Unique names per test: the shared test database holds other tests' rows too."""

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    slot: int = 0

    def name(self, kind: str) -> str:
        return f"{kind}-{self.tag}"

    def next_slot(self) -> datetime:
        """A fresh hour for every stay, so no two overlap on any listing."""
        self.slot += 1
        return FIRST_DAY + timedelta(hours=2 * self.slot)

    async def expire_holds(self, pool: asyncpg.Pool) -> None:
        """What the hold and request timers would do, later: this world's checkouts stop
        counting as in flight (the gateway sheds load past BOOKING_MAX_CHECKOUTS_IN_FLIGHT)."""
        await pool.execute(
            "UPDATE booking.bookings SET status = 'expired' WHERE guest_id LIKE $1 "
            "AND status IN ('pending_payment', 'awaiting_host')",
            f"%-{self.tag}",
        )

    async def listing(self, pool: asyncpg.Pool, host: str, *, instant: bool = True) -> str:
        listing_id = f"lst_lists_{uuid.uuid4().hex[:10]}"
        await pool.execute(
            "INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, "
            "hourly_rate, currency, platform_fee_bps, cancellation_policy, instant_book) "
            "VALUES ($1, $2, 'acct_lists', 'Lists', 1000, 'usd', 1000, 'flexible', $3)",
            listing_id,
            self.name(host),
            instant,
        )
        return listing_id

    async def booking(
        self,
        conn: asyncpg.Connection,
        guest: str,
        listing_id: str,
        response_window: timedelta | None = None,
    ) -> str:
        """Placed (pending_payment) inside the caller's transaction."""
        start = self.next_slot()
        cmd = PlaceBooking(
            self.name(guest), listing_id, start, start + timedelta(hours=1), "pm_card_visa"
        )
        placed = await place_booking(UnitOfWork(conn, OUTBOX), cmd, response_window=response_window)
        return str(placed["booking_id"])

    async def bookings(
        self, pool: asyncpg.Pool, guest: str, listing_id: str, count: int = 1
    ) -> list[str]:
        """`count` bookings in one transaction: they share `created_at` (the transaction's
        start), so only the id orders them."""
        async with pool.acquire() as conn, conn.transaction():
            return [await self.booking(conn, guest, listing_id) for _ in range(count)]

    async def waiting_request(
        self, pool: asyncpg.Pool, guest: str, listing_id: str, window: timedelta
    ) -> str:
        """A Request-to-Book booking authorized and awaiting its host (what payments'
        authorization does, without Kafka)."""
        async with pool.acquire() as conn, conn.transaction():
            booking_id = await self.booking(conn, guest, listing_id, response_window=window)
        await pool.execute(
            "UPDATE booking.bookings SET status = 'awaiting_host', "
            "payment_status = 'authorized', payment_id = $2 WHERE booking_id = $1",
            uuid.UUID(booking_id),
            f"pay_{booking_id}",
        )
        return booking_id

    async def invite(self, pool: asyncpg.Pool, host: str, guest: str, listing_id: str) -> str:
        start = self.next_slot()
        cmd = invites.SendInvite(
            self.name(host),
            self.name(guest),
            listing_id,
            start,
            start + timedelta(hours=1),
            5000,
            datetime.now(UTC) + timedelta(days=1),
        )
        async with pool.acquire() as conn, conn.transaction():
            sent = await invites.send(UnitOfWork(conn, OUTBOX), cmd)
        return str(sent["invite_id"])

    async def group(self, pool: asyncpg.Pool, guest: str, listings: list[str]) -> str:
        legs = []
        for listing_id in listings:
            start = self.next_slot()
            legs.append(LegRequest(listing_id, start, start + timedelta(hours=1)))
        async with pool.acquire() as conn, conn.transaction():
            group = await place_group(
                UnitOfWork(conn, OUTBOX), PlaceGroup(self.name(guest), tuple(legs), "pm_card_visa")
            )
        return str(group["group_id"])


async def every_page(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    """Follow `next_cursor` to the end; every item of every page, in order."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(path, headers=headers, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the pages never ended")
