"""Booking states and the transitions the checkout saga drives (pure; no I/O)."""

from __future__ import annotations

from enum import StrEnum

from booking.domain.errors import BookingError, ErrorCode


class BookingStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"  # slot held, waiting for the authorization
    CONFIRMED = "confirmed"
    FAILED = "failed"  # checkout ended without a booking; slot released
    EXPIRED = "expired"  # the checkout hold ran out before the payment was authorized


class PaymentStatus(StrEnum):
    NONE = "none"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    VOIDED = "voided"
    FAILED = "failed"


# Statuses that occupy the slot; the exclusion constraint in the schema uses the same list.
HOLDING_STATUSES = (BookingStatus.PENDING_PAYMENT, BookingStatus.CONFIRMED)

_TRANSITIONS: dict[tuple[BookingStatus, str], BookingStatus] = {
    (BookingStatus.PENDING_PAYMENT, "payment_authorized"): BookingStatus.CONFIRMED,
    (BookingStatus.PENDING_PAYMENT, "payment_failed"): BookingStatus.FAILED,
    (BookingStatus.PENDING_PAYMENT, "hold_expired"): BookingStatus.EXPIRED,
}


def transition(current: BookingStatus, trigger: str) -> BookingStatus:
    try:
        return _TRANSITIONS[(current, trigger)]
    except KeyError:
        raise BookingError(
            ErrorCode.ILLEGAL_TRANSITION, f"cannot apply {trigger} to a {current} booking"
        ) from None
