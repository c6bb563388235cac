"""Use cases: the host accepts or declines a Request-to-Book. One transaction each.

The booking row is locked (`FOR UPDATE`) before the transition is chosen, so of two concurrent
answers exactly one sees `awaiting_host`; the other gets 409 `illegal_transition`.
"""

from __future__ import annotations

import uuid
from typing import Any

from booking.domain.errors import BookingError, ErrorCode
from booking.domain.model import BOOKING_CONFIRMED, Booking, Trigger
from booking.features.groups import service as groups
from booking.service_layer import booking_messages as messages
from booking.service_layer import lifecycle
from booking.service_layer.booking_views import booking_view
from booking.service_layer.endings import end_booking
from booking.service_layer.publishing import Cause
from booking.service_layer.timer_kinds import COMPLETION, REQUEST_EXPIRY
from booking.service_layer.unit_of_work import UnitOfWork


async def _load_for_host(uow: UnitOfWork, booking_id: uuid.UUID, host_id: str | None) -> Any:
    """`host_id` None means an admin acting for the host."""
    row = await uow.bookings.get_booking(booking_id, for_update=True)
    if row is None or (host_id is not None and row["host_id"] != host_id):
        raise BookingError(ErrorCode.BOOKING_NOT_FOUND, f"booking {booking_id} not found")
    return row


async def accept(uow: UnitOfWork, booking_id: uuid.UUID, host_id: str | None) -> dict[str, Any]:
    row = await _load_for_host(uow, booking_id, host_id)
    if row["group_id"] is not None:  # a group leg waits for its group's other legs
        Booking.of(row).next(Trigger.HOST_ACCEPTED)  # 409 unless awaiting_host
        await groups.leg_accepted(uow, row)
        return await _view(uow, booking_id)
    confirmed = {BOOKING_CONFIRMED: lambda: messages.confirmed(row, row["payment_id"])}
    cause = Cause(row["correlation_id"])
    await lifecycle.apply(uow, row, Trigger.HOST_ACCEPTED, confirmed, cause)
    await uow.timers.cancel(REQUEST_EXPIRY, str(booking_id))
    await uow.timers.schedule(COMPLETION, str(booking_id), row["ends_at"])
    return await _view(uow, booking_id)


async def decline(
    uow: UnitOfWork, booking_id: uuid.UUID, host_id: str | None, reason: str
) -> dict[str, Any]:
    row = await _load_for_host(uow, booking_id, host_id)
    await end_booking(uow, row, Trigger.HOST_DECLINED, "host_declined", reason)
    await uow.timers.cancel(REQUEST_EXPIRY, str(booking_id))
    return await _view(uow, booking_id)


async def _view(uow: UnitOfWork, booking_id: uuid.UUID) -> dict[str, Any]:
    row = await uow.bookings.get_booking(booking_id)
    assert row is not None
    return booking_view(row)
