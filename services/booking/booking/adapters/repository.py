"""SQL for listings and bookings (asyncpg; every function runs on the caller's connection)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

BOOKING_COLUMNS = (
    "booking_id, guest_id, listing_id, host_id, host_account_id, starts_at, ends_at, status, "
    "payment_status, amount, platform_fee, currency, payment_method, payment_id, "
    "failure_reason, failure_detail, correlation_id, version, created_at, updated_at"
)


async def get_listing(conn: asyncpg.Connection, listing_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM booking.listings WHERE listing_id = $1", listing_id)


async def list_listings(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM booking.listings WHERE active ORDER BY listing_id")


async def upsert_listing(conn: asyncpg.Connection, listing: dict[str, Any]) -> None:
    await conn.execute(
        """
        INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, hourly_rate,
            currency, platform_fee_bps, cancellation_policy, min_hours, active, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now())
        ON CONFLICT (listing_id) DO UPDATE SET host_id = EXCLUDED.host_id,
            host_account_id = EXCLUDED.host_account_id, title = EXCLUDED.title,
            hourly_rate = EXCLUDED.hourly_rate, currency = EXCLUDED.currency,
            platform_fee_bps = EXCLUDED.platform_fee_bps,
            cancellation_policy = EXCLUDED.cancellation_policy,
            min_hours = EXCLUDED.min_hours, active = EXCLUDED.active, updated_at = now()
        """,
        listing["listing_id"],
        listing["host_id"],
        listing["host_account_id"],
        listing["title"],
        listing["hourly_rate"],
        listing["currency"],
        listing["platform_fee_bps"],
        listing["cancellation_policy"],
        listing["min_hours"],
        listing["active"],
    )


async def insert_booking(conn: asyncpg.Connection, booking: dict[str, Any]) -> None:
    await conn.execute(
        """
        INSERT INTO booking.bookings (booking_id, guest_id, listing_id, host_id, host_account_id,
            starts_at, ends_at, status, amount, platform_fee, currency, payment_method,
            correlation_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending_payment', $8, $9, $10, $11, $12)
        """,
        booking["booking_id"],
        booking["guest_id"],
        booking["listing_id"],
        booking["host_id"],
        booking["host_account_id"],
        booking["starts_at"],
        booking["ends_at"],
        booking["amount"],
        booking["platform_fee"],
        booking["currency"],
        booking["payment_method"],
        booking["correlation_id"],
    )


async def get_booking(
    conn: asyncpg.Connection, booking_id: uuid.UUID, *, for_update: bool = False
) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(
        f"SELECT {BOOKING_COLUMNS} FROM booking.bookings WHERE booking_id = $1{lock}", booking_id
    )


async def update_booking(
    conn: asyncpg.Connection, booking_id: uuid.UUID, version: int, **changes: Any
) -> bool:
    """Compare-and-set on `version`: False when someone else changed the booking first."""
    columns = ", ".join(f"{name} = ${i}" for i, name in enumerate(changes, start=3))
    status = await conn.execute(
        f"UPDATE booking.bookings SET {columns}, version = version + 1, updated_at = now() "
        "WHERE booking_id = $1 AND version = $2",
        booking_id,
        version,
        *changes.values(),
    )
    return bool(status == "UPDATE 1")
