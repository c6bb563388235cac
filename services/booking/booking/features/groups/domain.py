"""Linked Booking Groups: the group's states, its transition table and the `Group` aggregate (pure).

A group is one checkout of several legs (bookings: different listings, hosts and times) paid
by one payment for the total. Its legs follow the booking table in `model.py` with the
`group leg` guards; the group's own transitions are here, on domainkit's transition table. Every
leg is confirmed, or none is: the capture of the group's payment is its commit point. Until
then any leg's failure fails the group, which releases every leg and voids the authorization.

A group transition's guard reads the legs' statuses *after* the leg's own transition (the last
leg to sign, or to be accepted, is the one that moves the group on).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from booking.domain import limits
from booking.domain.errors import BookingError, ErrorCode
from booking.domain.model import BookingStatus
from domainkit.transitions import IllegalTransition, Transition, TransitionTable

MAX_LEGS: Final = 10


class GroupStatus(StrEnum):
    AWAITING_SIGNATURES = "awaiting_signatures"  # some leg's documents are not signed yet
    PENDING_PAYMENT = "pending_payment"  # payments was asked for the total
    AWAITING_HOSTS = "awaiting_hosts"  # paid for; Request-to-Book legs wait for their hosts
    CAPTURING = "capturing"  # every leg ready; payments captures the total
    CONFIRMED = "confirmed"  # captured; every leg confirmed in one transaction
    FAILED = "failed"  # every leg released; the authorization voided


class GroupTrigger(StrEnum):
    LEG_SIGNED = "leg_signed"
    PAYMENT_AUTHORIZED = "payment_authorized"  # or the payment method saved
    LEG_READY = "leg_ready"
    PAYMENT_CAPTURED = "payment_captured"
    PAYMENT_FAILED = "payment_failed"
    LEG_FAILED = "leg_failed"
    HOLD_EXPIRED = "hold_expired"
    AUTHORIZATION_EXPIRING = "authorization_expiring"


Legs = tuple[BookingStatus, ...]


class GroupGuard(StrEnum):
    """A guard over the legs' statuses; its value names it in the lifecycle diagram."""

    SIGNATURES_PENDING = "a leg still to sign"
    ALL_SIGNED = "every leg signed"
    HOSTS_PENDING = "a leg awaiting its host"
    ALL_READY = "every leg ready"

    def __call__(self, legs: Legs) -> bool:
        signing = BookingStatus.AWAITING_SIGNATURES in legs
        ready = all(leg is BookingStatus.AWAITING_GROUP for leg in legs)
        return {
            GroupGuard.SIGNATURES_PENDING: signing,
            GroupGuard.ALL_SIGNED: not signing,
            GroupGuard.HOSTS_PENDING: not ready,
            GroupGuard.ALL_READY: ready,
        }[self]


CHECKOUT_REQUESTED: Final = "booking.group_checkout_requested"
AWAITING_HOSTS_EVENT: Final = "booking.group_awaiting_hosts"
CAPTURE_REQUESTED: Final = "booking.group_capture_requested"
CONFIRMED_EVENT: Final = "booking.group_confirmed"
FAILED_EVENT: Final = "booking.group_failed"
# The durable timer (a `scheduled_jobs` kind, keyed by the group) at the end of the checkout
# hold; its handler is `timers.py`'s.
GROUP_HOLD_EXPIRY: Final = "group_hold_expiry"

GROUP_INITIALS = (
    (
        GroupStatus.AWAITING_SIGNATURES,
        "group checkout with documents",
        "booking.signatures_requested (per leg to sign)",
    ),
    (GroupStatus.PENDING_PAYMENT, "group checkout", CHECKOUT_REQUESTED),
)

S, T, G = GroupStatus, GroupTrigger, GroupGuard
_FAIL = Transition(S.FAILED, (FAILED_EVENT,))
_CAPTURE = (CAPTURE_REQUESTED,)
# Rows in the order the lifecycle diagram lists them. A transition that emits nothing is a
# step whose event the leg's own transition emitted (booking.documents_signed, booking.leg_ready).
_ROWS: dict[tuple[GroupStatus, GroupTrigger], Transition[GroupStatus] | list[Transition[Any]]] = {
    (S.AWAITING_SIGNATURES, T.LEG_SIGNED): [
        Transition(S.AWAITING_SIGNATURES, (), G.SIGNATURES_PENDING),
        # Docs-before-pay across legs: the one transition that asks payments for the total.
        Transition(S.PENDING_PAYMENT, (CHECKOUT_REQUESTED,), G.ALL_SIGNED),
    ],
    (S.PENDING_PAYMENT, T.PAYMENT_AUTHORIZED): [
        Transition(S.AWAITING_HOSTS, (AWAITING_HOSTS_EVENT,), G.HOSTS_PENDING),
        Transition(S.CAPTURING, _CAPTURE, G.ALL_READY),
    ],
    (S.AWAITING_HOSTS, T.LEG_READY): [
        Transition(S.AWAITING_HOSTS, (), G.HOSTS_PENDING),
        Transition(S.CAPTURING, _CAPTURE, G.ALL_READY),
    ],
    (S.CAPTURING, T.PAYMENT_CAPTURED): Transition(S.CONFIRMED, (CONFIRMED_EVENT,)),
    (S.CAPTURING, T.PAYMENT_FAILED): _FAIL,
    (S.PENDING_PAYMENT, T.PAYMENT_FAILED): _FAIL,
    (S.AWAITING_SIGNATURES, T.LEG_FAILED): _FAIL,
    (S.PENDING_PAYMENT, T.LEG_FAILED): _FAIL,
    (S.AWAITING_HOSTS, T.LEG_FAILED): _FAIL,
    (S.AWAITING_SIGNATURES, T.HOLD_EXPIRED): _FAIL,
    (S.PENDING_PAYMENT, T.HOLD_EXPIRED): _FAIL,
    (S.AWAITING_HOSTS, T.AUTHORIZATION_EXPIRING): _FAIL,
}
GROUP_TABLE: TransitionTable[GroupStatus, GroupTrigger] = TransitionTable(_ROWS)
# The triggers that fail a group (each releases every open leg and voids the authorization).
FAILING: Final = frozenset(
    trigger for (_, trigger), found in GROUP_TABLE.candidates.items() if found == (_FAIL,)
)
# Leg statuses a failing group releases (everything that still holds a slot before commit).
OPEN_LEGS: Final = (
    BookingStatus.AWAITING_SIGNATURES,
    BookingStatus.PENDING_PAYMENT,
    BookingStatus.AWAITING_HOST,
    BookingStatus.AWAITING_GROUP,
)


def group_transition(current: GroupStatus, trigger: GroupTrigger, legs: Legs) -> Transition[Any]:
    """The group's transition for `trigger`, given its legs' statuses after the leg's own
    transition, or ILLEGAL_TRANSITION."""
    try:
        return GROUP_TABLE.apply(current, trigger, legs)
    except IllegalTransition:
        raise BookingError(
            ErrorCode.ILLEGAL_TRANSITION, f"cannot apply {trigger} to a {current} booking group"
        ) from None


@dataclass(frozen=True, slots=True)
class GroupStep:
    """What one trigger did to a group: its new status and the events the table declares."""

    status: GroupStatus
    emits: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GroupTotals:
    """What one payment for every leg asks for."""

    amount: int
    platform_fee: int
    currency: str
    save_for_later: bool


class ExpiringAuthorization(StrEnum):
    """What a group does when its authorization nears its end."""

    ASK_CAPTURE_AGAIN = "ask_capture_again"  # capturing: the capture request may have been lost
    RENEW_OR_FAIL = "renew_or_fail"  # hosts still deciding: renew (policy) or release
    IGNORE = "ignore"  # pending, confirmed or failed: nothing hangs on this authorization


@dataclass(slots=True)
class Group:
    """A group's identity and status; each method applies one trigger (given its legs'
    statuses after their own transitions) and returns the step: new status and its events."""

    group_id: uuid.UUID
    status: GroupStatus
    version: int

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Group:
        return cls(row["group_id"], GroupStatus(row["status"]), row["version"])

    # -- opening a group ---------------------------------------------------------------------
    @staticmethod
    def check_size(legs: int) -> None:
        if not 2 <= legs <= MAX_LEGS:
            raise BookingError(
                ErrorCode.VALIDATION_FAILED, f"a booking group has 2 to {MAX_LEGS} legs"
            )

    @staticmethod
    def totals(legs: Sequence[Mapping[str, Any]]) -> GroupTotals:
        """One payment covers every leg: one currency, a chargeable total."""
        currencies = sorted({leg["currency"] for leg in legs})
        if len(currencies) > 1:
            raise BookingError(
                ErrorCode.MIXED_CURRENCIES,
                f"one payment cannot cover legs in {', '.join(currencies)}",
            )
        total = sum(leg["amount"] for leg in legs)
        limits.check_charge(total, currencies[0], "the group's total")
        return GroupTotals(
            amount=total,
            platform_fee=sum(leg["platform_fee"] for leg in legs),
            currency=currencies[0],
            save_for_later=any(leg["save_for_later"] for leg in legs),
        )

    @staticmethod
    def initial_status(signing: bool) -> GroupStatus:
        """Legs with documents are signed before payments is asked for anything."""
        return GroupStatus.AWAITING_SIGNATURES if signing else GroupStatus.PENDING_PAYMENT

    # -- transitions -------------------------------------------------------------------------
    def expects(self, trigger: GroupTrigger) -> bool:
        """The group is in a status `trigger` moves on from (else: a late or redelivered fact)."""
        return (self.status, trigger) in GROUP_TABLE.candidates

    def apply(self, trigger: GroupTrigger, legs: Iterable[BookingStatus]) -> GroupStep:
        step = group_transition(self.status, trigger, tuple(legs))
        self.status = step.target
        return GroupStep(step.target, step.emits)

    def leg_signed(self, legs: Iterable[BookingStatus]) -> GroupStep:
        return self.apply(GroupTrigger.LEG_SIGNED, legs)

    def payment_secured(self, legs: Iterable[BookingStatus]) -> GroupStep:
        return self.apply(GroupTrigger.PAYMENT_AUTHORIZED, legs)

    def leg_ready(self, legs: Iterable[BookingStatus]) -> GroupStep:
        return self.apply(GroupTrigger.LEG_READY, legs)

    def captured(self, legs: Iterable[BookingStatus]) -> GroupStep:
        return self.apply(GroupTrigger.PAYMENT_CAPTURED, legs)

    def fail(self, cause: GroupTrigger, legs: Iterable[BookingStatus]) -> GroupStep:
        if cause not in FAILING:
            raise ValueError(f"{cause} does not fail a group")
        return self.apply(cause, legs)

    # -- rules about facts that move nothing ---------------------------------------------------
    def needs_void_of_late_payment(self) -> bool:
        """Payments secured the money of a group that failed meanwhile: it must be voided."""
        return self.status is GroupStatus.FAILED

    def on_expiring_authorization(self) -> ExpiringAuthorization:
        if self.status is GroupStatus.CAPTURING:
            return ExpiringAuthorization.ASK_CAPTURE_AGAIN
        if self.status is GroupStatus.AWAITING_HOSTS:
            return ExpiringAuthorization.RENEW_OR_FAIL
        return ExpiringAuthorization.IGNORE


def releases(leg: BookingStatus) -> bool:
    """A failing group releases this leg (it still holds its slot); a leg that failed the
    group has ended by its own transition already."""
    return leg in OPEN_LEGS


def host_deadline(now: datetime, respond_by: datetime, created_at: datetime) -> datetime:
    """A leg's host is asked only once every leg is signed and paid for: the listing's response
    window, fixed at checkout, runs from then."""
    window: timedelta = respond_by - created_at
    return now + window


def payment_failure_reason(code: str) -> str:
    """The group's `failure_reason` for a payment's failure code."""
    return "payment_declined" if code == "card_declined" else code


def group_mermaid() -> str:
    return GROUP_TABLE.mermaid(GROUP_INITIALS, nothing=None)
