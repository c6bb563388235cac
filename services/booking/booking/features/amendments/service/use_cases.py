"""Use cases: amend a confirmed booking, report overtime, answer either. One transaction each:
booking's unit of work, which every use case, timer and event handler here takes (its
repositories, timers and outbox).

The rules (who may act, in which state, for how much) are the `Amendment` aggregate's
(`domain/`); what a transition writes and publishes is `outcomes.carry_out`; payments'
answers to an extra charge are `payments.py`'s; the read model is `views.py`; the SQL is in
`repository.py` (all in `features/amendments/`).

Lock order: the booking (and its group, by `get_booking`), then the amendment. At most one
amendment of a booking is open at a time (a unique index): a concurrent proposal gets 409
`amendment_pending`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from booking.config import BookingSettings
from booking.domain.errors import BookingError, ErrorCode
from booking.domain.quote import Quote
from booking.domain.refunds import Canceller
from booking.features.amendments.domain import (
    AMENDMENT_EXPIRY,
    Actor,
    Amendment,
    AmendmentKind,
    Outcome,
)
from booking.features.amendments.domain.terms import change_terms, check_overtime, with_overtime
from booking.features.amendments.messages import publish
from booking.features.amendments.repository import booking_terms, document_ids
from booking.features.amendments.service.outcomes import carry_out, lock
from booking.features.amendments.service.payments import on_charge_captured, on_charge_failed
from booking.features.amendments.views import document, view
from booking.service_layer import disputes, pricing
from booking.service_layer.unit_of_work import UnitOfWork

__all__ = [
    "Actor",
    "accept",
    "check_not_charging",
    "dispute",
    "end_with_booking",
    "expire",
    "on_charge_captured",
    "on_charge_failed",
    "propose_change",
    "reject",
    "report_overtime",
    "signatures_declined",
    "signed",
    "view",
    "withdraw",
]

# Callers that pass no window (the gateway passes the configured one) get the setting's default.
_DISPUTE_WINDOW_SECONDS = BookingSettings.model_fields["overtime_dispute_window_seconds"].default


async def _booking_for(uow: UnitOfWork, booking_id: uuid.UUID, actor: Actor) -> Mapping[str, Any]:
    row = await uow.bookings.get_booking(booking_id, for_update=True)
    owner = "guest_id" if actor.by is Canceller.GUEST else "host_id"
    if row is None or row[owner] != actor.actor_id:
        raise BookingError(ErrorCode.BOOKING_NOT_FOUND, f"booking {booking_id} not found")
    return row


async def _propose(
    uow: UnitOfWork, booking: Mapping[str, Any], proposal: tuple[Amendment, Outcome]
) -> dict[str, Any]:
    am, outcome = proposal
    if am.refunds:  # accepted, it would refund the difference
        await disputes.check_not_disputed(uow, booking)
    if not await uow.amendments.insert(am):
        raise BookingError(
            ErrorCode.AMENDMENT_PENDING, "this booking already has an open amendment"
        )
    await uow.timers.schedule(AMENDMENT_EXPIRY, str(am.amendment_id), am.respond_by)
    await publish(uow, outcome, am, booking)
    return await document(uow.amendments, am.amendment_id)


async def propose_change(
    uow: UnitOfWork,
    booking_id: uuid.UUID,
    actor: Actor,
    *,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    guests: int | None = None,
    extras: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    row = await _booking_for(uow, booking_id, actor)
    current = booking_terms(row)
    terms = change_terms(
        row["status"],
        current,
        datetime.now(UTC),
        starts_at=starts_at,
        ends_at=ends_at,
        guests=guests,
        extras=extras,
    )
    listing = pricing.on_sale(await uow.bookings.get_listing(row["listing_id"]), row["listing_id"])
    new = await pricing.price(
        uow, listing, terms.starts_at, terms.ends_at, guests=terms.guests, extras=terms.extras
    )
    # The agreement names the time: changing it on a listing with documents means a new
    # signature before anything is applied or charged.
    resign = bool(document_ids(listing)) and (
        (terms.starts_at, terms.ends_at) != (current.starts_at, current.ends_at)
    )
    proposal = Amendment.propose(
        row,
        current,
        AmendmentKind.CHANGE,
        actor.by,
        terms,
        new,
        row["starts_at"],  # unanswered at the start, it expires
        needs_signatures=resign,
    )
    return await _propose(uow, row, proposal)


async def report_overtime(
    uow: UnitOfWork,
    booking_id: uuid.UUID,
    host_id: str,
    minutes: int,
    dispute_window: timedelta | None = None,
) -> dict[str, Any]:
    """The host reports time used after the end, in 30-minute steps at the overtime rate; the
    guest disputes it within `dispute_window` (BOOKING_OVERTIME_DISPUTE_WINDOW_SECONDS)."""
    row = await _booking_for(uow, booking_id, Actor(Canceller.HOST, host_id))
    now = datetime.now(UTC)
    check_overtime(row["status"], row["ends_at"], now, minutes)
    listing = pricing.on_sale(await uow.bookings.get_listing(row["listing_id"]), row["listing_id"])
    rates: dict[str, int] = {}
    if listing["tax_jurisdiction"]:
        rates, _ = await uow.amendments.tax_rates(listing["tax_jurisdiction"])
    current = booking_terms(row)
    window = dispute_window or timedelta(seconds=_DISPUTE_WINDOW_SECONDS)
    proposal = Amendment.propose(
        row,
        current,
        AmendmentKind.OVERTIME,
        Canceller.HOST,
        current,
        with_overtime(Quote.of_booking(row), listing, minutes, rates),
        now + window,
    )
    return await _propose(uow, row, proposal)


async def accept(uow: UnitOfWork, amendment_id: uuid.UUID, actor: Actor) -> dict[str, Any]:
    booking, am = await lock(uow, amendment_id)
    am.check_party(actor, proposer=False)
    if am.refunds:  # a disputed payment cannot give money back
        await disputes.check_not_disputed(uow, booking)
    await carry_out(uow, booking, am, am.accept(booking["status"]))
    return await document(uow.amendments, amendment_id)


class Answer(Protocol):
    """A party's answer to an open amendment: lock it, carry out the decision, show it."""

    async def __call__(
        self,
        uow: UnitOfWork,
        amendment_id: uuid.UUID,
        actor: Actor,
        reason: str = "",
    ) -> dict[str, Any]: ...


def _answer(decide: Callable[[Amendment, Actor, str], Outcome]) -> Answer:
    """The answer whose decision `decide` makes of the amendment, the actor and the reason."""

    async def answer(
        uow: UnitOfWork, amendment_id: uuid.UUID, actor: Actor, reason: str = ""
    ) -> dict[str, Any]:
        booking, am = await lock(uow, amendment_id)
        await carry_out(uow, booking, am, decide(am, actor, reason))
        return await document(uow.amendments, amendment_id)

    return answer


reject = _answer(Amendment.reject)
withdraw = _answer(lambda am, actor, _reason: am.withdraw(actor))  # a withdrawal has no reason
dispute = _answer(Amendment.dispute)
"""The guest contests reported overtime (within the dispute window): nothing is charged."""


async def signed(uow: UnitOfWork, amendment_id: uuid.UUID) -> None:
    """The guest signed the new terms: go on as an accepted amendment."""
    booking, am = await lock(uow, amendment_id)
    outcome = am.sign(booking["status"])
    if outcome is not None:  # None: decided already
        await carry_out(uow, booking, am, outcome)


async def signatures_declined(uow: UnitOfWork, amendment_id: uuid.UUID, detail: str) -> None:
    """Declined or expired: the amendment fails and the booking stays as it was."""
    booking, am = await lock(uow, amendment_id)
    outcome = am.decline_signatures(detail)
    if outcome is not None:
        await carry_out(uow, booking, am, outcome)


async def check_not_charging(uow: UnitOfWork, booking_id: uuid.UUID) -> None:
    """A cancellation waits while an accepted amendment's increase is being charged: its
    refund could not include money not yet taken, which would then be kept. 409
    `amendment_pending` until the charge is decided (moments)."""
    if await uow.amendments.charging(booking_id):
        raise BookingError(
            ErrorCode.AMENDMENT_PENDING,
            f"booking {booking_id}: an amendment's increase is being charged; cancel once it "
            "is decided (moments)",
        )


async def end_with_booking(uow: UnitOfWork, booking_id: uuid.UUID, why: str) -> None:
    """The booking was cancelled: its open changes expire now (`amendment_decided`, outcome
    `expired`), their expiry timers with them."""
    for amendment_id in await uow.amendments.open_changes(booking_id):
        booking, am = await lock(uow, amendment_id)
        outcome = am.end_with_booking(why)
        if outcome is not None:
            await carry_out(uow, booking, am, outcome)


async def expire(uow: UnitOfWork, amendment_id: uuid.UUID) -> None:
    """The `amendment_expiry` timer: a change unanswered at the start expires; overtime not
    disputed within its window counts as accepted and is charged."""
    booking, am = await lock(uow, amendment_id)
    outcome = am.expire(booking["status"])
    if outcome is not None:
        await carry_out(uow, booking, am, outcome)
