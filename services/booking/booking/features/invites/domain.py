"""Smart Invites: their states, transition table and the `Invite` aggregate (pure).

A host invites a guest to one listing's time at a price (plus priced extras); the invite is
`open` until the guest accepts or declines, the host withdraws or it expires. Each way it ends
emits booking.invite_closed with its outcome. Acting on an invite that is no longer open is
refused with the reason the client can act on (`invite_expired`, `invite_withdrawn`,
`invite_closed`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from booking.domain import limits
from booking.domain.errors import BookingError, ErrorCode
from domainkit.transitions import IllegalTransition, Transition, TransitionTable


class InviteStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class InviteTrigger(StrEnum):
    GUEST_ACCEPTED = "guest_accepted"
    GUEST_DECLINED = "guest_declined"
    HOST_WITHDREW = "host_withdrew"
    INVITE_EXPIRED = "invite_expired"


SENT_EVENT: Final = "booking.invite_sent"
CLOSED_EVENT: Final = "booking.invite_closed"
# The durable timer (a `scheduled_jobs` kind, keyed by the invite) that expires an invite still
# open at `expires_at`; its handler is `timers.py`'s.
INVITE_EXPIRY: Final = "invite_expiry"
INVITE_INITIAL = (InviteStatus.OPEN, "host sends", SENT_EVENT)
INVITE_TABLE: TransitionTable[InviteStatus, InviteTrigger] = TransitionTable(
    {
        (InviteStatus.OPEN, trigger): Transition(target, (CLOSED_EVENT,))
        for trigger, target in (
            (InviteTrigger.GUEST_ACCEPTED, InviteStatus.ACCEPTED),
            (InviteTrigger.GUEST_DECLINED, InviteStatus.DECLINED),
            (InviteTrigger.HOST_WITHDREW, InviteStatus.WITHDRAWN),
            (InviteTrigger.INVITE_EXPIRED, InviteStatus.EXPIRED),
        )
    }
)

# Why an invite can no longer be acted on, as the client sees it.
_CLOSED_CODE = {
    InviteStatus.EXPIRED: ErrorCode.INVITE_EXPIRED,
    InviteStatus.WITHDRAWN: ErrorCode.INVITE_WITHDRAWN,
}


def invite_transition(current: InviteStatus, trigger: InviteTrigger) -> Transition[InviteStatus]:
    """The invite's transition for `trigger`, or its closed reason's refusal."""
    try:
        return INVITE_TABLE.apply(current, trigger)
    except IllegalTransition:
        raise BookingError(
            _CLOSED_CODE.get(current, ErrorCode.INVITE_CLOSED),
            f"cannot apply {trigger} to an invite that is {current}",
        ) from None


@dataclass(frozen=True)
class InviteExtra:
    """A priced add-on the host offers with the invite (equipment, cleaning, catering...)."""

    name: str
    unit_amount: int  # minor units, in the listing's currency
    quantity: int = 1

    @property
    def amount(self) -> int:
        return self.unit_amount * self.quantity


@dataclass(frozen=True, slots=True)
class InviteStep:
    """What one trigger did to an invite: its new status and the events the table declares."""

    status: InviteStatus
    emits: tuple[str, ...]


@dataclass(slots=True)
class Invite:
    """An invite's identity, parties, deadline and status; each method applies one trigger and
    returns the step (the new status and its events)."""

    invite_id: uuid.UUID
    status: InviteStatus
    host_id: str
    guest_id: str
    expires_at: datetime
    version: int

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Invite:
        return cls(
            invite_id=row["invite_id"],
            status=InviteStatus(row["status"]),
            host_id=row["host_id"],
            guest_id=row["guest_id"],
            expires_at=row["expires_at"],
            version=row["version"],
        )

    # -- sending -----------------------------------------------------------------------------
    @staticmethod
    def check_terms(
        now: datetime,
        starts_at: datetime,
        expires_at: datetime,
    ) -> None:
        if starts_at <= now:
            raise BookingError(ErrorCode.INVALID_TIME_RANGE, "an invite must start in the future")
        if expires_at <= now:
            raise BookingError(ErrorCode.VALIDATION_FAILED, "expires_at must be in the future")
        if expires_at > starts_at:
            raise BookingError(
                ErrorCode.INVALID_TIME_RANGE,
                "expires_at must not be after starts_at: the guest accepts before the stay",
            )

    @staticmethod
    def total(price: int, extras: Iterable[InviteExtra], currency: str) -> int:
        """The invited total (what accepting charges): the price for the time plus every
        extra, a charge the processor can make."""
        total = price + sum(extra.amount for extra in extras)
        limits.check_charge(total, currency, "the invited total")
        return total

    # -- who may see it ----------------------------------------------------------------------
    def visible_to(self, *, guest_id: str | None = None, host_id: str | None = None) -> bool:
        """Its guest, its host, or staff (neither given); anyone else sees 404."""
        if guest_id is not None and self.guest_id != guest_id:
            return False
        return host_id is None or self.host_id == host_id

    # -- transitions -------------------------------------------------------------------------
    def apply(self, trigger: InviteTrigger) -> InviteStep:
        step = invite_transition(self.status, trigger)
        self.status = step.target
        return InviteStep(step.target, step.emits)

    def accept(self, now: datetime) -> InviteStep:
        """The guest accepts; an invite past `expires_at` is expired even if its timer has not
        fired yet."""
        step = invite_transition(self.status, InviteTrigger.GUEST_ACCEPTED)
        if self.expires_at <= now:
            raise BookingError(ErrorCode.INVITE_EXPIRED, f"invite {self.invite_id} has expired")
        self.status = step.target
        return InviteStep(step.target, step.emits)

    def decline(self) -> InviteStep:
        return self.apply(InviteTrigger.GUEST_DECLINED)

    def withdraw(self) -> InviteStep:
        return self.apply(InviteTrigger.HOST_WITHDREW)

    def expire(self) -> InviteStep | None:
        """The timer: an invite still open expires; one that ended already stays as it is."""
        if self.status is not InviteStatus.OPEN:
            return None
        return self.apply(InviteTrigger.INVITE_EXPIRED)


def invite_mermaid() -> str:
    status, label, event = INVITE_INITIAL
    lines = ["stateDiagram-v2", f"    [*] --> {status}: {label} / {event}"]
    rows = [
        (source, trigger, t)
        for (source, trigger), found in INVITE_TABLE.candidates.items()
        for t in found
    ]
    lines += [
        f"    {source} --> {t.target}: {trigger} / {', '.join(t.emits)}"
        for source, trigger, t in rows
    ]
    lines += [f"    {t.target} --> [*]" for _, _, t in rows]
    return "\n".join(lines) + "\n"
