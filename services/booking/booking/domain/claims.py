"""Damage claims against a booking's security deposit: their states, transitions and rules.

A host files a claim (an amount, a description, evidence) from the booking's end until the end
plus the claim window (72 h by default). The guest accepts or contests it within the response
window (48 h); unanswered, it waits for an admin. An admin decides a contested or unanswered
claim (0 up to the amount claimed). An accepted or decided amount above 0 is charged
off-session; 0 dismisses the claim. The host may withdraw a claim while it is open.

Every window is inclusive to the second at both ends. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from booking.domain.errors import BookingError, ErrorCode

CLAIM_WINDOW = timedelta(hours=72)
RESPONSE_WINDOW = timedelta(hours=48)
MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
MAX_EVIDENCE_FILES = 10
EVIDENCE_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/heic",
        "application/pdf",
        "text/plain",
    }
)


class ClaimStatus(StrEnum):
    OPEN = "open"  # filed; the guest may accept or contest until respond_by
    CONTESTED = "contested"  # the guest contests: an admin decides
    AWAITING_ADMIN = "awaiting_admin"  # the guest did not answer in time: an admin decides
    CHARGING = "charging"  # accepted or decided > 0: the off-session charge is running
    CHARGED = "charged"
    CHARGE_FAILED = "charge_failed"  # the charge failed; an admin may retry
    WITHDRAWN = "withdrawn"
    DISMISSED = "dismissed"  # decided 0 by an admin


class ClaimTrigger(StrEnum):
    ACCEPTED = "accepted"  # by the guest
    CONTESTED = "contested"  # by the guest
    RESPONSE_EXPIRED = "response_expired"  # timer at respond_by
    DECIDED = "decided"  # by an admin
    WITHDRAWN = "withdrawn"  # by the host
    CHARGE_SUCCEEDED = "charge_succeeded"
    CHARGE_FAILED = "charge_failed"
    RETRIED = "retried"  # by an admin, after a failed charge


OPEN_STATUSES = frozenset(
    {ClaimStatus.OPEN, ClaimStatus.CONTESTED, ClaimStatus.AWAITING_ADMIN, ClaimStatus.CHARGING}
)
"""Not ended: at most one per booking, and the deposit is not released meanwhile."""
ENDED_STATUSES = frozenset(ClaimStatus) - OPEN_STATUSES


@dataclass(frozen=True)
class ClaimTransition:
    source: ClaimStatus
    trigger: ClaimTrigger
    target: ClaimStatus
    emits: str
    guard: str = ""  # "amount > 0" or "amount = 0"


_O, _C, _A = ClaimStatus.OPEN, ClaimStatus.CONTESTED, ClaimStatus.AWAITING_ADMIN
_DECIDED = "booking.claim_decided"
_CHARGE = "booking.claim_decided + booking.charge_requested"
CLAIM_TRANSITIONS: tuple[ClaimTransition, ...] = (
    ClaimTransition(_O, ClaimTrigger.ACCEPTED, ClaimStatus.CHARGING, _CHARGE),
    ClaimTransition(_O, ClaimTrigger.CONTESTED, _C, "-"),
    ClaimTransition(_O, ClaimTrigger.RESPONSE_EXPIRED, _A, "-"),
    *(
        ClaimTransition(source, ClaimTrigger.DECIDED, ClaimStatus.CHARGING, _CHARGE, "amount > 0")
        for source in (_C, _A)
    ),
    *(
        ClaimTransition(source, ClaimTrigger.DECIDED, ClaimStatus.DISMISSED, _DECIDED, "amount = 0")
        for source in (_C, _A)
    ),
    *(
        ClaimTransition(source, ClaimTrigger.WITHDRAWN, ClaimStatus.WITHDRAWN, _DECIDED)
        for source in (_O, _C, _A)
    ),
    ClaimTransition(ClaimStatus.CHARGING, ClaimTrigger.CHARGE_SUCCEEDED, ClaimStatus.CHARGED, "-"),
    ClaimTransition(
        ClaimStatus.CHARGING, ClaimTrigger.CHARGE_FAILED, ClaimStatus.CHARGE_FAILED, "-"
    ),
    ClaimTransition(
        ClaimStatus.CHARGE_FAILED,
        ClaimTrigger.RETRIED,
        ClaimStatus.CHARGING,
        "booking.charge_requested",
    ),
)


def claim_transition(
    current: ClaimStatus | str, trigger: ClaimTrigger, amount: int = 0
) -> ClaimTransition:
    """The transition `trigger` takes from `current` (for a decision, with its `amount`);
    409 `illegal_transition` when there is none."""
    for t in CLAIM_TRANSITIONS:
        if t.source == current and t.trigger == trigger:
            if t.guard == "amount > 0" and amount <= 0:
                continue
            if t.guard == "amount = 0" and amount != 0:
                continue
            return t
    raise BookingError(ErrorCode.ILLEGAL_TRANSITION, f"cannot apply {trigger} to a {current} claim")


def claim_mermaid() -> str:
    lines = ["stateDiagram-v2", "    [*] --> open: host files / booking.claim_filed"]
    for t in CLAIM_TRANSITIONS:
        guard = f" [{t.guard}]" if t.guard else ""
        lines.append(f"    {t.source} --> {t.target}: {t.trigger}{guard} / {t.emits}")
    terminal = {t.target for t in CLAIM_TRANSITIONS} - {t.source for t in CLAIM_TRANSITIONS}
    lines += [f"    {s} --> [*]" for s in sorted(terminal)]
    return "\n".join(lines) + "\n"


def remaining_deposit(deposit: int, committed: int) -> int:
    """What a new claim may still ask: the deposit less what earlier claims charged or are
    charging."""
    return max(deposit - committed, 0)


def check_filing(
    *,
    now: datetime,
    ends_at: datetime,
    deposit: int,
    committed: int,
    amount: int,
    has_open_claim: bool,
    window: timedelta = CLAIM_WINDOW,
) -> None:
    """A host's new claim: a deposit, within [end, end + window], none open, within what is
    left of the deposit. Raises BookingError."""
    if deposit <= 0:
        raise BookingError(ErrorCode.NO_DEPOSIT, "this booking has no security deposit")
    if not ends_at <= now <= ends_at + window:
        raise BookingError(
            ErrorCode.CLAIM_WINDOW_CLOSED,
            f"claims are filed after the end, until {(ends_at + window).isoformat()}",
        )
    if has_open_claim:
        raise BookingError(ErrorCode.CLAIM_OPEN, "this booking already has an open claim")
    if amount <= 0:
        raise BookingError(ErrorCode.VALIDATION_FAILED, "a claim's amount must be above 0")
    left = remaining_deposit(deposit, committed)
    if amount > left:
        raise BookingError(
            ErrorCode.CLAIM_EXCEEDS_DEPOSIT,
            f"{amount} is more than what is left of the deposit ({left} of {deposit})",
        )


def check_response(*, now: datetime, respond_by: datetime) -> None:
    """The guest answers (accepts or contests) until respond_by, inclusive."""
    if now > respond_by:
        raise BookingError(
            ErrorCode.CLAIM_RESPONSE_WINDOW_CLOSED,
            f"the claim could be answered until {respond_by.isoformat()}; an admin decides it",
        )


def check_decision(amount: int, claimed: int) -> None:
    if not 0 <= amount <= claimed:
        raise BookingError(
            ErrorCode.VALIDATION_FAILED, f"a decision is between 0 and the claimed {claimed}"
        )


def check_evidence(filename: str, content_type: str, size: int) -> None:
    """An evidence file: an image, a PDF or text, at most 10 MB, not empty."""
    if not filename or len(filename) > 255 or not filename.isprintable():
        raise BookingError(
            ErrorCode.EVIDENCE_INVALID, "an evidence file name is 1 to 255 printable characters"
        )
    base = content_type.split(";", 1)[0].strip().lower()
    if base not in EVIDENCE_TYPES:
        raise BookingError(
            ErrorCode.EVIDENCE_INVALID,
            f"{filename}: {base or 'no content type'} is not accepted (images, PDF or text)",
        )
    if size <= 0 or size > MAX_EVIDENCE_BYTES:
        raise BookingError(
            ErrorCode.EVIDENCE_INVALID,
            f"{filename}: {size} bytes (1 byte to {MAX_EVIDENCE_BYTES} bytes per file)",
        )
