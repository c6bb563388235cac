"""Linked Booking Groups: the group's states and its transition table (pure).

A group is one checkout of several legs (bookings: different listings, hosts and times) paid
by one payment for the total. Its legs follow the booking table in `model.py` with the
`group leg` guards; the group's own transitions are here. Every leg is confirmed, or none is:
the capture of the group's payment is its commit point. Until then any leg's failure fails the
group, which releases every leg and voids the authorization.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from booking.domain.errors import BookingError, ErrorCode
from booking.domain.model import BookingStatus


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


class GroupGuard(StrEnum):
    ALWAYS = "always"
    SIGNATURES_PENDING = "a leg still to sign"
    ALL_SIGNED = "every leg signed"
    HOSTS_PENDING = "a leg awaiting its host"
    ALL_READY = "every leg ready"

    def holds(self, legs: tuple[BookingStatus, ...]) -> bool:
        signing = BookingStatus.AWAITING_SIGNATURES in legs
        ready = all(leg is BookingStatus.AWAITING_GROUP for leg in legs)
        return {
            GroupGuard.ALWAYS: True,
            GroupGuard.SIGNATURES_PENDING: signing,
            GroupGuard.ALL_SIGNED: not signing,
            GroupGuard.HOSTS_PENDING: not ready,
            GroupGuard.ALL_READY: ready,
        }[self]


@dataclass(frozen=True)
class GroupTransition:
    source: GroupStatus
    trigger: GroupTrigger
    target: GroupStatus
    emits: str | None  # None: the leg's own transition emitted this step's event
    guard: GroupGuard = GroupGuard.ALWAYS


GROUP_INITIALS = (
    (
        GroupStatus.AWAITING_SIGNATURES,
        "group checkout with documents",
        "booking.signatures_requested (per leg to sign)",
    ),
    (GroupStatus.PENDING_PAYMENT, "group checkout", "booking.group_checkout_requested"),
)

_GS, _GP = GroupStatus.AWAITING_SIGNATURES, GroupStatus.PENDING_PAYMENT
_GH, _GC = GroupStatus.AWAITING_HOSTS, GroupStatus.CAPTURING
_FAILED = "booking.group_failed"
GROUP_TRANSITIONS: tuple[GroupTransition, ...] = (
    # A leg signed while another still has to: the leg's booking.documents_signed says so.
    GroupTransition(_GS, GroupTrigger.LEG_SIGNED, _GS, None, GroupGuard.SIGNATURES_PENDING),
    # Docs-before-pay across legs: the one transition that asks payments for the total.
    GroupTransition(
        _GS, GroupTrigger.LEG_SIGNED, _GP, "booking.group_checkout_requested", GroupGuard.ALL_SIGNED
    ),
    GroupTransition(
        _GP,
        GroupTrigger.PAYMENT_AUTHORIZED,
        _GH,
        "booking.group_awaiting_hosts",
        GroupGuard.HOSTS_PENDING,
    ),
    GroupTransition(
        _GP,
        GroupTrigger.PAYMENT_AUTHORIZED,
        _GC,
        "booking.group_capture_requested",
        GroupGuard.ALL_READY,
    ),
    # A host accepted while another has not answered yet: the leg's booking.leg_ready says so.
    GroupTransition(_GH, GroupTrigger.LEG_READY, _GH, None, GroupGuard.HOSTS_PENDING),
    GroupTransition(
        _GH, GroupTrigger.LEG_READY, _GC, "booking.group_capture_requested", GroupGuard.ALL_READY
    ),
    GroupTransition(
        _GC, GroupTrigger.PAYMENT_CAPTURED, GroupStatus.CONFIRMED, "booking.group_confirmed"
    ),
    GroupTransition(_GC, GroupTrigger.PAYMENT_FAILED, GroupStatus.FAILED, _FAILED),
    GroupTransition(_GP, GroupTrigger.PAYMENT_FAILED, GroupStatus.FAILED, _FAILED),
    *(
        GroupTransition(source, GroupTrigger.LEG_FAILED, GroupStatus.FAILED, _FAILED)
        for source in (_GS, _GP, _GH)
    ),
    *(
        GroupTransition(source, GroupTrigger.HOLD_EXPIRED, GroupStatus.FAILED, _FAILED)
        for source in (_GS, _GP)
    ),
    GroupTransition(_GH, GroupTrigger.AUTHORIZATION_EXPIRING, GroupStatus.FAILED, _FAILED),
)


def group_transition(
    current: GroupStatus, trigger: GroupTrigger, legs: tuple[BookingStatus, ...]
) -> GroupTransition:
    """The group's transition for `trigger`, given its legs' statuses after the leg's own
    transition, or ILLEGAL_TRANSITION."""
    for candidate in GROUP_TRANSITIONS:
        if candidate.source == current and candidate.trigger == trigger:
            if candidate.guard.holds(legs):
                return candidate
    raise BookingError(
        ErrorCode.ILLEGAL_TRANSITION, f"cannot apply {trigger} to a {current} booking group"
    )


def group_mermaid() -> str:
    lines = ["stateDiagram-v2"]
    lines += [f"    [*] --> {status}: {label} / {event}" for status, label, event in GROUP_INITIALS]
    for t in GROUP_TRANSITIONS:
        guard = "" if t.guard is GroupGuard.ALWAYS else f" [{t.guard}]"
        emits = f" / {t.emits}" if t.emits else ""
        lines.append(f"    {t.source} --> {t.target}: {t.trigger}{guard}{emits}")
    terminal = {t.target for t in GROUP_TRANSITIONS} - {t.source for t in GROUP_TRANSITIONS}
    lines += [f"    {s} --> [*]" for s in sorted(terminal)]
    return "\n".join(lines) + "\n"
