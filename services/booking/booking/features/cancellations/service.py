"""Use cases: preview and cancel a confirmed booking (or one leg of a Linked Booking Group),
and publish the cancellation policies each checkout snapshots.

The refund comes from the refund kernel, applied to the quote and the policy snapshotted at
checkout; cancelling records it (booking.refunds) and emits booking.booking_cancelled carrying
the refund request, in one transaction. Payments refunds with the request's deterministic id
and answers refund_succeeded or refund_failed, which set the booking's `refund_status`.

The commands and the event handlers take booking's unit of work: the SQL is `repository.py`'s
(`uow.cancellations`) and the kernel's `uow.bookings`, the timers and the outbox are the
unit's; the kernel's lifecycle and dispute check and amendments' refund answers take the unit
too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from booking.adapters import repository
from booking.domain.errors import BookingError, ErrorCode
from booking.domain.model import Booking, Trigger
from booking.domain.quote import Quote
from booking.domain.refunds import (
    PRESETS,
    Band,
    CancellationRefund,
    Canceller,
    Paid,
    Policy,
    RefundDecision,
    ServiceFeeRefund,
    allocate,
    refund_for,
)

# Other features: through their service, and bank debits' pure rules through its domain
# (which imports nothing back).
from booking.features.amendments import service as amendments
from booking.features.bank_debits import domain as bank_debits
from booking.features.cancellations.repository import CancellationsRepository
from booking.features.claims import service as claims
from booking.features.receipts import service as receipts
from booking.service_layer import disputes, lifecycle, payment_facts
from booking.service_layer.booking_views import booking_view
from booking.service_layer.publishing import Cause
from booking.service_layer.timer_kinds import COMPLETION
from booking.service_layer.unit_of_work import UnitOfWork
from marketplace_contracts import Envelope
from marketplace_contracts.events.booking import BookingCancelledV1, RefundLine, RefundRequest
from marketplace_contracts.events.payments import RefundFailedV1, RefundSucceededV1

Row = Mapping[str, Any]
TRIGGERS = {
    Canceller.GUEST: Trigger.GUEST_CANCELLED,
    Canceller.HOST: Trigger.HOST_CANCELLED,
    Canceller.ADMIN: Trigger.ADMIN_CANCELLED,
}


@dataclass(frozen=True)
class Cancel:
    booking_id: uuid.UUID
    by: Canceller
    actor_id: str | None  # the guest's or host's id; None for an admin
    reason: str = ""
    force_majeure: bool = False


def refund_id(booking_id: uuid.UUID | str) -> str:
    return f"rf_{booking_id}_cancel"


async def _load(bookings: repository.BookingsRepository, cmd: Cancel, *, lock: bool) -> Row:
    row = await bookings.get_booking(cmd.booking_id, for_update=lock)
    owner = {Canceller.GUEST: "guest_id", Canceller.HOST: "host_id"}.get(cmd.by)
    if row is None or (owner is not None and row[owner] != cmd.actor_id):
        raise BookingError(ErrorCode.BOOKING_NOT_FOUND, f"booking {cmd.booking_id} not found")
    if cmd.force_majeure and cmd.by is not Canceller.ADMIN:
        raise BookingError(ErrorCode.FORBIDDEN, "only an admin can cancel for force majeure")
    Booking.of(row).next(TRIGGERS[cmd.by])  # 409 unless the booking can be cancelled
    bank_debits.check_cancellable(row)  # 409 funds_pending: a debit still processing
    return row


def _snapshot(row: Row) -> tuple[Quote, Policy]:
    policy = Policy.of(row["policy"]) if row["policy"] else PRESETS[0]
    return Quote.of_booking(row), policy


def decide(row: Row, cmd: Cancel, now: datetime) -> tuple[RefundDecision, Policy]:
    quote, policy = _snapshot(row)
    decision = refund_for(
        quote,
        policy,
        booked_at=row["created_at"],
        starts_at=row["starts_at"],
        cancelled_at=now,
        by=cmd.by,
        force_majeure=cmd.force_majeure,
    )
    return decision, policy


def _preview_view(
    row: Row, cmd: Cancel, decision: RefundDecision, policy: Policy
) -> dict[str, Any]:
    return {
        "booking_id": str(row["booking_id"]),
        "cancelled_by": cmd.by.value,
        "policy": policy.label,
        "currency": row["currency"],
        **decision.as_dict(),
    }


async def preview(
    conn: asyncpg.Connection, cmd: Cancel, at: datetime | None = None
) -> dict[str, Any]:
    """What cancelling now (or at the later time `at`) would refund; changes nothing."""
    return await estimate(repository.BookingsRepository(conn), cmd, at)


async def estimate(
    bookings: repository.BookingsRepository, cmd: Cancel, at: datetime | None = None
) -> dict[str, Any]:
    """`preview`, read through a unit of work's repository."""
    row = await _load(bookings, cmd, lock=False)
    now = datetime.now(UTC)
    if at is not None and at < now:
        raise BookingError(ErrorCode.INVALID_TIME_RANGE, "a preview cannot be in the past")
    decision, policy = decide(row, cmd, at or now)
    return {**_preview_view(row, cmd, decision, policy), "at": (at or now).isoformat()}


async def cancel(uow: UnitOfWork, cmd: Cancel) -> dict[str, Any]:
    row = await _load(uow.bookings, cmd, lock=True)
    await amendments.check_not_charging(uow, row["booking_id"])  # 409 amendment_pending
    # 409 payment_disputed: it would refund disputed money; an extra charge whose dispute
    # was lost is what the bank gave back already (`returned`).
    returned = await disputes.check_cancellable(uow, row)
    now = datetime.now(UTC)
    decision, policy = decide(row, cmd, now)
    booking_id = str(row["booking_id"])
    requests = await _refund_requests(uow, row, decision, returned)
    request = requests[0] if requests else None
    done = Booking.of(row).apply(TRIGGERS[cmd.by])  # as `lifecycle.change`
    await uow.cancellations.change_booking(
        row["booking_id"],
        row["version"],
        status=done.status.value,
        cancelled_by=cmd.by.value,
        cancelled_at=now,
        cancel_reason=cmd.reason,
        refund_status="pending" if request else "none",
    )
    await uow.cancellations.record_refund(
        row["booking_id"],
        CancellationRefund(
            refund_id=refund_id(booking_id),
            cancelled_by=cmd.by,
            policy=policy.label,
            currency=row["currency"],
            decision=decision,
            requested=tuple(r.refund_id for r in requests),
        ),
    )
    await uow.timers.cancel(COMPLETION, booking_id)
    await amendments.end_with_booking(uow, row["booking_id"], "the booking was cancelled")
    # The deposit's release comes before the cancellation in the outbox (as it always has).
    await claims.on_booking_ended(uow, row, "booking_cancelled")
    cancelled = {
        "booking.booking_cancelled": lambda: BookingCancelledV1(
            booking_id=booking_id,
            group_id=str(row["group_id"]) if row["group_id"] else None,
            cancelled_by=cmd.by.value,
            reason=cmd.reason,
            policy=policy.label,
            refund=request,
            additional_refunds=requests[1:],
            host_account_id=row["host_account_id"],
            host_penalty=decision.host_penalty,
        )
    }
    cause = Cause(row["correlation_id"])
    await lifecycle.announce(uow, row, done, cancelled, cause)
    updated = await uow.bookings.get_booking(row["booking_id"])
    assert updated is not None
    return booking_view(updated)


async def _refund_requests(
    uow: UnitOfWork, row: Row, decision: RefundDecision, returned: Mapping[str, int | None]
) -> list[RefundRequest]:
    """The refund split over the payments that paid the booking, first the checkout's.

    What the bank gave back of an extra charge in `returned` (its dispute was lost) is counted
    first toward the refund and asked of no one: the guest has that money already. The rest
    of such a charge cannot be refunded (the processor refuses refunds of a disputed charge):
    a refund that would need it is refused with 409 `payment_disputed`."""
    booking_id = str(row["booking_id"])
    if not (decision.amount and row["payment_id"]):
        return []
    # What each payment can give back, of each part: the checkout payment paid the booking
    # less its applied increases, each of which an extra charge paid.
    increases = await amendments.paid_increases(uow, row["booking_id"])
    gone = [i for i in increases if i.payment_id in returned]
    kept = [i for i in increases if i.payment_id not in returned]
    payments = [i.payment_id for i in gone] + [row["payment_id"]] + [i.payment_id for i in kept]
    quote = Quote.of_booking(row)
    checkout = Paid(
        quote.total - sum(i.amount for i in increases),
        quote.platform_fee - sum(i.platform_fee for i in increases),
        quote.tax - sum(i.tax for i in increases),
    )
    paid = [_paid(i).part(returned[i.payment_id] or i.amount) for i in gone]
    paid += [checkout, *(_paid(i) for i in kept)]
    if decision.amount > sum(p.amount for p in paid):
        raise BookingError(
            ErrorCode.PAYMENT_DISPUTED,
            f"the refund of booking {booking_id} would need "
            f"{decision.amount - sum(p.amount for p in paid)} of an extra charge whose dispute "
            "was lost for part of it: the rest of that charge cannot be refunded by card",
        )
    pieces = [p for p in allocate(decision, paid) if p.payment_index >= len(gone)]
    return [
        RefundRequest(
            refund_id=refund_id(booking_id) + (f"_{n}" if n else ""),
            payment_id=payments[piece.payment_index],
            amount=piece.amount,
            currency=row["currency"],
            platform_fee=piece.platform_fee,
            host_amount=piece.host_amount,
            tax=piece.tax,
            host_account_id=row["host_account_id"],
            lines=[RefundLine(code=line.code, amount=line.amount) for line in decision.lines]
            if n == 0
            else [],
        )
        for n, piece in enumerate(pieces)
    ]


def _paid(increase: amendments.PaidIncrease) -> Paid:
    return Paid(increase.amount, increase.platform_fee, increase.tax)


async def on_refund_succeeded(uow: UnitOfWork, env: Envelope, event: RefundSucceededV1) -> None:
    await receipts.issue_for_refund(uow, env, event)
    about = payment_facts.refund_about(event)
    if about.concern == "checkout":
        await _checkout_given_back(uow, event.booking_id, event.amount)
        return
    if about.concern != "cancellation":
        if about.concern == "amendment" and about.subject_id is not None:
            await amendments.on_refund_succeeded(uow, about.subject_id)
        return
    row = await uow.bookings.get_booking(uuid.UUID(event.booking_id), for_update=True)
    if row is None:
        return
    progress = await uow.cancellations.refund_progress(row["booking_id"])
    if progress is None or not progress.awaits(event.refund_id):
        return  # a redelivered answer, or not one this cancellation asked for
    done = progress.done_with(event.refund_id)
    await uow.cancellations.refund_succeeded(row["booking_id"], event.refund_id)
    await uow.cancellations.change_booking(
        row["booking_id"],
        row["version"],
        refund_status="refunded" if done else row["refund_status"],
        refund_failure=None if done else row["refund_failure"],
        refunded_amount=row["refunded_amount"] + event.amount,
    )


async def on_refund_failed(uow: UnitOfWork, env: Envelope, event: RefundFailedV1) -> None:
    """A visible state for ops: the refund could not be made; the reason says why."""
    failure = f"{event.code}: {event.message}"[:500]
    about = payment_facts.refund_about(event)
    # A cancellation's refund, or a charge at checkout given back: shown on the booking alike.
    if about.concern not in ("cancellation", "checkout"):
        if about.concern == "amendment" and about.subject_id is not None:
            await amendments.on_refund_failed(uow, about.subject_id, failure)
        return
    row = await uow.bookings.get_booking(uuid.UUID(event.booking_id), for_update=True)
    if row is None or row["refund_status"] == "refunded":
        return
    await uow.cancellations.change_booking(
        row["booking_id"],
        row["version"],
        refund_status="failed",
        refund_failure=failure,
    )


# -- Cancellation policies: versioned data that admins publish and each checkout snapshots --


async def newest_policies(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """The newest version of every policy."""
    return await CancellationsRepository(conn).newest_policies()


async def publish_policy(
    uow: UnitOfWork,
    name: str,
    bands: Iterable[tuple[int, int]],  # (hours_before, refund_bps)
    grace_hours: int,
    grace_min_lead_hours: int,
    service_fee: str,
    host_penalty_bps: int,
) -> dict[str, Any]:
    """The next version of policy `name` (its first when new); 409 `policy_conflict` when
    another admin published one meanwhile, 422 `validation_failed` for an inconsistent one."""
    current = await uow.cancellations.latest_policy(name)
    try:
        policy = Policy(
            name=name,
            version=(current["version"] + 1) if current else 1,
            bands=tuple(Band(hours_before, bps) for hours_before, bps in bands),
            grace_hours=grace_hours,
            grace_min_lead_hours=grace_min_lead_hours,
            service_fee=ServiceFeeRefund(service_fee),
            host_penalty_bps=host_penalty_bps,
        )
    except ValueError as exc:
        raise BookingError(ErrorCode.VALIDATION_FAILED, str(exc)) from None
    if not await uow.cancellations.insert_policy(policy.as_dict()):
        raise BookingError(ErrorCode.POLICY_CONFLICT, f"policy {name} changed meanwhile: try again")
    return policy.as_dict()


async def _checkout_given_back(uow: UnitOfWork, booking_id: str, refunded: int) -> None:
    """A charge at checkout that reached its booking after it had ended, given back in full:
    the booking, still expired or failed, shows it beside its receipts (a refusal shows as a
    cancellation's does: `on_refund_failed`)."""
    row = await uow.bookings.get_booking(uuid.UUID(booking_id), for_update=True)
    if row is None or row["refund_status"] == "refunded":
        return
    await uow.cancellations.change_booking(
        row["booking_id"],
        row["version"],
        refund_status="refunded",
        refund_failure=None,
        refunded_amount=row["refunded_amount"] + refunded,
    )
