"""SQL of documents, on one connection (a unit of work's): the booking an envelope was sent
for, and the envelope once the provider created it, on the booking's row
(`booking.bookings.envelope_id`, `signing_url`). The listing's required documents and the
locked booking are read through the kernel's `BookingsRepository` (`uow.bookings`).
"""

from __future__ import annotations

import uuid

import asyncpg

from booking.adapters import repository


class DocumentsRepository:
    """A booking's envelope, inside the caller's transaction."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def awaits_signatures(self, envelope_id: str) -> bool:
        """A booking (not an amendment) still waits for this envelope's signatures."""
        return await repository.awaits_signatures(self.conn, envelope_id)

    async def booking_by_envelope(self, envelope_id: str) -> uuid.UUID | None:
        return await repository.booking_by_envelope(self.conn, envelope_id)

    async def set_envelope(
        self, booking_id: uuid.UUID, version: int, envelope_id: str, signing_url: str | None
    ) -> None:
        """The booking, locked by this transaction, gets its envelope (LostUpdate if its
        version moved: `repository.change_booking`)."""
        await repository.change_booking(
            self.conn, booking_id, version, envelope_id=envelope_id, signing_url=signing_url
        )
