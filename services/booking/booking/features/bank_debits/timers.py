"""Bank debits' durable timer: `returned_debit_window` (the kind is domain vocabulary,
`domain.py`), at the `pay_by` of a booking whose debit was returned, frees the slot when the
guest did not pay by card in time. Registered by `booking.bootstrap`."""

from __future__ import annotations

import uuid

import asyncpg

from booking.adapters import repository
from booking.domain.model import BookingStatus, Trigger
from booking.features.bank_debits.domain import PAYMENT_RETURNED, RETURNED_DEBIT_WINDOW, FundsStatus
from booking.service_layer.endings import end_booking
from eventkit.outbox import Outbox

__all__ = ["RETURNED_DEBIT_WINDOW", "close_window"]


async def close_window(
    outbox: Outbox, conn: asyncpg.Connection, booking_id: str, _payload: dict[str, object]
) -> None:
    """Durable timer: the guest did not pay the returned debit in time; the slot is freed."""
    row = await repository.get_booking(conn, uuid.UUID(booking_id), for_update=True)
    if (
        row is None
        or row["status"] != BookingStatus.PAYMENT_DUE
        or row["funds_status"] != FundsStatus.RETURNED
    ):
        return  # paid by card meanwhile
    await end_booking(
        conn,
        outbox,
        row,
        Trigger.PAYMENT_WINDOW_CLOSED,
        PAYMENT_RETURNED,
        "the bank debit was returned and the guest did not pay by card in time",
    )
