"""SQL of the checkout, on one connection (a unit of work's): the listing with what a checkout
needs of it, the booking row that holds the slot, and the guest's 3-D Secure step. The SQL
itself is the kernel's (`adapters/repository.py`), shared with the views that read it."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from booking.adapters import repository


class CheckoutRepository:
    """A checkout's reads and writes, inside the caller's transaction."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def listing_with_terms(self, listing_id: str) -> asyncpg.Record | None:
        """The listing, whether its host can take charges and its newest cancellation policy,
        in one round trip (`repository.listing_with_terms`)."""
        return await repository.listing_with_terms(self.conn, listing_id)

    async def insert_booking(self, booking: dict[str, Any]) -> asyncpg.Record | None:
        """The booking as inserted; None when another booking holds part of its slot."""
        return await repository.insert_booking(self.conn, booking)

    async def set_next_action(
        self, booking_id: str, group_id: str | None, action: dict[str, Any], payment_id: str
    ) -> None:
        await repository.set_next_action(self.conn, booking_id, group_id, action, payment_id)

    async def change_booking(self, booking_id: uuid.UUID, version: int, **changes: Any) -> None:
        """The booking, locked by this transaction, changed (LostUpdate if its version moved:
        `repository.change_booking`)."""
        await repository.change_booking(self.conn, booking_id, version, **changes)
