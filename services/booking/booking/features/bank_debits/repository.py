"""SQL of bank debits, on one connection (a unit of work's): the funds and payment columns of
the booking a payments fact is about (read through the kernel's `BookingsRepository`)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from booking.adapters import repository


class BankDebitsRepository:
    """The bank-debit booking's row, changed inside the caller's transaction."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def change_booking(self, booking_id: uuid.UUID, version: int, **changes: Any) -> None:
        """The booking, locked by this transaction, changed (LostUpdate if its version moved:
        `repository.change_booking`)."""
        await repository.change_booking(self.conn, booking_id, version, **changes)
