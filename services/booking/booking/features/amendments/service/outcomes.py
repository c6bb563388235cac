"""What an amendment's transition does to the database, in the unit of work's transaction: its
status (a checked compare-and-set), the booking's terms, the timers, and the events it declared.

- applied: the booking takes the new terms; a decrease's refund is requested.
- charging: the booking holds the union of its old and new time ranges while the increase is
  charged, so neither can be taken; the charge's outcome applies or restores.
- awaiting_signatures: a durable job creates the signing envelope after commit.
- any other end: the booking is left alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from booking.domain.errors import BookingError, ErrorCode
from booking.domain.model import BookingStatus
from booking.domain.quote import Quote
from booking.features.amendments.domain import (
    AMENDMENT_EXPIRY,
    CREATE_AMENDMENT_ENVELOPE,
    Amendment,
    AmendmentStatus,
    Outcome,
)
from booking.features.amendments.domain.terms import Terms
from booking.features.amendments.messages import publish, refund_request
from booking.features.amendments.repository import document_ids
from booking.service_layer.timer_kinds import COMPLETION
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.rows import expect_changed


async def lock(uow: UnitOfWork, amendment_id: uuid.UUID) -> tuple[Mapping[str, Any], Amendment]:
    """The amendment and its booking, locked; 404 `amendment_not_found`."""
    found = await uow.amendments.lock(amendment_id)
    if found is None:
        raise BookingError(ErrorCode.AMENDMENT_NOT_FOUND, f"amendment {amendment_id} not found")
    return found


async def set_booking(
    uow: UnitOfWork, booking: Mapping[str, Any], terms: Terms, quote: Quote
) -> None:
    """Write the booking's terms (re-checked by the exclusion constraint); a confirmed
    booking's completion follows its end."""
    changed = await uow.amendments.set_booking_terms(booking, terms, quote)
    expect_changed(changed, f"booking {booking['booking_id']} (locked) at its version")
    if booking["status"] == BookingStatus.CONFIRMED and terms.ends_at != booking["ends_at"]:
        booking_id = str(booking["booking_id"])
        await uow.timers.cancel(COMPLETION, booking_id)
        await uow.timers.schedule(COMPLETION, booking_id, terms.ends_at)


async def _write_status(uow: UnitOfWork, am: Amendment, outcome: Outcome) -> None:
    changed = await uow.amendments.transition(
        am.amendment_id, outcome.source, outcome.status, outcome.reason or None
    )
    expect_changed(changed, f"amendment {am.amendment_id} (locked) from {outcome.source}")


async def carry_out(
    uow: UnitOfWork,
    booking: Mapping[str, Any],
    am: Amendment,
    outcome: Outcome,
    causation_id: uuid.UUID | None = None,
) -> None:
    """Write what `outcome` did to `am` (locked, as is its `booking`) and publish its events."""
    await _write_status(uow, am, outcome)
    if outcome.status is AmendmentStatus.AWAITING_SIGNATURES:
        await _request_signatures(uow, booking, am, outcome)
        return
    if outcome.status is AmendmentStatus.CHARGING:
        held = am.held_terms(booking["starts_at"], booking["ends_at"])
        await set_booking(uow, booking, held, am.previous_quote())
    refund = None
    if outcome.status is AmendmentStatus.APPLIED:
        await set_booking(uow, booking, am.terms, am.quote)
        refund = refund_request(am, booking)
        if refund is not None:
            changed = await uow.amendments.mark_refund_pending(am.amendment_id)
            expect_changed(changed, f"amendment {am.amendment_id}: refund pending")
    # Charging or decided: nobody answers any more, so the expiry has nothing left to do.
    await uow.timers.cancel(AMENDMENT_EXPIRY, str(am.amendment_id))
    await publish(uow, outcome, am, booking, refund=refund, causation_id=causation_id)


async def _request_signatures(
    uow: UnitOfWork, booking: Mapping[str, Any], am: Amendment, outcome: Outcome
) -> None:
    """The guest signs the listing's documents for the new terms; a durable job creates the
    envelope after commit. Unsigned by `respond_by` (the start), the amendment expires."""
    listing = await uow.bookings.get_listing(booking["listing_id"])
    assert listing is not None
    await uow.timers.schedule(
        CREATE_AMENDMENT_ENVELOPE,
        str(am.amendment_id),
        datetime.now(UTC),
        {"sign_by": am.respond_by.isoformat()},
    )
    documents = document_ids(listing)
    await publish(uow, outcome, am, booking, document_ids=documents)
