"""Use cases: amend a confirmed booking, report overtime, and their money. One transaction each.

Lock order: the booking (and its group, by `get_booking`), then the amendment. At most one
amendment of a booking is open at a time (a unique index): a concurrent proposal gets 409
`amendment_pending`.

- A decrease is applied when accepted, with a partial refund in booking.amendment_decided.
- An increase is charged first (booking.charge_requested, off-session on the guest's saved
  payment method); meanwhile the booking holds the union of its old and new time ranges, so
  neither can be taken. The charge's success applies the change; its failure restores the
  booking exactly as it was.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from booking.adapters import repository
from booking.domain import limits
from booking.domain.amendments import (
    AmendmentStatus,
    AmendmentTrigger,
    Difference,
    amendment_transition,
    difference,
)
from booking.domain.errors import BookingError, ErrorCode
from booking.domain.model import BookingStatus
from booking.domain.quote import Line, Pricing, Quote, quote
from booking.domain.refunds import Canceller
from booking.service_layer import disputes, pricing
from booking.service_layer.checkout import COMPLETION
from eventkit import scheduler
from eventkit.outbox import Outbox
from marketplace_contracts import Envelope
from marketplace_contracts.events.booking import (
    AmendmentDecidedV1,
    AmendmentProposedV1,
    ChargeRequestedV1,
    RefundLine,
    RefundRequest,
    SignaturesRequestedV1,
)
from marketplace_contracts.events.payments import (
    PaymentCapturedV1,
    PaymentCapturedV2,
    PaymentFailedV1,
)

AMENDMENT_EXPIRY = "amendment_expiry"
CREATE_AMENDMENT_ENVELOPE = "create_amendment_envelope"
OVERTIME_REPORT_WINDOW = timedelta(hours=72)
OVERTIME_DISPUTE_WINDOW = timedelta(hours=48)
OVERTIME_STEP = timedelta(minutes=30)
_ANCHOR = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Actor:
    by: Canceller  # guest or host
    actor_id: str


def charge_request_id(amendment_id: uuid.UUID | str) -> str:
    return f"chg_{amendment_id}"


async def _booking_for(
    conn: asyncpg.Connection, booking_id: uuid.UUID, actor: Actor
) -> asyncpg.Record:
    row = await repository.get_booking(conn, booking_id, for_update=True)
    owner = "guest_id" if actor.by is Canceller.GUEST else "host_id"
    if row is None or row[owner] != actor.actor_id:
        raise BookingError(ErrorCode.BOOKING_NOT_FOUND, f"booking {booking_id} not found")
    return row


async def _insert(conn: asyncpg.Connection, amendment: dict[str, Any]) -> None:
    columns = ", ".join(amendment)
    params = ", ".join(f"${i}" for i in range(1, len(amendment) + 1))
    try:
        async with conn.transaction():
            await conn.execute(
                f"INSERT INTO booking.amendments ({columns}) VALUES ({params})",
                *(
                    json.dumps(v) if k in ("extras", "quote", "previous") else v
                    for k, v in amendment.items()
                ),
            )
    except asyncpg.UniqueViolationError:
        raise BookingError(
            ErrorCode.AMENDMENT_PENDING, "this booking already has an open amendment"
        ) from None


def _previous(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "starts_at": row["starts_at"].isoformat(),
        "ends_at": row["ends_at"].isoformat(),
        "guests": row["guests"],
        "extras": json.loads(row["extras"]),
        "quote": Quote.of_booking(row).as_dict(),
    }


async def _propose(
    conn: asyncpg.Connection,
    outbox: Outbox,
    row: asyncpg.Record,
    kind: str,
    by: Canceller,
    starts_at: datetime,
    ends_at: datetime,
    guests: int,
    extras: dict[str, int],
    new: Quote,
    respond_by: datetime,
    needs_signatures: bool = False,
) -> dict[str, Any]:
    change = difference(Quote.of_booking(row), new)  # refuses money moving both ways
    if change.amount < 0:  # accepted, it would refund the difference
        await disputes.check_not_disputed(conn, row)
    if change.amount > 0:  # charged off-session when accepted: a charge the processor makes
        limits.check_charge(change.amount, row["currency"], "the extra charge")
    amendment = {
        "amendment_id": uuid.uuid4(),
        "booking_id": row["booking_id"],
        "kind": kind,
        "proposed_by": by.value,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "guests": guests,
        "extras": extras,
        "quote": new.as_dict(),
        "previous": _previous(row),
        "delta": change.amount,
        "currency": row["currency"],
        "respond_by": respond_by,
        "correlation_id": row["correlation_id"],
        "needs_signatures": needs_signatures,
    }
    await _insert(conn, amendment)
    amendment_id = str(amendment["amendment_id"])
    await scheduler.schedule(conn, "booking", AMENDMENT_EXPIRY, amendment_id, respond_by)
    await outbox.add(
        conn,
        AmendmentProposedV1(
            amendment_id=amendment_id,
            booking_id=str(row["booking_id"]),
            kind=kind,
            proposed_by=by.value,
            starts_at=starts_at,
            ends_at=ends_at,
            guests=guests,
            extras=extras,
            delta=change.amount,
            currency=row["currency"],
            respond_by=respond_by,
        ),
        key=str(row["booking_id"]),
        correlation_id=row["correlation_id"],
    )
    return await view(conn, amendment["amendment_id"])


async def propose_change(
    conn: asyncpg.Connection,
    outbox: Outbox,
    booking_id: uuid.UUID,
    actor: Actor,
    *,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    guests: int | None = None,
    extras: dict[str, int] | None = None,
) -> dict[str, Any]:
    row = await _booking_for(conn, booking_id, actor)
    now = datetime.now(UTC)
    if row["status"] != BookingStatus.CONFIRMED or row["starts_at"] <= now:
        raise BookingError(
            ErrorCode.ILLEGAL_TRANSITION, "only a confirmed booking that has not started changes"
        )
    new_start = starts_at or row["starts_at"]
    new_end = ends_at or row["ends_at"]
    new_guests = guests or row["guests"]
    new_extras = json.loads(row["extras"]) if extras is None else dict(extras)
    if new_start <= now:
        raise BookingError(ErrorCode.INVALID_TIME_RANGE, "a booking must start in the future")
    current = (row["starts_at"], row["ends_at"], row["guests"], json.loads(row["extras"]))
    if (new_start, new_end, new_guests, new_extras) == current:
        raise BookingError(ErrorCode.VALIDATION_FAILED, "the proposal changes nothing")
    listing = await pricing.listing_for_sale(conn, row["listing_id"])
    new = await pricing.price(
        conn, listing, new_start, new_end, guests=new_guests, extras=new_extras
    )
    # The agreement names the time: changing it on a listing with documents means a new
    # signature before anything is applied or charged.
    resign = bool(json.loads(listing["required_documents"])) and (new_start, new_end) != (
        row["starts_at"],
        row["ends_at"],
    )
    return await _propose(
        conn,
        outbox,
        row,
        "change",
        actor.by,
        new_start,
        new_end,
        new_guests,
        new_extras,
        new,
        row["starts_at"],  # unanswered at the start, it expires
        resign,
    )


async def report_overtime(
    conn: asyncpg.Connection,
    outbox: Outbox,
    booking_id: uuid.UUID,
    host_id: str,
    minutes: int,
    dispute_window: timedelta = OVERTIME_DISPUTE_WINDOW,
) -> dict[str, Any]:
    """The host reports time used after the end, in 30-minute steps at the overtime rate."""
    row = await _booking_for(conn, booking_id, Actor(Canceller.HOST, host_id))
    now = datetime.now(UTC)
    if row["status"] not in (BookingStatus.CONFIRMED, BookingStatus.COMPLETED):
        raise BookingError(
            ErrorCode.ILLEGAL_TRANSITION, f"a {row['status']} booking has no overtime"
        )
    if not row["ends_at"] <= now <= row["ends_at"] + OVERTIME_REPORT_WINDOW:
        raise BookingError(
            ErrorCode.OVERTIME_WINDOW_CLOSED,
            "overtime is reported after the end, within 72 hours",
        )
    if minutes <= 0 or timedelta(minutes=minutes) % OVERTIME_STEP:
        raise BookingError(ErrorCode.VALIDATION_FAILED, "overtime comes in 30-minute steps")
    listing = await pricing.listing_for_sale(conn, row["listing_id"])
    rates: dict[str, int] = {}
    if listing["tax_jurisdiction"]:
        rates, _ = await repository.tax_rates(conn, listing["tax_jurisdiction"])
    extra = quote(
        Pricing(
            currency=listing["currency"],
            rate=listing["overtime_hourly_rate"] or listing["hourly_rate"],
            min_units=0,
            guest_service_fee_bps=listing["guest_service_fee_bps"],
            host_fee_bps=listing["platform_fee_bps"],
        ),
        _ANCHOR,  # priced by duration only: any slot-aligned range of that length
        _ANCHOR + timedelta(minutes=minutes),
        tax_rates=lambda code: rates.get(code, 0),
    )
    old = Quote.of_booking(row)
    merged = Quote(
        old.currency,
        old.lines
        + tuple(
            Line(
                f"overtime:{line.code}",
                line.kind,
                f"overtime {line.description}",
                line.quantity,
                line.unit_amount,
                line.amount,
                line.tax_code,
                line.refundable,
            )
            for line in extra.lines
        ),
        old.host_fee + extra.host_fee,
        old.host_fee_bps,
        old.tax_version,
    )
    return await _propose(
        conn,
        outbox,
        row,
        "overtime",
        Canceller.HOST,
        row["starts_at"],
        row["ends_at"],
        row["guests"],
        json.loads(row["extras"]),
        merged,
        now + dispute_window,
    )


async def _lock_amendment(
    conn: asyncpg.Connection, amendment_id: uuid.UUID
) -> tuple[asyncpg.Record, asyncpg.Record]:
    booking_id = await conn.fetchval(
        "SELECT booking_id FROM booking.amendments WHERE amendment_id = $1", amendment_id
    )
    if booking_id is None:
        raise BookingError(ErrorCode.AMENDMENT_NOT_FOUND, f"amendment {amendment_id} not found")
    row = await repository.get_booking(conn, booking_id, for_update=True)
    am = await conn.fetchrow(
        "SELECT * FROM booking.amendments WHERE amendment_id = $1 FOR UPDATE", amendment_id
    )
    assert row is not None and am is not None
    return row, am


def _check_party(row: asyncpg.Record, am: asyncpg.Record, actor: Actor, *, proposer: bool) -> None:
    owner = "guest_id" if actor.by is Canceller.GUEST else "host_id"
    if row[owner] != actor.actor_id:
        raise BookingError(
            ErrorCode.AMENDMENT_NOT_FOUND, f"amendment {am['amendment_id']} not found"
        )
    if (am["proposed_by"] == actor.by.value) != proposer:
        who = "its proposer" if proposer else "the other party"
        raise BookingError(ErrorCode.FORBIDDEN, f"only {who} can do that")


async def _decide(
    conn: asyncpg.Connection,
    outbox: Outbox,
    row: asyncpg.Record,
    am: asyncpg.Record,
    status: AmendmentStatus,
    reason: str = "",
    refund: RefundRequest | None = None,
    causation_id: uuid.UUID | None = None,
) -> None:
    await conn.execute(
        "UPDATE booking.amendments SET status = $2, failure_reason = $3, "
        "version = version + 1, updated_at = now() WHERE amendment_id = $1",
        am["amendment_id"],
        status.value,
        reason or None,
    )
    await scheduler.cancel(conn, "booking", AMENDMENT_EXPIRY, str(am["amendment_id"]))
    await outbox.add(
        conn,
        AmendmentDecidedV1(
            amendment_id=str(am["amendment_id"]),
            booking_id=str(row["booking_id"]),
            outcome=status.value,
            delta=am["delta"],
            currency=am["currency"],
            refund=refund,
            reason=reason,
        ),
        key=str(row["booking_id"]),
        correlation_id=am["correlation_id"],
        causation_id=causation_id,
    )


async def _set_booking(
    conn: asyncpg.Connection, row: asyncpg.Record, values: Mapping[str, Any]
) -> None:
    """Write the booking's terms; the exclusion constraint re-checks the time range."""
    new = Quote.of(values["quote"])
    try:
        async with conn.transaction():
            await repository.update_booking(
                conn,
                row["booking_id"],
                row["version"],
                starts_at=values["starts_at"],
                ends_at=values["ends_at"],
                guests=values["guests"],
                extras=values["extras"],
                quote=new.as_dict(),
                amount=new.total,
                platform_fee=new.platform_fee,
                tax=new.tax,
            )
    except asyncpg.ExclusionViolationError:
        raise BookingError(
            ErrorCode.SLOT_UNAVAILABLE, "the listing is already booked for part of that time"
        ) from None
    if row["status"] == BookingStatus.CONFIRMED and values["ends_at"] != row["ends_at"]:
        booking_id = str(row["booking_id"])
        await scheduler.cancel(conn, "booking", COMPLETION, booking_id)
        await scheduler.schedule(conn, "booking", COMPLETION, booking_id, values["ends_at"])


def _terms(am: asyncpg.Record) -> dict[str, Any]:
    return {
        "starts_at": am["starts_at"],
        "ends_at": am["ends_at"],
        "guests": am["guests"],
        "extras": json.loads(am["extras"]),
        "quote": json.loads(am["quote"]),
    }


def _previous_terms(am: asyncpg.Record) -> dict[str, Any]:
    previous = json.loads(am["previous"])
    return {
        **previous,
        "starts_at": datetime.fromisoformat(previous["starts_at"]),
        "ends_at": datetime.fromisoformat(previous["ends_at"]),
    }


def _change(am: asyncpg.Record) -> Difference:
    return difference(
        Quote.of(json.loads(am["previous"])["quote"]), Quote.of(json.loads(am["quote"]))
    )


async def _apply(
    conn: asyncpg.Connection,
    outbox: Outbox,
    row: asyncpg.Record,
    am: asyncpg.Record,
    causation_id: uuid.UUID | None = None,
) -> None:
    await _set_booking(conn, row, _terms(am))
    change = _change(am)
    refund = None
    if change.amount < 0 and row["payment_id"]:
        refund = RefundRequest(
            refund_id=f"rf_{am['amendment_id']}",
            payment_id=row["payment_id"],
            amount=-change.amount,
            currency=row["currency"],
            platform_fee=-change.platform_fee,
            host_amount=-change.host_amount,
            tax=-change.tax,
            host_account_id=row["host_account_id"],
            lines=[
                RefundLine(code=code, amount=-amount) for code, amount in change.lines if amount < 0
            ],
        )
    if refund is not None:
        await conn.execute(
            "UPDATE booking.amendments SET refund_status = 'pending' WHERE amendment_id = $1",
            am["amendment_id"],
        )
    await _decide(
        conn, outbox, row, am, AmendmentStatus.APPLIED, refund=refund, causation_id=causation_id
    )


async def accept(
    conn: asyncpg.Connection, outbox: Outbox, amendment_id: uuid.UUID, actor: Actor
) -> dict[str, Any]:
    row, am = await _lock_amendment(conn, amendment_id)
    _check_party(row, am, actor, proposer=False)
    if am["delta"] < 0:  # a disputed payment cannot give money back
        await disputes.check_not_disputed(conn, row)
    await _accept(conn, outbox, row, am)
    return await view(conn, amendment_id)


async def _accept(
    conn: asyncpg.Connection, outbox: Outbox, row: asyncpg.Record, am: asyncpg.Record
) -> None:
    await _proceed(conn, outbox, row, am, AmendmentTrigger.ACCEPTED)


async def _proceed(
    conn: asyncpg.Connection,
    outbox: Outbox,
    row: asyncpg.Record,
    am: asyncpg.Record,
    trigger: AmendmentTrigger,
) -> None:
    """Accepted (or signed): re-sign first, apply a decrease, or charge an increase."""
    step = amendment_transition(
        AmendmentStatus(am["status"]), trigger, am["delta"], am["kind"], am["needs_signatures"]
    )
    allowed = (BookingStatus.CONFIRMED,) + (
        (BookingStatus.COMPLETED,) if am["kind"] == "overtime" else ()
    )
    if row["status"] not in allowed:
        raise BookingError(ErrorCode.ILLEGAL_TRANSITION, f"the booking is {row['status']}")
    if step.target is AmendmentStatus.APPLIED:
        await _apply(conn, outbox, row, am)
        return
    await conn.execute(
        "UPDATE booking.amendments SET status = $2, version = version + 1, updated_at = now() "
        "WHERE amendment_id = $1",
        am["amendment_id"],
        step.target.value,
    )
    if step.target is AmendmentStatus.AWAITING_SIGNATURES:
        await _request_signatures(conn, outbox, row, am)
        return
    # An increase: hold both time ranges while the charge runs; apply only once it is paid.
    held = {
        **_previous_terms(am),
        "starts_at": min(am["starts_at"], row["starts_at"]),
        "ends_at": max(am["ends_at"], row["ends_at"]),
    }
    await _set_booking(conn, row, held)
    await scheduler.cancel(conn, "booking", AMENDMENT_EXPIRY, str(am["amendment_id"]))
    change = _change(am)
    await outbox.add(
        conn,
        ChargeRequestedV1(
            charge_request_id=charge_request_id(am["amendment_id"]),
            booking_id=str(row["booking_id"]),
            group_id=str(row["group_id"]) if row["group_id"] else None,
            payment_id=row["payment_id"],
            amount=change.amount,
            currency=row["currency"],
            platform_fee=change.platform_fee,
            tax=change.tax,
            host_account_id=row["host_account_id"],
            reason="overtime" if am["kind"] == "overtime" else "amendment",
            subject_id=str(am["amendment_id"]),
        ),
        key=str(row["booking_id"]),
        correlation_id=am["correlation_id"],
    )


async def _request_signatures(
    conn: asyncpg.Connection, outbox: Outbox, row: asyncpg.Record, am: asyncpg.Record
) -> None:
    """The guest signs the listing's documents for the new terms; a durable job creates the
    envelope after commit. Unsigned by `respond_by` (the start), the amendment expires."""
    listing = await repository.get_listing(conn, row["listing_id"])
    assert listing is not None
    documents = json.loads(listing["required_documents"])
    amendment_id = str(am["amendment_id"])
    await scheduler.schedule(
        conn,
        "booking",
        CREATE_AMENDMENT_ENVELOPE,
        amendment_id,
        datetime.now(UTC),
        {"sign_by": am["respond_by"].isoformat()},
    )
    await outbox.add(
        conn,
        SignaturesRequestedV1(
            booking_id=str(row["booking_id"]),
            guest_id=row["guest_id"],
            listing_id=row["listing_id"],
            document_ids=[d["document_id"] for d in documents] + [f"amendment-{amendment_id}"],
            sign_by=am["respond_by"],
            group_id=str(row["group_id"]) if row["group_id"] else None,
        ),
        key=str(row["booking_id"]),
        correlation_id=am["correlation_id"],
    )


async def on_signed(conn: asyncpg.Connection, outbox: Outbox, amendment_id: uuid.UUID) -> None:
    """The guest signed the new terms: go on as an accepted amendment."""
    row, am = await _lock_amendment(conn, amendment_id)
    if am["status"] != AmendmentStatus.AWAITING_SIGNATURES:
        return  # decided already
    await _proceed(conn, outbox, row, am, AmendmentTrigger.SIGNED)


async def on_signatures_declined(
    conn: asyncpg.Connection, outbox: Outbox, amendment_id: uuid.UUID, detail: str
) -> None:
    """Declined or expired: the amendment fails and the booking stays as it was."""
    row, am = await _lock_amendment(conn, amendment_id)
    if am["status"] != AmendmentStatus.AWAITING_SIGNATURES:
        return
    step = amendment_transition(
        AmendmentStatus(am["status"]),
        AmendmentTrigger.SIGNATURES_DECLINED,
        am["delta"],
        am["kind"],
        am["needs_signatures"],
    )
    await _decide(conn, outbox, row, am, step.target, detail)


async def _end(
    conn: asyncpg.Connection,
    outbox: Outbox,
    amendment_id: uuid.UUID,
    actor: Actor,
    trigger: AmendmentTrigger,
    *,
    proposer: bool,
    reason: str = "",
) -> dict[str, Any]:
    row, am = await _lock_amendment(conn, amendment_id)
    _check_party(row, am, actor, proposer=proposer)
    step = amendment_transition(AmendmentStatus(am["status"]), trigger, am["delta"], am["kind"])
    await _decide(conn, outbox, row, am, step.target, reason)
    return await view(conn, amendment_id)


async def reject(
    conn: asyncpg.Connection,
    outbox: Outbox,
    amendment_id: uuid.UUID,
    actor: Actor,
    reason: str = "",
) -> dict[str, Any]:
    return await _end(
        conn, outbox, amendment_id, actor, AmendmentTrigger.REJECTED, proposer=False, reason=reason
    )


async def withdraw(
    conn: asyncpg.Connection, outbox: Outbox, amendment_id: uuid.UUID, actor: Actor
) -> dict[str, Any]:
    return await _end(conn, outbox, amendment_id, actor, AmendmentTrigger.WITHDRAWN, proposer=True)


async def dispute(
    conn: asyncpg.Connection,
    outbox: Outbox,
    amendment_id: uuid.UUID,
    actor: Actor,
    reason: str = "",
) -> dict[str, Any]:
    """The guest contests reported overtime (within the dispute window): nothing is charged."""
    return await _end(
        conn, outbox, amendment_id, actor, AmendmentTrigger.DISPUTED, proposer=False, reason=reason
    )


async def expire_job(
    outbox: Outbox, conn: asyncpg.Connection, amendment_id: str, _payload: dict[str, object]
) -> None:
    """Durable timer: a change unanswered at the start expires; overtime not disputed within
    its window counts as accepted and is charged."""
    row, am = await _lock_amendment(conn, uuid.UUID(amendment_id))
    if am["status"] not in (AmendmentStatus.PROPOSED, AmendmentStatus.AWAITING_SIGNATURES):
        return
    if am["kind"] == "overtime":
        await _accept(conn, outbox, row, am)
        return
    step = amendment_transition(
        AmendmentStatus(am["status"]), AmendmentTrigger.EXPIRED, am["delta"], am["kind"]
    )
    await _decide(conn, outbox, row, am, step.target, "not answered before the start")


async def on_charge_captured(
    conn: asyncpg.Connection,
    env: Envelope,
    event: PaymentCapturedV1 | PaymentCapturedV2,
    outbox: Outbox,
    amendment_id: uuid.UUID,
) -> None:
    """The extra charge of `amendment_id` (the fact's subject) is paid: the change applies."""
    row, am = await _lock_amendment(conn, amendment_id)
    if am["status"] != AmendmentStatus.CHARGING:
        return  # a redelivered fact
    amendment_transition(
        AmendmentStatus.CHARGING, AmendmentTrigger.CHARGE_SUCCEEDED, am["delta"], am["kind"]
    )
    await conn.execute(  # a cancellation later refunds from this payment too
        "UPDATE booking.amendments SET charge_payment_id = $2 WHERE amendment_id = $1",
        am["amendment_id"],
        event.payment_id,
    )
    await _apply(conn, outbox, row, am, env.event_id)


async def on_charge_failed(
    conn: asyncpg.Connection,
    env: Envelope,
    event: PaymentFailedV1,
    outbox: Outbox,
    amendment_id: uuid.UUID,
) -> None:
    """The extra charge failed: the booking goes back exactly to what it was."""
    row, am = await _lock_amendment(conn, amendment_id)
    if am["status"] != AmendmentStatus.CHARGING:
        return
    step = amendment_transition(
        AmendmentStatus.CHARGING, AmendmentTrigger.CHARGE_FAILED, am["delta"], am["kind"]
    )
    await _set_booking(conn, row, _previous_terms(am))
    detail = event.message or event.decline_code or event.code
    await _decide(
        conn, outbox, row, am, step.target, f"{event.code}: {detail}", causation_id=env.event_id
    )


async def view(conn: asyncpg.Connection, amendment_id: uuid.UUID) -> dict[str, Any]:
    am = await conn.fetchrow(
        "SELECT * FROM booking.amendments WHERE amendment_id = $1", amendment_id
    )
    if am is None:
        raise BookingError(ErrorCode.AMENDMENT_NOT_FOUND, f"amendment {amendment_id} not found")
    return {
        "amendment_id": str(am["amendment_id"]),
        "booking_id": str(am["booking_id"]),
        "kind": am["kind"],
        "proposed_by": am["proposed_by"],
        "status": am["status"],
        "starts_at": am["starts_at"].isoformat(),
        "ends_at": am["ends_at"].isoformat(),
        "guests": am["guests"],
        "extras": json.loads(am["extras"]),
        "delta": am["delta"],
        "currency": am["currency"],
        "quote": json.loads(am["quote"]),
        "respond_by": am["respond_by"].isoformat(),
        "failure_reason": am["failure_reason"],
        "needs_signatures": am["needs_signatures"],
        "refund_status": am["refund_status"],
        "refund_failure": am["refund_failure"],
        "signing_url": am["signing_url"],
        "created_at": am["created_at"].isoformat(),
        "updated_at": am["updated_at"].isoformat(),
    }
