"""Bank debits' durable timer: `returned_debit_window` (the kind is domain vocabulary,
`domain.py`), at the `pay_by` of a booking whose debit was returned, frees the slot when the
guest did not pay by card in time. Registered by `booking.bootstrap`."""

from __future__ import annotations

import uuid

import asyncpg

from booking.features.bank_debits.domain import RETURNED_DEBIT_WINDOW
from booking.features.bank_debits.service import on_window_closed
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.outbox import Outbox

__all__ = ["RETURNED_DEBIT_WINDOW", "close_window"]


async def close_window(
    outbox: Outbox, conn: asyncpg.Connection, booking_id: str, _payload: dict[str, object]
) -> None:
    """Durable timer: the guest did not pay the returned debit in time; the slot is freed."""
    await on_window_closed(UnitOfWork(conn, outbox), uuid.UUID(booking_id))
