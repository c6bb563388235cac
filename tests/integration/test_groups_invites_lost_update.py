"""The compare-and-set of groups and invites is checked: a write on a row someone changed since
it was read fails loudly (LostUpdate) and leaves nothing behind, instead of being ignored."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from booking.adapters import repository
from booking.features.groups import service as groups
from booking.features.groups.service import LegRequest, PlaceGroup, place_group
from booking.features.invites import service as invites
from booking.features.invites.repository import InvitesRepository
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.outbox import Outbox
from eventkit.rows import LostUpdate

pytestmark = pytest.mark.integration
OUTBOX = Outbox("booking", producer="booking")
DOCS = [{"document_id": "agreement", "title": "Agreement", "text": "I agree."}]


async def _listing(pool: asyncpg.Pool, *, docs: bool) -> str:
    listing_id = f"lst_cas_{uuid.uuid4().hex[:8]}"
    await pool.execute(
        "INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, hourly_rate,"
        " currency, platform_fee_bps, cancellation_policy, instant_book, required_documents) "
        "VALUES ($1, $2, $3, 'CAS leg', 1000, 'usd', 1000, 'flexible', true, $4::jsonb)",
        listing_id,
        f"host-{listing_id}",
        f"acct_{listing_id}",
        DOCS if docs else [],
    )
    return listing_id


async def test_a_stale_leg_is_not_signed_over_someone_elses_change(
    booking_pool: asyncpg.Pool,
) -> None:
    start = datetime(2036, 2, 1, tzinfo=UTC) + timedelta(hours=uuid.uuid4().int % 5000)
    listings = [await _listing(booking_pool, docs=True) for _ in range(2)]
    legs = tuple(LegRequest(listing, start, start + timedelta(hours=1)) for listing in listings)
    async with booking_pool.acquire() as conn, conn.transaction():
        group = await place_group(
            UnitOfWork(conn, OUTBOX), PlaceGroup("guest-cas", legs, "pm_card_visa")
        )
    leg_id = uuid.UUID(group["legs"][0]["booking_id"])
    async with booking_pool.acquire() as conn:
        stale = await repository.get_booking(conn, leg_id)
        assert stale is not None and stale["status"] == "awaiting_signatures"
        await conn.execute(
            "UPDATE booking.bookings SET version = version + 1 WHERE booking_id = $1", leg_id
        )
        with pytest.raises(LostUpdate, match=str(leg_id)):
            async with conn.transaction():
                await groups.leg_signed(UnitOfWork(conn, OUTBOX), stale, f"env_{leg_id}")
    leg = await booking_pool.fetchrow(
        "SELECT status, version FROM booking.bookings WHERE booking_id = $1", leg_id
    )
    assert (leg["status"], leg["version"]) == ("awaiting_signatures", stale["version"] + 1)
    signed = await booking_pool.fetchval(
        "SELECT count(*) FROM booking.outbox WHERE key = $1 AND event_type = "
        "'booking.documents_signed'",
        str(leg_id),
    )
    assert signed == 0


async def test_an_invite_closes_only_from_the_version_it_was_read_at(
    booking_pool: asyncpg.Pool,
) -> None:
    listing_id = await _listing(booking_pool, docs=False)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today + timedelta(days=30, hours=uuid.uuid4().int % 5000)
    cmd = invites.SendInvite(
        f"host-{listing_id}",
        "guest-cas",
        listing_id,
        start,
        start + timedelta(hours=1),
        5000,
        datetime.now(UTC) + timedelta(days=1),
    )
    async with booking_pool.acquire() as conn, conn.transaction():
        sent = await invites.send(UnitOfWork(conn, OUTBOX), cmd)
    invite_id, version = uuid.UUID(sent["invite_id"]), sent["version"]
    async with booking_pool.acquire() as conn:
        invites_repository = InvitesRepository(conn)
        stale = await invites_repository.close(invite_id, version + 1, "declined", None)
        assert stale is False
        row = await invites_repository.get(invite_id)
        assert row is not None and (row["status"], row["version"]) == ("open", version)
        assert await invites_repository.close(invite_id, version, "declined", None)
        row = await invites_repository.get(invite_id)
        assert row is not None and (row["status"], row["version"]) == ("declined", version + 1)
