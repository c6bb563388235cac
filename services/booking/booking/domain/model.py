"""Booking states and the one transition table that every state change goes through (pure).

Each transition names its trigger, its guard (the condition under which it applies, over the
booking's `Kind`) and the integration event it emits; docs/lifecycles.md is generated from this
table (`make docs`). The `Booking` aggregate applies it: each trigger returns a `Change`, the new
status and the events declared (`emits`), which the service layer writes and publishes.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from booking.domain.errors import BookingError, ErrorCode
from domainkit.transitions import IllegalTransition, Transition, TransitionTable


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
    """When a transition applies, from the booking's `Kind` (its mode and whether it is a group
    leg). A member is the table's guard callable; its value names it in the diagram."""

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

    def __call__(self, kind: Kind) -> bool:
        return self.holds(kind.mode, kind.grouped)


@dataclass(frozen=True, slots=True)
class Kind:
    """What the table's guards read: the listing's mode and whether the booking is a group leg."""

    mode: BookingMode = BookingMode.INSTANT
    grouped: bool = False


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
# Payments captures a booking's payment only once the booking is confirmed (or its payment due
# is paid), but for an Instant Book's card, charged at checkout: its capture confirms a
# `pending_payment` booking. Any other capture of a booking still in one of these came out of
# order (a replayed or forged event, never payments' own sequence): it is refused to the dead
# letters with its reason, not applied (docs/lifecycles.md).
BEFORE_CONFIRMATION = frozenset(
    {
        BookingStatus.AWAITING_SIGNATURES,
        BookingStatus.PENDING_PAYMENT,
        BookingStatus.AWAITING_HOST,
        BookingStatus.AWAITING_GROUP,
    }
)


def capture_out_of_order(status: BookingStatus | str) -> bool:
    """Whether a capture of a booking in `status` cannot have come from payments in order."""
    return BookingStatus(status) in BEFORE_CONFIRMATION


# Payments voids a booking's authorization only once the booking failed (`booking_failed`: it
# ended before its confirmation). A void of a booking in any other status came out of order
# and is refused the same way: applied, it would mark a captured payment voided.
ENDED_UNCONFIRMED = frozenset(
    {
        BookingStatus.FAILED,
        BookingStatus.EXPIRED,
        BookingStatus.DECLINED,
        BookingStatus.RELEASED,
    }
)


def void_out_of_order(status: BookingStatus | str) -> bool:
    """Whether a void of a booking in `status` cannot have come from payments in order."""
    return BookingStatus(status) not in ENDED_UNCONFIRMED


# The event types the table's rows name more than once (each row emits one event).
BOOKING_CONFIRMED = "booking.booking_confirmed"
CHECKOUT_REQUESTED = "booking.checkout_requested"
BOOKING_FAILED = "booking.booking_failed"
HOST_ASKED = "booking.host_response_requested"
LEG_READY = "booking.leg_ready"
PAYMENT_REQUESTED = "booking.payment_requested"
# Where a checkout starts: documents to sign first (docs-before-pay), or straight to payment.
INITIALS = (
    (BookingStatus.AWAITING_SIGNATURES, "checkout with documents", "booking.signatures_requested"),
    (BookingStatus.PENDING_PAYMENT, "checkout", CHECKOUT_REQUESTED),
)

_P, _A = BookingStatus.PENDING_PAYMENT, BookingStatus.AWAITING_HOST
_C, _D = BookingStatus.CONFIRMED, BookingStatus.PAYMENT_DUE
_S = BookingStatus.AWAITING_SIGNATURES
_G = BookingStatus.AWAITING_GROUP


def _to(
    target: BookingStatus, emits: str, guard: Guard = Guard.ALWAYS
) -> Transition[BookingStatus]:
    """One candidate: booking transitions each emit one event; `always` needs no guard."""
    return Transition(target, (emits,), None if guard is Guard.ALWAYS else guard)


_T = Trigger
TABLE: TransitionTable[BookingStatus, Trigger] = TransitionTable(
    {
        # Docs-before-pay: payment is requested only by the transition out of this state (a
        # group leg's payment, by the group's transition once every leg is signed).
        (_S, _T.DOCUMENTS_SIGNED): (
            _to(_P, CHECKOUT_REQUESTED, Guard.SINGLE),
            _to(_P, "booking.documents_signed", Guard.GROUP_LEG),
        ),
        (_S, _T.DOCUMENTS_DECLINED): _to(BookingStatus.FAILED, BOOKING_FAILED),
        (_S, _T.HOLD_EXPIRED): _to(BookingStatus.EXPIRED, BOOKING_FAILED, Guard.SINGLE),
        (_P, _T.PAYMENT_AUTHORIZED): (
            _to(_C, BOOKING_CONFIRMED, Guard.INSTANT_BOOK),
            _to(_A, HOST_ASKED, Guard.REQUEST_TO_BOOK),
            _to(_G, LEG_READY, Guard.GROUP_INSTANT),
            _to(_A, HOST_ASKED, Guard.GROUP_REQUEST),
        ),
        (_P, _T.PAYMENT_FAILED): _to(BookingStatus.FAILED, BOOKING_FAILED, Guard.SINGLE),
        (_P, _T.HOLD_EXPIRED): _to(BookingStatus.EXPIRED, BOOKING_FAILED, Guard.SINGLE),
        (_A, _T.HOST_ACCEPTED): (
            _to(_C, BOOKING_CONFIRMED, Guard.SINGLE),
            _to(_G, LEG_READY, Guard.GROUP_LEG),
        ),
        (_A, _T.HOST_DECLINED): _to(BookingStatus.DECLINED, BOOKING_FAILED),
        (_A, _T.REQUEST_EXPIRED): _to(BookingStatus.EXPIRED, BOOKING_FAILED),
        # The host has not answered and the authorization would lapse: release, void it.
        (_A, _T.AUTHORIZATION_EXPIRING): _to(BookingStatus.EXPIRED, BOOKING_FAILED, Guard.SINGLE),
        (_C, _T.BOOKING_ENDED): _to(BookingStatus.COMPLETED, "booking.booking_completed"),
        (_P, _T.PAYMENT_METHOD_SAVED): (
            _to(_A, HOST_ASKED, Guard.REQUEST_TO_BOOK),
            _to(_G, LEG_READY, Guard.GROUP_INSTANT),
            _to(_A, HOST_ASKED, Guard.GROUP_REQUEST),
        ),
        (_C, _T.PAYMENT_FAILED): _to(_D, PAYMENT_REQUESTED, Guard.SINGLE),
        # A bank debit (ACH) confirms at once with its funds pending (docs/bank-debits.md); its
        # return before the start asks the guest to pay by card (payment_due, then as above).
        (_P, _T.PAYMENT_PROCESSING): _to(_C, BOOKING_CONFIRMED, Guard.INSTANT_BOOK),
        # An Instant Book's card is charged at checkout: the capture confirms it.
        (_P, _T.PAYMENT_CAPTURED): _to(_C, BOOKING_CONFIRMED, Guard.INSTANT_BOOK),
        (_C, _T.PAYMENT_RETURNED): _to(_D, PAYMENT_REQUESTED, Guard.SINGLE),
        (_D, _T.PAYMENT_RETRY_REQUESTED): _to(_D, "booking.payment_retry_requested"),
        (_D, _T.PAYMENT_CAPTURED): _to(_C, BOOKING_CONFIRMED),
        (_D, _T.PAYMENT_WINDOW_CLOSED): _to(BookingStatus.RELEASED, BOOKING_FAILED),
        # A Linked Booking Group's legs are confirmed together, or released together.
        (_G, _T.GROUP_CONFIRMED): _to(_C, BOOKING_CONFIRMED),
        **{
            (s, _T.GROUP_FAILED): _to(BookingStatus.FAILED, BOOKING_FAILED)
            for s in (_S, _P, _A, _G)
        },
        # Cancelling a confirmed booking (or one leg of a confirmed group): the refund kernel
        # decides the refund, carried by the event to payments.
        **{
            (_C, trigger): _to(BookingStatus.CANCELLED, "booking.booking_cancelled")
            for trigger in (_T.GUEST_CANCELLED, _T.HOST_CANCELLED, _T.ADMIN_CANCELLED)
        },
    }
)


def transition(
    current: BookingStatus | str,
    trigger: Trigger,
    mode: BookingMode = BookingMode.INSTANT,
    grouped: bool = False,
) -> Transition[BookingStatus]:
    """The transition for `trigger` in `current` whose guard holds, or ILLEGAL_TRANSITION."""
    try:
        return TABLE.apply(BookingStatus(current), trigger, Kind(mode, grouped))
    except IllegalTransition:
        raise BookingError(
            ErrorCode.ILLEGAL_TRANSITION, f"cannot apply {trigger} to a {current} booking"
        ) from None


def mermaid() -> str:
    """The lifecycle as a mermaid state diagram, generated from the table."""
    return TABLE.mermaid(INITIALS, joiner=" + ")


@dataclass(frozen=True)
class Change:
    """What one trigger did: the booking's new status and the events the table declares for
    it, in the order they are published."""

    status: BookingStatus
    emits: tuple[str, ...]


@dataclass(slots=True)
class Booking:
    """A booking's identity, status and the `Kind` the table's guards read. `apply` takes one
    trigger, or refuses it with 409 `illegal_transition` (changing nothing), and returns the
    `Change`. Pure: the caller writes the status (compare-and-set on `version`) and publishes."""

    booking_id: uuid.UUID
    status: BookingStatus
    mode: BookingMode = BookingMode.INSTANT
    grouped: bool = False
    version: int = 0

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Booking:
        """From a booking row (its id, status, mode, group and version)."""
        return cls(
            booking_id=row["booking_id"],
            status=BookingStatus(row["status"]),
            mode=BookingMode(row["mode"]),
            grouped=row["group_id"] is not None,
            version=row["version"],
        )

    @property
    def kind(self) -> Kind:
        return Kind(self.mode, self.grouped)

    def allows(self, trigger: Trigger) -> bool:
        return TABLE.allows(self.status, trigger, self.kind)

    def next(self, trigger: Trigger) -> Change:
        """What `trigger` would do (409 `illegal_transition` when nothing); changes nothing."""
        step = transition(self.status, trigger, self.mode, self.grouped)
        return Change(step.target, step.emits)

    def apply(self, trigger: Trigger) -> Change:
        change = self.next(trigger)
        self.status = change.status
        return change
