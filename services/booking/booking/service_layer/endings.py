"""Ending a booking without a stay: one transition, one `booking.booking_failed` event.

Payments voids the authorization named in the event, if there is one. A leg of a Linked Booking
Group takes its group down with it (booking.group_failed, which voids the group's payment).
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from booking.adapters import repository
from booking.domain.model import Transition, Trigger, transition_for
from booking.service_layer import claims
from booking.service_layer.groups import Groups
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
    step = transition_for(row, trigger)
    await repository.change_booking(
        conn,
        row["booking_id"],
        row["version"],
        status=step.target.value,
        failure_reason=reason,
        failure_detail=detail,
        **changes,
    )
    booking_id = str(row["booking_id"])
    grouped = row["group_id"] is not None
    await outbox.add(
        conn,
        BookingFailedV1(
            booking_id=booking_id,
            # A group's authorization is voided once, on booking.group_failed.
            payment_id=None if grouped else changes.get("payment_id", row["payment_id"]),
            reason=reason,
            detail=detail,
        ),
        key=booking_id,
        correlation_id=row["correlation_id"],
        causation_id=causation_id,
    )
    if row["deposit_amount"]:  # no stay, no claim: a secured deposit is released
        await claims.on_booking_ended(conn, outbox, row, "booking_ended", causation_id=causation_id)
    if grouped:  # one leg failing fails its Linked Booking Group: every other leg is released
        await Groups(outbox).leg_failed(conn, row, reason, detail, causation_id)
    return step
