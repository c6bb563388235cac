"""The integration events of a booking's own lifecycle, each built by one function from the
booking row (a leg's row for a Linked Booking Group's legs).

Use cases publish what the `Booking` aggregate's change declares (`domain/model.py`) through
`lifecycle.apply`, with these builders; `features/groups/messages.py` holds the group's own events.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from booking.service_layer.rows import Row, columns
from marketplace_contracts.events.booking import (
    BookingCompletedV1,
    BookingConfirmedV1,
    BookingFailedV1,
    HostResponseRequestedV1,
    PaymentRequestedV1,
    PaymentRetryRequestedV1,
)


def _payment(row: Row, payment_id: str | None) -> dict[str, Any]:
    """The booking an event is about (its id as text) and the payment it concerns."""
    return {"booking_id": str(row["booking_id"]), "payment_id": payment_id}


def confirmed(row: Row, payment_id: str | None, *, captured: bool = False) -> BookingConfirmedV1:
    """booking.booking_confirmed: payments captures `payment_id` on it, unless `captured`
    (confirmed on the capture itself)."""
    return BookingConfirmedV1(
        **_payment(row, payment_id), **columns(row, "amount currency"), payment_captured=captured
    )


def failed(row: Row, payment_id: str | None, reason: str, detail: str) -> BookingFailedV1:
    """booking.booking_failed: payments voids `payment_id`, if there is one (a group leg's is
    None: the group's authorization is voided once, on booking.group_failed)."""
    return BookingFailedV1(**_payment(row, payment_id), reason=reason, detail=detail)


def host_asked(row: Row, payment_id: str, respond_by: datetime) -> HostResponseRequestedV1:
    return HostResponseRequestedV1(
        **_payment(row, payment_id), **columns(row, "host_id listing_id"), respond_by=respond_by
    )


def completed(row: Row) -> BookingCompletedV1:
    return BookingCompletedV1(
        booking_id=str(row["booking_id"]), host_id=row["host_id"], ended_at=row["ends_at"]
    )


def payment_requested(
    row: Row, payment_id: str | None, pay_by: datetime, reason: str
) -> PaymentRequestedV1:
    return PaymentRequestedV1(
        **_payment(row, payment_id), **columns(row, "amount currency"), pay_by=pay_by, reason=reason
    )


def retry_requested(row: Row, payment_method: str, attempt: int) -> PaymentRetryRequestedV1:
    return PaymentRetryRequestedV1(
        **_payment(row, row["payment_id"]), payment_method=payment_method, attempt=attempt
    )
