"""Ending a booking without a stay: one transition, one `booking.booking_failed` event.

Payments voids the authorization named in the event, if there is one.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from booking.adapters import repository
from booking.domain.model import BookingStatus, Transition, Trigger, transition
from eventkit.outbox import Outbox
from marketplace_contracts.events.booking import BookingFailedV1


async def end_booking(
    conn: asyncpg.Connection,
    outbox: Outbox,
    row: asyncpg.Record,
    trigger: Trigger,
    reason: str,
    detail: str,
    causation_id: uuid.UUID | None = None,
    **changes: Any,
) -> Transition:
    """`row` must be locked (FOR UPDATE) by the caller's transaction."""
    step = transition(BookingStatus(row["status"]), trigger)
    await repository.update_booking(
        conn,
        row["booking_id"],
        row["version"],
        status=step.target.value,
        failure_reason=reason,
        failure_detail=detail,
        **changes,
    )
    booking_id = str(row["booking_id"])
    await outbox.add(
        conn,
        BookingFailedV1(
            booking_id=booking_id,
            payment_id=changes.get("payment_id", row["payment_id"]),
            reason=reason,
            detail=detail,
        ),
        key=booking_id,
        correlation_id=row["correlation_id"],
        causation_id=causation_id,
    )
    return step
