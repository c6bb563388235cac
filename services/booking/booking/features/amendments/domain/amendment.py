"""Amendments and overtime: their states, their transition table, and the `Amendment` aggregate.

A change (time range, extras, guests) is proposed by the guest or the host before the start
and accepted by the other party; overtime is reported by the host after the end and accepted
(or disputed) by the guest. Accepting re-prices the booking: a decrease is applied at once with
a partial refund; an increase is first charged off-session and applied only when the charge
succeeds, so a failed charge leaves the booking as it was.

The table below (domainkit) is the only way an amendment's status changes. Each method of
`Amendment` checks who may act and applies one trigger; it returns an `Outcome`: the new status
and the events the transition declares (`emits`), which the service layer publishes as they are.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from booking.domain import limits
from booking.domain.errors import BookingError, ErrorCode
from booking.domain.model import BookingStatus
from booking.domain.quote import Quote
from booking.domain.refunds import Canceller
from booking.features.amendments.domain.terms import Difference, Terms, difference
from domainkit.ids import new_uuid
from domainkit.transitions import IllegalTransition, Row, Transition, TransitionTable


class AmendmentStatus(StrEnum):
    PROPOSED = "proposed"
    AWAITING_SIGNATURES = "awaiting_signatures"  # accepted; the guest signs the new terms
    CHARGING = "charging"  # accepted (and signed); the increase is being charged
    APPLIED = "applied"
    REJECTED = "rejected"
    FAILED = "failed"  # the charge failed; the booking is unchanged
    WITHDRAWN = "withdrawn"
    DISPUTED = "disputed"  # overtime the guest contests
    EXPIRED = "expired"  # a change not answered before the start


class AmendmentTrigger(StrEnum):
    ACCEPTED = "accepted"
    SIGNED = "signed"
    SIGNATURES_DECLINED = "signatures_declined"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    DISPUTED = "disputed"
    CHARGE_SUCCEEDED = "charge_succeeded"
    CHARGE_FAILED = "charge_failed"
    EXPIRED = "expired"  # a change: the start came; overtime: accepted when not disputed


class AmendmentKind(StrEnum):
    CHANGE = "change"
    OVERTIME = "overtime"


@dataclass(frozen=True)
class GuardContext:
    delta: int  # new total minus old
    kind: str
    resign: bool  # the guest signs the new terms first


class AmendmentGuard(StrEnum):
    """A guard of the table; its value names it in the lifecycle diagram. `re-sign`: a change
    of the time range of a listing with documents: the agreement's terms change, so the guest
    signs again before anything moves."""

    COSTS_MORE = "costs more"
    COSTS_THE_SAME_OR_LESS = "costs the same or less"
    RESIGN = "re-sign"
    NO_RESIGN_COSTS_MORE = "no re-sign, costs more"
    NO_RESIGN_COSTS_LESS = "no re-sign, costs the same or less"
    CHANGE = "change"
    OVERTIME = "overtime"

    def __call__(self, context: GuardContext) -> bool:
        more = context.delta > 0
        return {
            AmendmentGuard.COSTS_MORE: more,
            AmendmentGuard.COSTS_THE_SAME_OR_LESS: not more,
            AmendmentGuard.RESIGN: context.resign,
            AmendmentGuard.NO_RESIGN_COSTS_MORE: not context.resign and more,
            AmendmentGuard.NO_RESIGN_COSTS_LESS: not context.resign and not more,
            AmendmentGuard.CHANGE: context.kind == AmendmentKind.CHANGE,
            AmendmentGuard.OVERTIME: context.kind == AmendmentKind.OVERTIME,
        }[self]


PROPOSED_EVENT: Final = "booking.amendment_proposed"
DECIDED_EVENT: Final = "booking.amendment_decided"
CHARGE_EVENT: Final = "booking.charge_requested"
SIGNATURES_EVENT: Final = "booking.signatures_requested"
# The durable timers (`scheduled_jobs` kinds, keyed by the amendment): the expiry at
# `respond_by` (its handler is `timers.py`'s), and the job that creates the signing envelope
# after commit (its handler is the documents use case's).
AMENDMENT_EXPIRY: Final = "amendment_expiry"
CREATE_AMENDMENT_ENVELOPE: Final = "create_amendment_envelope"

S, T, G = AmendmentStatus, AmendmentTrigger, AmendmentGuard


def _decided(
    target: AmendmentStatus, guard: AmendmentGuard | None = None
) -> Transition[AmendmentStatus]:
    return Transition(target, (DECIDED_EVENT,), guard)


_ROWS: dict[tuple[AmendmentStatus, AmendmentTrigger], Row[AmendmentStatus]] = {
    (S.PROPOSED, T.ACCEPTED): (
        _decided(S.APPLIED, G.NO_RESIGN_COSTS_LESS),
        Transition(S.CHARGING, (CHARGE_EVENT,), G.NO_RESIGN_COSTS_MORE),
        Transition(S.AWAITING_SIGNATURES, (SIGNATURES_EVENT,), G.RESIGN),
    ),
    (S.AWAITING_SIGNATURES, T.SIGNED): (
        _decided(S.APPLIED, G.COSTS_THE_SAME_OR_LESS),
        Transition(S.CHARGING, (CHARGE_EVENT,), G.COSTS_MORE),
    ),
    (S.AWAITING_SIGNATURES, T.SIGNATURES_DECLINED): _decided(S.FAILED),
    (S.CHARGING, T.CHARGE_SUCCEEDED): _decided(S.APPLIED),
    (S.CHARGING, T.CHARGE_FAILED): _decided(S.FAILED),
    (S.PROPOSED, T.REJECTED): _decided(S.REJECTED),
    (S.PROPOSED, T.WITHDRAWN): _decided(S.WITHDRAWN),
    (S.PROPOSED, T.DISPUTED): _decided(S.DISPUTED, G.OVERTIME),
    (S.PROPOSED, T.EXPIRED): _decided(S.EXPIRED, G.CHANGE),
    (S.AWAITING_SIGNATURES, T.EXPIRED): _decided(S.EXPIRED, G.CHANGE),
}
TABLE: TransitionTable[AmendmentStatus, AmendmentTrigger] = TransitionTable(_ROWS)
# Still waiting for an answer (or a signature): the expiry timer acts on these only.
OPEN: Final = (S.PROPOSED, S.AWAITING_SIGNATURES)


def amendment_mermaid() -> str:
    return TABLE.mermaid([(S.PROPOSED, "propose or report overtime", PROPOSED_EVENT)])


@dataclass(frozen=True)
class Actor:
    by: Canceller  # guest or host
    actor_id: str


@dataclass(frozen=True)
class Outcome:
    """What one trigger did: the status it left (`source`) and led to, and the events its
    transition declares."""

    source: AmendmentStatus
    status: AmendmentStatus
    emits: tuple[str, ...]
    reason: str = ""


@dataclass(slots=True)
class Amendment:
    """An amendment of one booking; `guest_id` and `host_id` are its booking's parties."""

    amendment_id: uuid.UUID
    booking_id: uuid.UUID
    kind: AmendmentKind
    proposed_by: Canceller
    status: AmendmentStatus
    terms: Terms  # the booking's terms once applied
    quote: Quote  # and their price
    previous: dict[str, Any]  # the booking's terms before: Terms.snapshot
    delta: int  # new total minus old: > 0 is charged, < 0 refunded
    currency: str
    respond_by: datetime
    needs_signatures: bool
    correlation_id: uuid.UUID
    guest_id: str
    host_id: str

    @classmethod
    def propose(
        cls,
        booking: Mapping[str, Any],
        current: Terms,
        kind: AmendmentKind,
        by: Canceller,
        terms: Terms,
        quote: Quote,
        respond_by: datetime,
        *,
        needs_signatures: bool = False,
    ) -> tuple[Amendment, Outcome]:
        """A new amendment of `booking` (now at `current`); refused when the money would move
        both ways, or when the increase is a charge the processor would refuse."""
        old = Quote.of_booking(booking)
        change = difference(old, quote)
        if change.amount > 0:  # charged off-session when accepted
            limits.check_charge(change.amount, booking["currency"], "the extra charge")
        amendment = cls(
            amendment_id=new_uuid(),
            booking_id=booking["booking_id"],
            kind=kind,
            proposed_by=by,
            status=S.PROPOSED,
            terms=terms,
            quote=quote,
            previous=current.snapshot(old),
            delta=change.amount,
            currency=booking["currency"],
            respond_by=respond_by,
            needs_signatures=needs_signatures,
            correlation_id=booking["correlation_id"],
            guest_id=booking["guest_id"],
            host_id=booking["host_id"],
        )
        return amendment, Outcome(S.PROPOSED, S.PROPOSED, (PROPOSED_EVENT,))

    @property
    def refunds(self) -> bool:
        """Applied, it gives money back (refused while the payment is disputed)."""
        return self.delta < 0

    def change(self) -> Difference:
        return difference(Quote.of(self.previous["quote"]), self.quote)

    def previous_terms(self) -> Terms:
        return Terms.of_snapshot(self.previous)

    def previous_quote(self) -> Quote:
        return Quote.of(self.previous["quote"])

    def held_terms(self, starts_at: datetime, ends_at: datetime) -> Terms:
        """While an increase is charged the booking holds the union of its time range
        (`starts_at`, `ends_at`) and the new one, at its old guests, extras and price."""
        before = self.previous_terms()
        return Terms(
            min(self.terms.starts_at, starts_at),
            max(self.terms.ends_at, ends_at),
            before.guests,
            before.extras,
        )

    def check_party(self, actor: Actor, *, proposer: bool) -> None:
        """`actor` is a party of the booking and the proposer (or the other party)."""
        owner = self.guest_id if actor.by is Canceller.GUEST else self.host_id
        if owner != actor.actor_id:
            raise BookingError(
                ErrorCode.AMENDMENT_NOT_FOUND, f"amendment {self.amendment_id} not found"
            )
        if (self.proposed_by == actor.by) != proposer:
            who = "its proposer" if proposer else "the other party"
            raise BookingError(ErrorCode.FORBIDDEN, f"only {who} can do that")

    def accept(self, booking_status: str) -> Outcome:
        """The other party accepted (the caller checked `check_party`), or overtime's dispute
        window ran out: re-sign first, apply a decrease, or charge an increase."""
        return self._apply(T.ACCEPTED, booking_status=booking_status)

    def sign(self, booking_status: str) -> Outcome | None:
        """The guest signed the new terms: on as accepted. None: decided already."""
        if self.status != S.AWAITING_SIGNATURES:
            return None
        return self._apply(T.SIGNED, booking_status=booking_status)

    def decline_signatures(self, detail: str) -> Outcome | None:
        if self.status != S.AWAITING_SIGNATURES:
            return None
        return self._apply(T.SIGNATURES_DECLINED, detail)

    def reject(self, actor: Actor, reason: str = "") -> Outcome:
        self.check_party(actor, proposer=False)
        return self._apply(T.REJECTED, reason)

    def withdraw(self, actor: Actor) -> Outcome:
        self.check_party(actor, proposer=True)
        return self._apply(T.WITHDRAWN)

    def dispute(self, actor: Actor, reason: str = "") -> Outcome:
        """The guest contests reported overtime: nothing is charged."""
        self.check_party(actor, proposer=False)
        return self._apply(T.DISPUTED, reason)

    def expire(self, booking_status: str) -> Outcome | None:
        """`respond_by` came: a change expires; overtime not disputed counts as accepted.
        None: decided already."""
        if self.status not in OPEN:
            return None
        if self.kind == AmendmentKind.OVERTIME:
            return self.accept(booking_status)
        return self._apply(T.EXPIRED, "not answered before the start")

    def end_with_booking(self, why: str) -> Outcome | None:
        """The booking was cancelled: a change nobody answered (or signed) yet can no longer
        be, and expires now rather than at its `respond_by`. None: decided already, or
        overtime (reported after a stay, which a cancelled booking never had)."""
        if self.status not in OPEN or self.kind != AmendmentKind.CHANGE:
            return None
        return self._apply(T.EXPIRED, why)

    def charge_succeeded(self) -> Outcome | None:
        """None: a redelivered fact."""
        if self.status != S.CHARGING:
            return None
        return self._apply(T.CHARGE_SUCCEEDED)

    def charge_failed(self, reason: str) -> Outcome | None:
        if self.status != S.CHARGING:
            return None
        return self._apply(T.CHARGE_FAILED, reason)

    def _apply(
        self, trigger: AmendmentTrigger, reason: str = "", *, booking_status: str | None = None
    ) -> Outcome:
        context = GuardContext(self.delta, self.kind, self.needs_signatures)
        try:
            step = TABLE.apply(self.status, trigger, context)
        except IllegalTransition:
            raise BookingError(
                ErrorCode.ILLEGAL_TRANSITION, f"cannot apply {trigger} to a {self.status} amendment"
            ) from None
        if booking_status is not None:
            allowed = (BookingStatus.CONFIRMED,) + (
                (BookingStatus.COMPLETED,) if self.kind == AmendmentKind.OVERTIME else ()
            )
            if booking_status not in allowed:
                raise BookingError(ErrorCode.ILLEGAL_TRANSITION, f"the booking is {booking_status}")
        source, self.status = self.status, step.target
        return Outcome(source, step.target, step.emits, reason)
