"""Damage claims against a booking's security deposit: the transition table, the `Claim`
aggregate that applies it, and when the deposit is released (the checks over values the
aggregate applies are in `rules.py`).

A host files a claim (an amount, a description, evidence) from the booking's end until the end
plus the claim window (`BOOKING_CLAIM_WINDOW_SECONDS`). The guest accepts or contests it within
the response window (`BOOKING_CLAIM_RESPONSE_WINDOW_SECONDS`); unanswered, it waits for an
admin. An admin decides a contested or unanswered claim (0 up to the amount claimed). An
accepted or decided amount above 0 is charged off-session; 0 dismisses the claim. The host may
withdraw a claim while it is open. Both windows' defaults live in `booking/config.py` only.

Every window is inclusive to the second at both ends. Each method of `Claim` applies one trigger
and returns a `Change`: the new status and the events the table declares for it (`emits`, in the
order they are published). Pure: no I/O.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from booking.domain import limits
from booking.domain.errors import BookingError, ErrorCode
from booking.features.claims.domain.rules import (
    ClaimedBooking,
    ClaimWindows,
    Evidence,
    check_decision,
    check_evidence,
    check_fileable,
    check_filing,
    check_response,
)
from domainkit.transitions import IllegalTransition, Transition, TransitionTable

CHARGE_PREFIX = "clm_"

CLAIM_FILED = "booking.claim_filed"
CLAIM_DECIDED = "booking.claim_decided"
CHARGE_REQUESTED = "booking.charge_requested"
# The durable timers (`scheduled_jobs` kinds; their handlers are `timers.py`'s): the guest's
# response window, keyed by the claim, and the deposit's release at the end of the claim
# window, keyed by the booking.
CLAIM_RESPONSE_EXPIRY = "claim_response_expiry"
DEPOSIT_RELEASE = "deposit_release"


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
class AmountGuard:
    """A decision's guard on the decided amount; its name is what the diagram shows."""

    name: str
    test: Callable[[int], bool]

    def __call__(self, amount: int) -> bool:
        return self.test(amount)

    def __str__(self) -> str:
        return self.name


ABOVE_ZERO = AmountGuard("amount > 0", lambda amount: amount > 0)
ZERO = AmountGuard("amount = 0", lambda amount: amount == 0)

# The booking's outbox has always held the charge request before the decision: kept so.
_CHARGE = Transition(ClaimStatus.CHARGING, (CHARGE_REQUESTED, CLAIM_DECIDED))
_DECIDE = (
    Transition(ClaimStatus.CHARGING, (CHARGE_REQUESTED, CLAIM_DECIDED), ABOVE_ZERO),
    Transition(ClaimStatus.DISMISSED, (CLAIM_DECIDED,), ZERO),
)
_WITHDRAW = Transition(ClaimStatus.WITHDRAWN, (CLAIM_DECIDED,))
TABLE: TransitionTable[ClaimStatus, ClaimTrigger] = TransitionTable(
    {
        (ClaimStatus.OPEN, ClaimTrigger.ACCEPTED): _CHARGE,
        (ClaimStatus.OPEN, ClaimTrigger.CONTESTED): Transition(ClaimStatus.CONTESTED),
        (ClaimStatus.OPEN, ClaimTrigger.RESPONSE_EXPIRED): Transition(ClaimStatus.AWAITING_ADMIN),
        (ClaimStatus.CONTESTED, ClaimTrigger.DECIDED): _DECIDE,
        (ClaimStatus.AWAITING_ADMIN, ClaimTrigger.DECIDED): _DECIDE,
        (ClaimStatus.OPEN, ClaimTrigger.WITHDRAWN): _WITHDRAW,
        (ClaimStatus.CONTESTED, ClaimTrigger.WITHDRAWN): _WITHDRAW,
        (ClaimStatus.AWAITING_ADMIN, ClaimTrigger.WITHDRAWN): _WITHDRAW,
        (ClaimStatus.CHARGING, ClaimTrigger.CHARGE_SUCCEEDED): Transition(ClaimStatus.CHARGED),
        (ClaimStatus.CHARGING, ClaimTrigger.CHARGE_FAILED): Transition(ClaimStatus.CHARGE_FAILED),
        (ClaimStatus.CHARGE_FAILED, ClaimTrigger.RETRIED): Transition(
            ClaimStatus.CHARGING, (CHARGE_REQUESTED,)
        ),
    }
)


def claim_transition(
    current: ClaimStatus | str, trigger: ClaimTrigger, amount: int = 0
) -> Transition[ClaimStatus]:
    """The transition `trigger` takes from `current` (for a decision, with its `amount`);
    409 `illegal_transition` when there is none."""
    try:
        return TABLE.apply(ClaimStatus(current), trigger, amount)
    except IllegalTransition:
        raise BookingError(
            ErrorCode.ILLEGAL_TRANSITION, f"cannot apply {trigger} to a {current} claim"
        ) from None


def claim_mermaid() -> str:
    return TABLE.mermaid([(ClaimStatus.OPEN, "host files", CLAIM_FILED)], joiner=" + ", nothing="-")


def charge_request_id(claim_id: uuid.UUID | str, attempt: int = 1) -> str:
    """Deterministic per claim and attempt (an admin's retry is a new request)."""
    base = f"{CHARGE_PREFIX}{claim_id}"
    return base if attempt <= 1 else f"{base}_{attempt}"


@dataclass(frozen=True)
class Change:
    """What one trigger did: the claim's new status and the events to publish."""

    status: ClaimStatus
    emits: tuple[str, ...]

    @property
    def charges(self) -> bool:
        return CHARGE_REQUESTED in self.emits


def _exceeds_left(amount: int, left: int) -> BookingError | None:
    if amount > left:
        return BookingError(ErrorCode.CLAIM_EXCEEDS_DEPOSIT, "more than is left of the deposit")
    return None


@dataclass(slots=True)
class Claim:
    """A claim's identity, status and the fields its rules read. Each method applies one
    trigger (or refuses with the domain error's code) and returns the `Change`."""

    claim_id: uuid.UUID
    booking_id: uuid.UUID
    host_id: str
    guest_id: str
    status: ClaimStatus
    amount: int
    currency: str
    respond_by: datetime
    decided_amount: int | None = None
    charge_request_id: str | None = None
    charge_attempts: int = 0
    version: int = 0

    @classmethod
    def file(
        cls,
        booking: ClaimedBooking,
        *,
        claim_id: uuid.UUID,
        host_id: str,
        amount: int,
        evidence: Iterable[Evidence],
        has_open_claim: bool,
        committed: int,
        now: datetime,
        windows: ClaimWindows,
    ) -> tuple[Claim, Change]:
        """A host's new claim on `booking`, `open` until now + the response window."""
        check_fileable(booking, host_id)
        limits.check_charge(amount, booking.currency, "the claim")  # what accepting it charges
        for item in evidence:
            check_evidence(item.filename, item.content_type, len(item.data))
        check_filing(
            now=now,
            ends_at=booking.ends_at,
            deposit=booking.deposit,
            committed=committed,
            amount=amount,
            has_open_claim=has_open_claim,
            window=windows.claim,
        )
        claim = cls(
            claim_id=claim_id,
            booking_id=booking.booking_id,
            host_id=booking.host_id,
            guest_id=booking.guest_id,
            status=ClaimStatus.OPEN,
            amount=amount,
            currency=booking.currency,
            respond_by=now + windows.response,
        )
        return claim, Change(ClaimStatus.OPEN, (CLAIM_FILED,))

    def _apply(self, trigger: ClaimTrigger, amount: int = 0) -> Change:
        step = claim_transition(self.status, trigger, amount)
        self.status = step.target
        return Change(step.target, step.emits)

    def _start_charge(self, amount: int, attempt: int) -> None:
        self.decided_amount = amount
        self.charge_attempts = attempt
        self.charge_request_id = charge_request_id(self.claim_id, attempt)

    def _answered_by(self, guest_id: str, trigger: ClaimTrigger, now: datetime) -> None:
        """Only the booking's guest answers (others do not see the claim), in time."""
        if guest_id != self.guest_id:
            raise BookingError(ErrorCode.CLAIM_NOT_FOUND, f"claim {self.claim_id} not found")
        claim_transition(self.status, trigger)
        check_response(now=now, respond_by=self.respond_by)

    def accept(self, guest_id: str, now: datetime, *, payment_id: str | None) -> Change:
        """The guest accepts: the whole amount is charged on the booking's payment."""
        self._answered_by(guest_id, ClaimTrigger.ACCEPTED, now)
        return self._conclude(ClaimTrigger.ACCEPTED, self.amount, payment_id)

    def contest(self, guest_id: str, now: datetime) -> Change:
        self._answered_by(guest_id, ClaimTrigger.CONTESTED, now)
        return self._apply(ClaimTrigger.CONTESTED)

    def decide(self, amount: int, *, left: int, payment_id: str | None) -> Change:
        """Staff decide 0 up to the amount claimed, within what the booking's other claims
        left of the deposit (`left`); 0 dismisses the claim."""
        check_decision(amount, self.amount)
        if amount > 0:
            limits.check_charge(amount, self.currency, "the decided amount")
        claim_transition(self.status, ClaimTrigger.DECIDED, amount)
        if error := _exceeds_left(amount, left):
            raise error
        return self._conclude(ClaimTrigger.DECIDED, amount, payment_id)

    def withdraw(self, host_id: str) -> Change:
        if host_id != self.host_id:
            raise BookingError(ErrorCode.CLAIM_NOT_FOUND, f"claim {self.claim_id} not found")
        return self._conclude(ClaimTrigger.WITHDRAWN, 0, None)

    def _conclude(self, trigger: ClaimTrigger, amount: int, payment_id: str | None) -> Change:
        step = claim_transition(self.status, trigger, amount)
        if step.target is ClaimStatus.CHARGING and not payment_id:
            raise BookingError(ErrorCode.ILLEGAL_TRANSITION, "the booking has no payment")
        change = self._apply(trigger, amount)
        if change.charges:
            self._start_charge(amount, attempt=1)
        else:
            self.decided_amount = amount
        return change

    def expire_response(self) -> Change | None:
        """The timer at respond_by: an unanswered claim waits for an admin (None: it was
        answered meanwhile)."""
        if self.status is not ClaimStatus.OPEN:
            return None
        return self._apply(ClaimTrigger.RESPONSE_EXPIRED)

    def retry(self, *, deposit_released: bool, left: int) -> Change:
        """An admin asks again for a failed charge: a new charge request, while the deposit is
        held and the decided amount still fits in what is left of it."""
        claim_transition(self.status, ClaimTrigger.RETRIED)
        if deposit_released:
            raise BookingError(ErrorCode.DEPOSIT_RELEASED, "the deposit was released already")
        amount = self.decided_amount or 0
        if error := _exceeds_left(amount, left):
            raise error
        change = self._apply(ClaimTrigger.RETRIED)
        self._start_charge(amount, self.charge_attempts + 1)
        return change

    def _answers_current_charge(self, request_id: str | None) -> bool:
        """False for a redelivered fact, or the answer to an earlier attempt."""
        return self.status is ClaimStatus.CHARGING and request_id == self.charge_request_id

    def charge_succeeded(self, request_id: str | None) -> Change | None:
        if not self._answers_current_charge(request_id):
            return None
        return self._apply(ClaimTrigger.CHARGE_SUCCEEDED)

    def charge_failed(self, request_id: str | None) -> Change | None:
        if not self._answers_current_charge(request_id):
            return None
        return self._apply(ClaimTrigger.CHARGE_FAILED)


@dataclass(frozen=True)
class Release:
    """The deposit's release: why, and what claims charged."""

    reason: str
    charged: int


def settled_release(claims: Iterable[tuple[str, int | None]]) -> Release | None:
    """Once the claim window is over (`ClaimedBooking.may_release`): the release, unless a
    claim is still open (`claims`: each claim's status and decided amount)."""
    claims = list(claims)
    if any(status in OPEN_STATUSES for status, _ in claims):
        return None
    charged = sum(amount or 0 for status, amount in claims if status == ClaimStatus.CHARGED)
    return Release("claim_settled" if claims else "no_claim", charged)
