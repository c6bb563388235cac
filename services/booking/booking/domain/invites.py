"""Smart Invite states and their transition table (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from booking.domain.errors import BookingError, ErrorCode


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


@dataclass(frozen=True)
class InviteTransition:
    source: InviteStatus
    trigger: InviteTrigger
    target: InviteStatus
    emits: str


INVITE_INITIAL = (InviteStatus.OPEN, "host sends", "booking.invite_sent")
INVITE_TRANSITIONS: tuple[InviteTransition, ...] = tuple(
    InviteTransition(InviteStatus.OPEN, trigger, target, "booking.invite_closed")
    for trigger, target in (
        (InviteTrigger.GUEST_ACCEPTED, InviteStatus.ACCEPTED),
        (InviteTrigger.GUEST_DECLINED, InviteStatus.DECLINED),
        (InviteTrigger.HOST_WITHDREW, InviteStatus.WITHDRAWN),
        (InviteTrigger.INVITE_EXPIRED, InviteStatus.EXPIRED),
    )
)

# Why an invite can no longer be acted on, as the client sees it.
_CLOSED_CODE = {
    InviteStatus.EXPIRED: ErrorCode.INVITE_EXPIRED,
    InviteStatus.WITHDRAWN: ErrorCode.INVITE_WITHDRAWN,
}


def invite_transition(current: InviteStatus, trigger: InviteTrigger) -> InviteTransition:
    for candidate in INVITE_TRANSITIONS:
        if candidate.source == current and candidate.trigger == trigger:
            return candidate
    raise BookingError(
        _CLOSED_CODE.get(current, ErrorCode.INVITE_CLOSED),
        f"cannot apply {trigger} to an invite that is {current}",
    )


def invite_mermaid() -> str:
    status, label, event = INVITE_INITIAL
    lines = ["stateDiagram-v2", f"    [*] --> {status}: {label} / {event}"]
    lines += [f"    {t.source} --> {t.target}: {t.trigger} / {t.emits}" for t in INVITE_TRANSITIONS]
    lines += [f"    {t.target} --> [*]" for t in INVITE_TRANSITIONS]
    return "\n".join(lines) + "\n"
