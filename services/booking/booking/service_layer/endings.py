"""Ending a booking without a stay: one transition, one `booking.booking_failed` event.

Payments voids the authorization named in the event, if there is one. A leg of a Linked Booking
Group takes its group down with it (booking.group_failed, which voids the group's payment).
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from booking.domain.model import BOOKING_FAILED, Change, Trigger
from booking.features.claims import service as claims
from booking.features.groups import service as groups
from booking.service_layer import booking_messages as messages
from booking.service_layer import lifecycle
from booking.service_layer.publishing import Cause
from booking.service_layer.unit_of_work import UnitOfWork


async def end_booking(
    uow: UnitOfWork,
    row: asyncpg.Record,
    trigger: Trigger,
    reason: str,
    detail: str,
    causation_id: uuid.UUID | None = None,
    **changes: Any,
) -> Change:
    """`row` must be locked (FOR UPDATE) by the caller's transaction."""
    grouped = row["group_id"] is not None
    # A group's authorization is voided once, on booking.group_failed.
    payment_id = None if grouped else changes.get("payment_id", row["payment_id"])
    failed = {BOOKING_FAILED: lambda: messages.failed(row, payment_id, reason, detail)}
    cause = Cause(row["correlation_id"], causation_id)
    columns = {"failure_reason": reason, "failure_detail": detail, **changes}
    done = await lifecycle.apply(uow, row, trigger, failed, cause, **columns)
    if row["deposit_amount"]:  # no stay, no claim: a secured deposit is released
        await claims.on_booking_ended(uow, row, "booking_ended", causation_id=causation_id)
    if grouped:  # one leg failing fails its Linked Booking Group: every other leg is released
        await groups.leg_failed(uow, row, reason, detail, causation_id)
    return done
