"""Booking states and the one transition table that every state change goes through (pure).

Each transition names the trigger that drives it and the integration event it emits; the
lifecycle diagram in docs/lifecycles.md is generated from this table (`make docs`).
"""

from __future__ import annotations

from dataclasses import dataclass
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


class Trigger(StrEnum):
    PAYMENT_AUTHORIZED = "payment_authorized"
    PAYMENT_FAILED = "payment_failed"
    HOLD_EXPIRED = "hold_expired"


@dataclass(frozen=True)
class Transition:
    source: BookingStatus
    trigger: Trigger
    target: BookingStatus
    emits: str  # integration event type written to the outbox with the change


# Statuses that occupy the slot; the exclusion constraint in the schema uses the same list.
HOLDING_STATUSES = (BookingStatus.PENDING_PAYMENT, BookingStatus.CONFIRMED)
INITIAL = (BookingStatus.PENDING_PAYMENT, "instant book", "booking.checkout_requested")

TRANSITIONS: tuple[Transition, ...] = (
    Transition(
        BookingStatus.PENDING_PAYMENT,
        Trigger.PAYMENT_AUTHORIZED,
        BookingStatus.CONFIRMED,
        "booking.booking_confirmed",
    ),
    Transition(
        BookingStatus.PENDING_PAYMENT,
        Trigger.PAYMENT_FAILED,
        BookingStatus.FAILED,
        "booking.booking_failed",
    ),
    Transition(
        BookingStatus.PENDING_PAYMENT,
        Trigger.HOLD_EXPIRED,
        BookingStatus.EXPIRED,
        "booking.booking_failed",
    ),
)
_BY_KEY = {(t.source, t.trigger): t for t in TRANSITIONS}


def transition(current: BookingStatus, trigger: Trigger) -> Transition:
    """The transition for `trigger` in `current`, or ILLEGAL_TRANSITION (HTTP 409)."""
    try:
        return _BY_KEY[(current, trigger)]
    except KeyError:
        raise BookingError(
            ErrorCode.ILLEGAL_TRANSITION, f"cannot apply {trigger} to a {current} booking"
        ) from None


def mermaid() -> str:
    """The lifecycle as a mermaid state diagram, generated from the table."""
    status, label, event = INITIAL
    lines = ["stateDiagram-v2", f"    [*] --> {status}: {label} / {event}"]
    lines += [f"    {t.source} --> {t.target}: {t.trigger} / {t.emits}" for t in TRANSITIONS]
    terminal = {t.target for t in TRANSITIONS} - {t.source for t in TRANSITIONS}
    lines += [f"    {s} --> [*]" for s in sorted(terminal)]
    return "\n".join(lines) + "\n"
