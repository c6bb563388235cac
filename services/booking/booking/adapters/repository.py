"""SQL for listings and bookings (asyncpg; every function runs on the caller's connection)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg

BOOKING_COLUMNS = (
    "booking_id, guest_id, listing_id, host_id, host_account_id, starts_at, ends_at, status, "
    "payment_status, amount, platform_fee, currency, payment_method, payment_id, "
    "failure_reason, failure_detail, correlation_id, version, created_at, updated_at, mode, "
    "respond_by, pay_by, payment_attempts, save_for_later, envelope_id, signing_url"
)


async def get_listing(conn: asyncpg.Connection, listing_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM booking.listings WHERE listing_id = $1", listing_id)


async def list_listings(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM booking.listings WHERE active ORDER BY listing_id")


async def upsert_listing(conn: asyncpg.Connection, listing: dict[str, Any]) -> None:
    columns = (
        "listing_id",
        "host_id",
        "host_account_id",
        "title",
        "hourly_rate",
        "currency",
        "platform_fee_bps",
        "cancellation_policy",
        "min_hours",
        "active",
        "instant_book",
        "response_window_hours",
        "required_documents",
    )
    params = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns[1:])
    await conn.execute(
        f"INSERT INTO booking.listings ({', '.join(columns)}, updated_at) "
        f"VALUES ({params}, now()) "
        f"ON CONFLICT (listing_id) DO UPDATE SET {updates}, updated_at = now()",
        *(json.dumps(listing[c]) if c == "required_documents" else listing[c] for c in columns),
    )


async def insert_booking(conn: asyncpg.Connection, booking: dict[str, Any]) -> None:
    columns = (
        "booking_id",
        "guest_id",
        "listing_id",
        "host_id",
        "host_account_id",
        "starts_at",
        "ends_at",
        "amount",
        "platform_fee",
        "currency",
        "payment_method",
        "correlation_id",
        "mode",
        "respond_by",
        "save_for_later",
        "status",
    )
    params = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    await conn.execute(
        f"INSERT INTO booking.bookings ({', '.join(columns)}) VALUES ({params})",
        *(booking[c] for c in columns),
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
