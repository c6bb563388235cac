"""Booking's replica of the catalogue keeps each listing's newest event: one delivered late, or
the demo seed published again by `make up`, changes nothing a newer one said."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from booking.adapters.repository import upsert_listing
from booking.catalog_seed import SEED_OCCURRED_AT
from marketplace_contracts.events.catalog import ListingUpsertedV1

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC)


def listing(listing_id: str, title: str) -> dict[str, object]:
    return ListingUpsertedV1(
        listing_id=listing_id,
        host_id="host-r",
        host_account_id="acct_r",
        title=title,
        hourly_rate=1_000,
        currency="usd",
        platform_fee_bps=1_000,
        cancellation_policy="flexible",
    ).model_dump()


async def test_an_older_event_of_a_listing_changes_nothing_a_newer_one_said(
    booking_pool: asyncpg.Pool,
) -> None:
    listing_id = f"lst_replica_{uuid.uuid4().hex[:8]}"
    title = "SELECT title FROM booking.listings WHERE listing_id = $1"
    async with booking_pool.acquire() as conn:
        await upsert_listing(conn, listing(listing_id, "seeded"), SEED_OCCURRED_AT)
        await upsert_listing(conn, listing(listing_id, "renamed upstream"), NOW)
        await upsert_listing(conn, listing(listing_id, "seeded"), SEED_OCCURRED_AT)  # make up
        await upsert_listing(conn, listing(listing_id, "late"), NOW - timedelta(minutes=1))
        assert await conn.fetchval(title, listing_id) == "renamed upstream"
        await upsert_listing(conn, listing(listing_id, "renamed again"), NOW)  # same time: applied
        await upsert_listing(conn, listing(listing_id, "newest"), NOW + timedelta(seconds=1))
        assert await conn.fetchval(title, listing_id) == "newest"
