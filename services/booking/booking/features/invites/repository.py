"""SQL of Smart Invites (`booking.invites`), on one connection (a unit of work's)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import asyncpg


class InvitesRepository:
    """The invites table, read and written inside the caller's transaction."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert(self, invite: Mapping[str, Any]) -> None:
        columns = ", ".join(invite)
        params = ", ".join(f"${i}" for i in range(1, len(invite) + 1))
        await self.conn.execute(
            f"INSERT INTO booking.invites ({columns}) VALUES ({params})", *invite.values()
        )

    async def lock(self, invite_id: uuid.UUID) -> asyncpg.Record | None:
        return await self.conn.fetchrow(
            "SELECT * FROM booking.invites WHERE invite_id = $1 FOR UPDATE", invite_id
        )

    async def get(self, invite_id: uuid.UUID) -> asyncpg.Record | None:
        return await self.conn.fetchrow(
            "SELECT * FROM booking.invites WHERE invite_id = $1", invite_id
        )

    async def close(
        self, invite_id: uuid.UUID, version: int, status: str, booking_id: uuid.UUID | None
    ) -> bool:
        """Compare-and-set on `version`: False when someone else changed the invite first."""
        result = await self.conn.execute(
            "UPDATE booking.invites SET status = $3, booking_id = $4, version = version + 1, "
            "updated_at = now() WHERE invite_id = $1 AND version = $2",
            invite_id,
            version,
            status,
            booking_id,
        )
        return bool(result == "UPDATE 1")
