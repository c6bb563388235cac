"""What an amendment's transition does to the database, in the caller's transaction: its status
(a checked compare-and-set), the booking's terms, the timers, and the events it declared.

- applied: the booking takes the new terms; a decrease's refund is requested.
- charging: the booking holds the union of its old and new time ranges while the increase is
  charged, so neither can be taken; the charge's outcome applies or restores.
- awaiting_signatures: a durable job creates the signing envelope after commit.
- any other end: the booking is left alone.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from booking.adapters import repository
from booking.domain.errors import BookingError, ErrorCode
from booking.domain.model import BookingStatus
from booking.domain.quote import Quote
from booking.features.amendments import repository as amendments_repo
from booking.features.amendments.domain import (
    AMENDMENT_EXPIRY,
    CREATE_AMENDMENT_ENVELOPE,
    Amendment,
    AmendmentStatus,
    Outcome,
)
from booking.features.amendments.domain.terms import Terms
from booking.features.amendments.messages import publish, refund_request
from booking.service_layer.timer_kinds import COMPLETION
from eventkit import scheduler
from eventkit.outbox import Outbox
from eventkit.rows import expect_changed


async def lock(
    conn: asyncpg.Connection, amendment_id: uuid.UUID
) -> tuple[asyncpg.Record, Amendment]:
    """The amendment and its booking, locked; 404 `amendment_not_found`."""
    found = await amendments_repo.lock(conn, amendment_id)
    if found is None:
        raise BookingError(ErrorCode.AMENDMENT_NOT_FOUND, f"amendment {amendment_id} not found")
    return found


async def set_booking(
    conn: asyncpg.Connection, booking: asyncpg.Record, terms: Terms, quote: Quote
) -> None:
    """Write the booking's terms (re-checked by the exclusion constraint); a confirmed
    booking's completion follows its end."""
    changed = await amendments_repo.set_booking_terms(conn, booking, terms, quote)
    expect_changed(changed, f"booking {booking['booking_id']} (locked) at its version")
    if booking["status"] == BookingStatus.CONFIRMED and terms.ends_at != booking["ends_at"]:
        booking_id = str(booking["booking_id"])
        await scheduler.cancel(conn, "booking", COMPLETION, booking_id)
        await scheduler.schedule(conn, "booking", COMPLETION, booking_id, terms.ends_at)


async def _write_status(conn: asyncpg.Connection, am: Amendment, outcome: Outcome) -> None:
    changed = await amendments_repo.transition(
        conn, am.amendment_id, outcome.source, outcome.status, outcome.reason or None
    )
    expect_changed(changed, f"amendment {am.amendment_id} (locked) from {outcome.source}")


async def carry_out(
    conn: asyncpg.Connection,
    outbox: Outbox,
    booking: asyncpg.Record,
    am: Amendment,
    outcome: Outcome,
    causation_id: uuid.UUID | None = None,
) -> None:
    """Write what `outcome` did to `am` (locked, as is its `booking`) and publish its events."""
    await _write_status(conn, am, outcome)
    if outcome.status is AmendmentStatus.AWAITING_SIGNATURES:
        await _request_signatures(conn, outbox, booking, am, outcome)
        return
    if outcome.status is AmendmentStatus.CHARGING:
        held = am.held_terms(booking["starts_at"], booking["ends_at"])
        await set_booking(conn, booking, held, am.previous_quote())
    refund = None
    if outcome.status is AmendmentStatus.APPLIED:
        await set_booking(conn, booking, am.terms, am.quote)
        refund = refund_request(am, booking)
        if refund is not None:
            changed = await amendments_repo.mark_refund_pending(conn, am.amendment_id)
            expect_changed(changed, f"amendment {am.amendment_id}: refund pending")
    # Charging or decided: nobody answers any more, so the expiry has nothing left to do.
    await scheduler.cancel(conn, "booking", AMENDMENT_EXPIRY, str(am.amendment_id))
    await publish(conn, outbox, outcome, am, booking, refund=refund, causation_id=causation_id)


async def _request_signatures(
    conn: asyncpg.Connection,
    outbox: Outbox,
    booking: asyncpg.Record,
    am: Amendment,
    outcome: Outcome,
) -> None:
    """The guest signs the listing's documents for the new terms; a durable job creates the
    envelope after commit. Unsigned by `respond_by` (the start), the amendment expires."""
    listing = await repository.get_listing(conn, booking["listing_id"])
    assert listing is not None
    await scheduler.schedule(
        conn,
        "booking",
        CREATE_AMENDMENT_ENVELOPE,
        str(am.amendment_id),
        datetime.now(UTC),
        {"sign_by": am.respond_by.isoformat()},
    )
    document_ids = amendments_repo.document_ids(listing)
    await publish(conn, outbox, outcome, am, booking, document_ids=document_ids)
