"""The rules of filing and answering a damage claim, as pure checks over values: the claim
window, the deposit left, the response window, a decision's bounds, an evidence file.

Every window is inclusive to the second at both ends; both windows' lengths come from the
settings (`BOOKING_CLAIM_WINDOW_SECONDS`, `BOOKING_CLAIM_RESPONSE_WINDOW_SECONDS`, whose defaults
live in `booking/config.py` only). Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from booking.domain.errors import BookingError, ErrorCode
from booking.domain.model import BookingStatus

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
FILEABLE_BOOKING_STATUSES = frozenset({BookingStatus.CONFIRMED, BookingStatus.COMPLETED})


@dataclass(frozen=True)
class ClaimWindows:
    """How long claims may be filed after a booking's end, and answered after filing. Built
    from the settings (their one home) in bootstrap and passed in."""

    claim: timedelta
    response: timedelta


@dataclass(frozen=True)
class Evidence:
    filename: str
    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class ClaimedBooking:
    """A booking as its claims see it (the row locked before any of its claims)."""

    booking_id: uuid.UUID
    host_id: str
    guest_id: str
    status: str
    currency: str
    ends_at: datetime
    deposit: int
    deposit_released: bool
    payment_id: str | None

    @property
    def holds_deposit(self) -> bool:
        """A deposit secured on a payment and not released yet."""
        return bool(self.deposit) and not self.deposit_released and bool(self.payment_id)

    def window_over(self, now: datetime, windows: ClaimWindows) -> bool:
        return now >= self.ends_at + windows.claim

    def may_release(self, *, window_over: bool) -> bool:
        """Claims can no longer be filed and there is a deposit to release."""
        return self.holds_deposit and window_over


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
    window: timedelta,
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


def check_fileable(booking: ClaimedBooking, host_id: str) -> None:
    """Who may file, on which booking (before anything about the claim itself)."""
    if booking.host_id != host_id:
        raise BookingError(ErrorCode.BOOKING_NOT_FOUND, f"booking {booking.booking_id} not found")
    if booking.status not in FILEABLE_BOOKING_STATUSES:
        raise BookingError(
            ErrorCode.ILLEGAL_TRANSITION, f"a {booking.status} booking has no claims"
        )
    if booking.deposit_released:
        raise BookingError(ErrorCode.DEPOSIT_RELEASED, "the deposit was released already")
