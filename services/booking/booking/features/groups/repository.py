"""SQL of Linked Booking Groups: `booking.checkout_groups` and the legs read through it.

Every function runs on the caller's connection. Lock order: the group row first, then its legs
in booking-id order (`repository.get_booking(for_update=True)` keeps it for a single leg).
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from booking.adapters.repository import BOOKING_COLUMNS
from eventkit.rows import compare_and_set


async def insert_group(conn: asyncpg.Connection, group: dict[str, Any]) -> None:
    columns = ", ".join(group)
    params = ", ".join(f"${i}" for i in range(1, len(group) + 1))
    await conn.execute(
        f"INSERT INTO booking.checkout_groups ({columns}) VALUES ({params})", *group.values()
    )


async def get_group(
    conn: asyncpg.Connection, group_id: uuid.UUID, *, for_update: bool = False
) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(
        f"SELECT * FROM booking.checkout_groups WHERE group_id = $1{lock}", group_id
    )


async def group_for_view(conn: asyncpg.Connection, group_id: uuid.UUID) -> dict[str, Any] | None:
    """The group as read models show it."""
    row = await get_group(conn, group_id)
    return None if row is None else dict(row)


async def group_legs(
    conn: asyncpg.Connection, group_id: uuid.UUID, *, for_update: bool = False
) -> list[asyncpg.Record]:
    """The group's legs in booking-id order (the lock order, after the group row)."""
    lock = " FOR UPDATE" if for_update else ""
    return list(
        await conn.fetch(
            f"SELECT {BOOKING_COLUMNS} FROM booking.bookings WHERE group_id = $1 "
            f"ORDER BY booking_id{lock}",
            group_id,
        )
    )


async def update_group(
    conn: asyncpg.Connection, group_id: uuid.UUID, version: int, **changes: Any
) -> bool:
    """Compare-and-set on `version`: False when someone else changed the group first."""
    update = compare_and_set("booking.checkout_groups", "group_id", "version", changes)
    status = await conn.execute(update, group_id, version, *changes.values())
    return bool(status == "UPDATE 1")
