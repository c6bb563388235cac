"""Booking states and the one transition table that every state change goes through (pure).

Each transition names its trigger, its guard (the condition under which it applies) and the
integration event it emits; docs/lifecycles.md is generated from this table (`make docs`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from booking.domain.errors import BookingError, ErrorCode


class BookingStatus(StrEnum):
    AWAITING_SIGNATURES = "awaiting_signatures"  # slot held; documents to sign before paying
    PENDING_PAYMENT = "pending_payment"  # slot held, waiting for the authorization
    AWAITING_HOST = "awaiting_host"  # Request-to-Book: authorized, waiting for the host
    CONFIRMED = "confirmed"
    FAILED = "failed"  # checkout ended without a booking; slot released
    EXPIRED = "expired"  # a hold or a request ran out of time
    DECLINED = "declined"  # the host declined the request
    COMPLETED = "completed"  # the booked time is over
    PAYMENT_DUE = "payment_due"  # confirmed, but the off-session charge failed: guest must pay
    RELEASED = "released"  # the guest did not pay within the payment window
    AWAITING_GROUP = "awaiting_group"  # a group leg ready to confirm; waits for its other legs
    CANCELLED = "cancelled"  # a confirmed booking cancelled by its guest, host or an admin


class PaymentStatus(StrEnum):
    NONE = "none"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    VOIDED = "voided"
    FAILED = "failed"
    SAVED = "saved"  # card saved for an off-session charge on confirmation
    PROCESSING = "processing"  # a bank debit (ACH) on its way: confirmed, funds pending


class BookingMode(StrEnum):
    INSTANT = "instant"
    REQUEST = "request"


class Trigger(StrEnum):
    PAYMENT_AUTHORIZED = "payment_authorized"
    PAYMENT_FAILED = "payment_failed"
    HOLD_EXPIRED = "hold_expired"
    HOST_ACCEPTED = "host_accepted"
    HOST_DECLINED = "host_declined"
    REQUEST_EXPIRED = "request_expired"
    BOOKING_ENDED = "booking_ended"
    PAYMENT_METHOD_SAVED = "payment_method_saved"
    PAYMENT_CAPTURED = "payment_captured"
    PAYMENT_RETRY_REQUESTED = "payment_retry_requested"
    PAYMENT_WINDOW_CLOSED = "payment_window_closed"
    DOCUMENTS_SIGNED = "documents_signed"
    DOCUMENTS_DECLINED = "documents_declined"
    GROUP_CONFIRMED = "group_confirmed"
    GROUP_FAILED = "group_failed"
    AUTHORIZATION_EXPIRING = "authorization_expiring"
    GUEST_CANCELLED = "guest_cancelled"
    HOST_CANCELLED = "host_cancelled"
    ADMIN_CANCELLED = "admin_cancelled"
    PAYMENT_PROCESSING = "payment_processing"  # a bank debit was initiated
    PAYMENT_RETURNED = "payment_returned"  # a bank debit failed or was returned


class Guard(StrEnum):
    """When a transition applies, from the booking's mode and whether it is a group leg."""

    ALWAYS = "always"
    SINGLE = "single"  # a booking of its own, not a leg of a Linked Booking Group
    INSTANT_BOOK = "instant book"  # single
    REQUEST_TO_BOOK = "request to book"  # single
    GROUP_LEG = "group leg"
    GROUP_INSTANT = "group leg, instant book"
    GROUP_REQUEST = "group leg, request to book"

    def holds(self, mode: BookingMode, grouped: bool = False) -> bool:
        instant = mode is BookingMode.INSTANT
        return {
            Guard.ALWAYS: True,
            Guard.SINGLE: not grouped,
            Guard.INSTANT_BOOK: not grouped and instant,
            Guard.REQUEST_TO_BOOK: not grouped and not instant,
            Guard.GROUP_LEG: grouped,
            Guard.GROUP_INSTANT: grouped and instant,
            Guard.GROUP_REQUEST: grouped and not instant,
        }[self]


@dataclass(frozen=True)
class Transition:
    source: BookingStatus
    trigger: Trigger
    target: BookingStatus
    emits: str  # integration event type written to the outbox with the change
    guard: Guard = Guard.ALWAYS


# Statuses that occupy the slot; the exclusion constraint in the schema uses the same list.
HOLDING_STATUSES = (
    BookingStatus.PENDING_PAYMENT,
    BookingStatus.AWAITING_HOST,
    BookingStatus.CONFIRMED,
    BookingStatus.COMPLETED,
    BookingStatus.PAYMENT_DUE,
    BookingStatus.AWAITING_SIGNATURES,
    BookingStatus.AWAITING_GROUP,
)
# Where a checkout starts: documents to sign first (docs-before-pay), or straight to payment.
INITIALS = (
    (BookingStatus.AWAITING_SIGNATURES, "checkout with documents", "booking.signatures_requested"),
    (BookingStatus.PENDING_PAYMENT, "checkout", "booking.checkout_requested"),
)

_P, _A = BookingStatus.PENDING_PAYMENT, BookingStatus.AWAITING_HOST
_D = BookingStatus.PAYMENT_DUE
_S = BookingStatus.AWAITING_SIGNATURES
_G = BookingStatus.AWAITING_GROUP
TRANSITIONS: tuple[Transition, ...] = (
    # Docs-before-pay: payment is requested only by the transition out of this state (a group
    # leg's payment, by the group's transition once every leg is signed).
    Transition(_S, Trigger.DOCUMENTS_SIGNED, _P, "booking.checkout_requested", Guard.SINGLE),
    Transition(_S, Trigger.DOCUMENTS_SIGNED, _P, "booking.documents_signed", Guard.GROUP_LEG),
    Transition(_S, Trigger.DOCUMENTS_DECLINED, BookingStatus.FAILED, "booking.booking_failed"),
    Transition(
        _S, Trigger.HOLD_EXPIRED, BookingStatus.EXPIRED, "booking.booking_failed", Guard.SINGLE
    ),
    Transition(
        _P,
        Trigger.PAYMENT_AUTHORIZED,
        BookingStatus.CONFIRMED,
        "booking.booking_confirmed",
        Guard.INSTANT_BOOK,
    ),
    Transition(
        _P, Trigger.PAYMENT_AUTHORIZED, _A, "booking.host_response_requested", Guard.REQUEST_TO_BOOK
    ),
    Transition(_P, Trigger.PAYMENT_AUTHORIZED, _G, "booking.leg_ready", Guard.GROUP_INSTANT),
    Transition(
        _P,
        Trigger.PAYMENT_AUTHORIZED,
        _A,
        "booking.host_response_requested",
        Guard.GROUP_REQUEST,
    ),
    Transition(
        _P, Trigger.PAYMENT_FAILED, BookingStatus.FAILED, "booking.booking_failed", Guard.SINGLE
    ),
    Transition(
        _P, Trigger.HOLD_EXPIRED, BookingStatus.EXPIRED, "booking.booking_failed", Guard.SINGLE
    ),
    Transition(
        _A,
        Trigger.HOST_ACCEPTED,
        BookingStatus.CONFIRMED,
        "booking.booking_confirmed",
        Guard.SINGLE,
    ),
    Transition(_A, Trigger.HOST_ACCEPTED, _G, "booking.leg_ready", Guard.GROUP_LEG),
    Transition(_A, Trigger.HOST_DECLINED, BookingStatus.DECLINED, "booking.booking_failed"),
    Transition(_A, Trigger.REQUEST_EXPIRED, BookingStatus.EXPIRED, "booking.booking_failed"),
    # The host has not answered and the authorization would lapse: release, void it.
    Transition(
        _A,
        Trigger.AUTHORIZATION_EXPIRING,
        BookingStatus.EXPIRED,
        "booking.booking_failed",
        Guard.SINGLE,
    ),
    Transition(
        BookingStatus.CONFIRMED,
        Trigger.BOOKING_ENDED,
        BookingStatus.COMPLETED,
        "booking.booking_completed",
    ),
    Transition(
        _P,
        Trigger.PAYMENT_METHOD_SAVED,
        _A,
        "booking.host_response_requested",
        Guard.REQUEST_TO_BOOK,
    ),
    Transition(_P, Trigger.PAYMENT_METHOD_SAVED, _G, "booking.leg_ready", Guard.GROUP_INSTANT),
    Transition(
        _P,
        Trigger.PAYMENT_METHOD_SAVED,
        _A,
        "booking.host_response_requested",
        Guard.GROUP_REQUEST,
    ),
    Transition(
        BookingStatus.CONFIRMED,
        Trigger.PAYMENT_FAILED,
        _D,
        "booking.payment_requested",
        Guard.SINGLE,
    ),
    # A bank debit (ACH) confirms at once with its funds pending (docs/bank-debits.md); its
    # return before the start asks the guest to pay by card (payment_due, then as above).
    Transition(
        _P,
        Trigger.PAYMENT_PROCESSING,
        BookingStatus.CONFIRMED,
        "booking.booking_confirmed",
        Guard.INSTANT_BOOK,
    ),
    Transition(
        BookingStatus.CONFIRMED,
        Trigger.PAYMENT_RETURNED,
        _D,
        "booking.payment_requested",
        Guard.SINGLE,
    ),
    Transition(_D, Trigger.PAYMENT_RETRY_REQUESTED, _D, "booking.payment_retry_requested"),
    Transition(_D, Trigger.PAYMENT_CAPTURED, BookingStatus.CONFIRMED, "booking.booking_confirmed"),
    Transition(_D, Trigger.PAYMENT_WINDOW_CLOSED, BookingStatus.RELEASED, "booking.booking_failed"),
    # A Linked Booking Group's legs are confirmed together, or released together.
    Transition(_G, Trigger.GROUP_CONFIRMED, BookingStatus.CONFIRMED, "booking.booking_confirmed"),
    *(
        Transition(source, Trigger.GROUP_FAILED, BookingStatus.FAILED, "booking.booking_failed")
        for source in (_S, _P, _A, _G)
    ),
    # Cancelling a confirmed booking (or one leg of a confirmed group): the refund kernel
    # decides the refund, carried by the event to payments.
    *(
        Transition(
            BookingStatus.CONFIRMED, trigger, BookingStatus.CANCELLED, "booking.booking_cancelled"
        )
        for trigger in (Trigger.GUEST_CANCELLED, Trigger.HOST_CANCELLED, Trigger.ADMIN_CANCELLED)
    ),
)


def transition(
    current: BookingStatus,
    trigger: Trigger,
    mode: BookingMode = BookingMode.INSTANT,
    grouped: bool = False,
) -> Transition:
    """The transition for `trigger` in `current` whose guard holds, or ILLEGAL_TRANSITION."""
    for candidate in TRANSITIONS:
        if candidate.source == current and candidate.trigger == trigger:
            if candidate.guard.holds(mode, grouped):
                return candidate
    raise BookingError(
        ErrorCode.ILLEGAL_TRANSITION, f"cannot apply {trigger} to a {current} booking"
    )


def transition_for(booking: Mapping[str, Any], trigger: Trigger) -> Transition:
    """The transition for `trigger` on this booking row (its status, mode and grouping)."""
    return transition(
        BookingStatus(booking["status"]),
        trigger,
        BookingMode(booking["mode"]),
        booking["group_id"] is not None,
    )


def mermaid() -> str:
    """The lifecycle as a mermaid state diagram, generated from the table."""
    lines = ["stateDiagram-v2"]
    lines += [f"    [*] --> {status}: {label} / {event}" for status, label, event in INITIALS]
    for t in TRANSITIONS:
        guard = "" if t.guard is Guard.ALWAYS else f" [{t.guard}]"
        lines.append(f"    {t.source} --> {t.target}: {t.trigger}{guard} / {t.emits}")
    terminal = {t.target for t in TRANSITIONS} - {t.source for t in TRANSITIONS}
    lines += [f"    {s} --> [*]" for s in sorted(terminal)]
    return "\n".join(lines) + "\n"
