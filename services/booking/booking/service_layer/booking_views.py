"""What the gateway reads of the catalogue and of one booking (views, no transaction)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from booking.adapters import repository
from booking.service_layer import disputes
from booking.service_layer.checkout import booking_view


async def listings(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """The active listings of the catalogue replica."""
    return await repository.list_listings(conn)


async def booking(conn: asyncpg.Connection, booking_id: uuid.UUID) -> asyncpg.Record | None:
    return await repository.get_booking(conn, booking_id)


async def with_dispute(
    conn: asyncpg.Connection, row: asyncpg.Record, staff: bool
) -> dict[str, Any]:
    """The booking's view with its payment's dispute (its details for staff only)."""
    return {
        **booking_view(row),
        "dispute": await disputes.dispute_of_booking(conn, row, staff=staff),
    }
