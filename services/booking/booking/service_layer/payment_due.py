"""A confirmed booking whose off-session charge failed: the guest pays on-session, or loses it.

`confirmed` → `payment_due` (booking.payment_requested, with a durable `payment_window` timer)
→ the guest's `POST /v1/bookings/{id}/pay` emits booking.payment_retry_requested (any number of
times) → payments' `payment_captured` brings the booking back to `confirmed`; the timer firing
first releases it (`released`, booking.booking_failed).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from booking.domain.errors import BookingError, ErrorCode
from booking.domain.model import (
    BOOKING_CONFIRMED,
    PAYMENT_REQUESTED,
    BookingStatus,
    PaymentStatus,
    Trigger,
)
from booking.service_layer import booking_messages as messages
from booking.service_layer import lifecycle
from booking.service_layer.booking_views import booking_view
from booking.service_layer.endings import end_booking
from booking.service_layer.publishing import Cause
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.outbox import Outbox
from marketplace_contracts import Envelope
from marketplace_contracts.events.payments import (
    PaymentCapturedV1,
    PaymentCapturedV2,
    PaymentFailedV1,
    PaymentReturnedV1,
)

PAYMENT_WINDOW = "payment_window"  # durable timer: the guest's window to pay on-session


async def charge_failed(
    uow: UnitOfWork,
    env: Envelope,
    row: asyncpg.Record,
    event: PaymentFailedV1,
    window: timedelta,
) -> None:
    detail = event.message or event.decline_code or event.code
    if row["status"] == BookingStatus.PAYMENT_DUE:  # a retry failed: still due, say why
        await uow.bookings.change_booking(
            row["booking_id"],
            row["version"],
            failure_reason=event.code,
            failure_detail=detail,
        )
        return
    await request_payment(
        uow,
        env,
        row,
        event,
        Trigger.PAYMENT_FAILED,
        PAYMENT_WINDOW,
        datetime.now(UTC) + window,
        event.code,
        failure_reason=event.code,
        failure_detail=detail,
    )


async def request_payment(
    uow: UnitOfWork,
    env: Envelope,
    row: asyncpg.Record,
    event: PaymentFailedV1 | PaymentReturnedV1,
    trigger: Trigger,
    timer: str,
    pay_by: datetime,
    reason: str,
    **changes: Any,
) -> None:
    """The booking's payment failed: `payment_due` until `pay_by` (the durable `timer`), and
    booking.payment_requested asks the guest to pay (`changes`: more columns to set)."""
    asked = {
        PAYMENT_REQUESTED: lambda: messages.payment_requested(row, event.payment_id, pay_by, reason)
    }
    columns = {"payment_status": PaymentStatus.FAILED.value, "pay_by": pay_by, **changes}
    await lifecycle.apply(uow, row, trigger, asked, Cause.of(env), **columns)
    await uow.timers.schedule(timer, event.booking_id, pay_by)


async def payment_received(
    uow: UnitOfWork,
    env: Envelope,
    row: asyncpg.Record,
    event: PaymentCapturedV1 | PaymentCapturedV2,
    **changes: Any,
) -> None:
    """The due payment was captured: confirmed again (`changes`: more columns to set)."""
    confirmed = {
        BOOKING_CONFIRMED: lambda: messages.confirmed(row, event.payment_id, captured=True)
    }
    await lifecycle.apply(
        uow,
        row,
        Trigger.PAYMENT_CAPTURED,
        confirmed,
        Cause.of(env),
        payment_status=PaymentStatus.CAPTURED.value,
        pay_by=None,
        failure_reason=None,
        failure_detail=None,
        **changes,
    )
    await uow.timers.cancel(PAYMENT_WINDOW, event.booking_id)


async def pay(
    uow: UnitOfWork,
    booking_id: uuid.UUID,
    guest_id: str,
    payment_method: str,
) -> dict[str, Any]:
    """The guest's command: try this payment method now (on-session)."""
    row = await uow.bookings.get_booking(booking_id, for_update=True)
    if row is None or row["guest_id"] != guest_id:
        raise BookingError(ErrorCode.BOOKING_NOT_FOUND, f"booking {booking_id} not found")
    attempt = row["payment_attempts"] + 1
    retry = {
        "booking.payment_retry_requested": lambda: messages.retry_requested(
            row, payment_method, attempt
        )
    }
    cause = Cause(row["correlation_id"])
    trigger = Trigger.PAYMENT_RETRY_REQUESTED
    await lifecycle.apply(uow, row, trigger, retry, cause, payment_attempts=attempt)
    updated = await uow.bookings.get_booking(booking_id)
    assert updated is not None
    return booking_view(updated)


async def close_window(
    outbox: Outbox, conn: asyncpg.Connection, booking_id: str, _payload: dict[str, object]
) -> None:
    """Durable timer: the guest did not pay in time; the slot is released."""
    uow = UnitOfWork(conn, outbox)
    row = await uow.bookings.get_booking(uuid.UUID(booking_id), for_update=True)
    if row is None or row["status"] != BookingStatus.PAYMENT_DUE:
        return
    await end_booking(
        uow,
        row,
        Trigger.PAYMENT_WINDOW_CLOSED,
        "payment_window_closed",
        "the guest did not pay within the payment window",
    )
