"""SQL of Linked Booking Groups: `booking.checkout_groups` and the legs read and moved through
it, on one connection (a unit of work's).

Lock order: the group row first, then its legs in booking-id order (`repository.get_booking`
with `for_update` keeps it for a single leg).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import asyncpg

from booking.adapters import repository
from booking.adapters.repository import BOOKING_COLUMNS
from eventkit import rows


class GroupsRepository:
    """The groups table and its legs' rows, read and written inside the caller's transaction."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert(self, group: Mapping[str, Any]) -> None:
        await rows.insert(self.conn, "booking.checkout_groups", group)

    async def get(self, group_id: uuid.UUID, *, for_update: bool = False) -> asyncpg.Record | None:
        lock = " FOR UPDATE" if for_update else ""
        return await self.conn.fetchrow(
            f"SELECT * FROM booking.checkout_groups WHERE group_id = $1{lock}", group_id
        )

    async def legs(self, group_id: uuid.UUID, *, for_update: bool = False) -> list[asyncpg.Record]:
        """The group's legs in booking-id order (the lock order, after the group row)."""
        lock = " FOR UPDATE" if for_update else ""
        return list(
            await self.conn.fetch(
                f"SELECT {BOOKING_COLUMNS} FROM booking.bookings WHERE group_id = $1 "
                f"ORDER BY booking_id{lock}",
                group_id,
            )
        )

    async def update(self, group_id: uuid.UUID, version: int, **changes: Any) -> bool:
        """Compare-and-set on `version`: False when someone else changed the group first."""
        update = rows.compare_and_set("booking.checkout_groups", "group_id", "version", changes)
        status = await self.conn.execute(update, group_id, version, *changes.values())
        return bool(status == "UPDATE 1")

    async def change_leg(self, booking_id: uuid.UUID, version: int, **changes: Any) -> None:
        """A leg locked by this transaction, changed (LostUpdate if its version moved:
        `repository.change_booking`)."""
        await repository.change_booking(self.conn, booking_id, version, **changes)
