"""SQL of cancellations, on one connection (a unit of work's): the cancelled booking's row, the
refund it decided (`booking.refunds`, its lines and requests: `refunds_repository`, whose
document every booking read carries) and the cancellation policies admins publish.

Lock order: the booking (`repository.get_booking(..., for_update=True)`), then its refund rows.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from booking.adapters import refunds_repository, repository
from booking.domain.refunds import CancellationRefund, RefundProgress


class CancellationsRepository:
    """A cancellation's writes and the policies, inside the caller's transaction."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def change_booking(self, booking_id: uuid.UUID, version: int, **changes: Any) -> None:
        """The booking, locked by this transaction, changed (LostUpdate if its version moved:
        `repository.change_booking`)."""
        await repository.change_booking(self.conn, booking_id, version, **changes)

    async def record_refund(self, booking_id: uuid.UUID, refund: CancellationRefund) -> None:
        await refunds_repository.record(self.conn, booking_id, refund)

    async def refund_progress(self, booking_id: uuid.UUID) -> RefundProgress | None:
        return await refunds_repository.progress(self.conn, booking_id)

    async def refund_succeeded(self, booking_id: uuid.UUID, refund_id: str) -> None:
        await refunds_repository.mark_succeeded(self.conn, booking_id, refund_id)

    async def newest_policies(self) -> list[dict[str, Any]]:
        return await repository.list_policies(self.conn)

    async def latest_policy(self, name: str) -> dict[str, Any] | None:
        return await repository.latest_policy(self.conn, name)

    async def insert_policy(self, definition: dict[str, Any]) -> bool:
        """False when that version of the policy exists already (another admin published it
        meanwhile); the caller's transaction goes on (a savepoint)."""
        try:
            async with self.conn.transaction():
                await repository.insert_policy(self.conn, definition)
        except asyncpg.UniqueViolationError:
            return False
        return True
