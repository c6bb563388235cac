"""The single booking's durable timers: the checkout hold running out, the host's response
window closing, and the booking's end (eventkit.scheduler runs them in its own transaction)."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from booking.domain.holds import HoldRule
from booking.domain.model import BookingStatus, Trigger
from booking.features.claims import service as claims
from booking.features.claims.domain.rules import ClaimWindows
from booking.service_layer import booking_messages as messages
from booking.service_layer import lifecycle
from booking.service_layer.endings import end_booking
from booking.service_layer.publishing import Cause
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.outbox import Outbox


async def expire_hold(
    conn: asyncpg.Connection, outbox: Outbox, hold_rule: HoldRule, booking_id: str
) -> datetime | None:
    """Durable timer: a checkout still unpaid when its hold runs out releases the slot,
    unless its payment request is still in flight at payments (domain/holds.py)."""
    uow = UnitOfWork(conn, outbox)
    row = await uow.bookings.get_booking(uuid.UUID(booking_id), for_update=True)
    if row is None or row["status"] not in (
        BookingStatus.PENDING_PAYMENT,
        BookingStatus.AWAITING_SIGNATURES,
    ):
        return None  # paid, failed or gone meanwhile: nothing to expire
    if (later := hold_rule.look_again_at(row)) is not None:
        return later  # the timer looks again then
    # A late authorization is voided when it arrives: on_payment_authorized sees a booking
    # that is no longer pending and asks payments to void it.
    await end_booking(
        uow,
        row,
        Trigger.HOLD_EXPIRED,
        "hold_expired",
        "the payment was not authorized before the checkout hold ran out",
    )
    return None


async def expire_request(conn: asyncpg.Connection, outbox: Outbox, booking_id: str) -> None:
    """Durable timer: the host did not answer within the response window."""
    uow = UnitOfWork(conn, outbox)
    row = await uow.bookings.get_booking(uuid.UUID(booking_id), for_update=True)
    if row is None or row["status"] != BookingStatus.AWAITING_HOST:
        return  # answered meanwhile
    await end_booking(
        uow,
        row,
        Trigger.REQUEST_EXPIRED,
        "request_expired",
        "the host did not respond within the response window",
    )


async def complete(
    conn: asyncpg.Connection, outbox: Outbox, booking_id: str, windows: ClaimWindows
) -> None:
    """Durable timer at the booking's end: a confirmed booking is now completed."""
    uow = UnitOfWork(conn, outbox)
    row = await uow.bookings.get_booking(uuid.UUID(booking_id), for_update=True)
    if row is None or row["status"] != BookingStatus.CONFIRMED:
        return
    done = {"booking.booking_completed": lambda: messages.completed(row)}
    cause = Cause(row["correlation_id"])
    await lifecycle.apply(uow, row, Trigger.BOOKING_ENDED, done, cause)
    # The deposit's release timer.
    await claims.on_booking_completed(uow, row, windows)
