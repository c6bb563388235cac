"""Use cases around payments' card disputes (domain/disputes.py): record the facts, show the
dispute on a booking, refuse what would ask for disputed money back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import asyncpg

from booking.adapters import disputes as repository
from booking.domain import disputes
from booking.domain.errors import BookingError, ErrorCode
from marketplace_contracts import Envelope
from marketplace_contracts.events.payments_disputes import (
    DisputeClosedV1,
    DisputeOpenedV1,
    DisputeUpdatedV1,
)

if TYPE_CHECKING:
    from booking.service_layer.unit_of_work import UnitOfWork


async def on_dispute_opened(
    conn: asyncpg.Connection, env: Envelope, event: DisputeOpenedV1, _: object
) -> None:
    await _record(
        conn,
        event,
        disputes.rank_of(event.status),
        "reason amount currency opened_at due_by",
        booking_ids=[leg.booking_id for leg in event.legs],
    )


async def on_dispute_updated(
    conn: asyncpg.Connection, env: Envelope, event: DisputeUpdatedV1, _: object
) -> None:
    await _record(conn, event, disputes.rank_of(event.status), "due_by")


async def on_dispute_closed(
    conn: asyncpg.Connection, env: Envelope, event: DisputeClosedV1, _: object
) -> None:
    """Closed whatever its status says: a closing is final even for a status booking does not
    know yet."""
    await _record(conn, event, disputes.CLOSED_RANK, "reason amount currency closed_at")


async def _record(
    conn: asyncpg.Connection,
    event: DisputeOpenedV1 | DisputeUpdatedV1 | DisputeClosedV1,
    rank: int,
    facts: str,
    **more: Any,
) -> None:
    """The dispute as `event` tells it: its ids and status, and the `facts` (space-separated
    fields) this kind of event carries; the others keep what was recorded."""
    await repository.record(
        conn,
        dispute_id=event.dispute_id,
        payment_id=event.payment_id,
        subject_id=event.booking_id,
        status=event.status,
        rank=rank,
        **{name: getattr(event, name) for name in facts.split()},
        **more,
    )


async def check_not_disputed(uow: UnitOfWork, booking: asyncpg.Record) -> None:
    """409 `payment_disputed` while a dispute is open on a payment of this booking, or after
    one was lost: the processor refuses refunds of a disputed charge, and the money is the
    dispute's to decide (lost: the bank gave it back already)."""
    _refuse(
        booking, [d for d in await uow.bookings.disputes_of(booking) if disputes.blocks_refund(d)]
    )


async def check_cancellable(uow: UnitOfWork, booking: asyncpg.Record) -> dict[str, int | None]:
    """`check_not_disputed` for a cancellation, which may go on past a lost dispute on an
    amendment's extra charge (`disputes.returned_extra_charge`): those charges' payment ids,
    each with the amount the bank gave back (None: the facts did not say, the whole charge)."""
    rows = await uow.bookings.disputes_of(booking)
    returned = [d for d in rows if disputes.returned_extra_charge(d, booking["payment_id"])]
    _refuse(booking, [d for d in rows if disputes.blocks_refund(d) and d not in returned])
    return {d["payment_id"]: d["amount"] for d in returned}


def _refuse(booking: asyncpg.Record, blocking: list[asyncpg.Record]) -> None:
    if not blocking:
        return
    found = blocking[0]
    if disputes.is_open(found):
        detail = (
            f"is disputed ({found['status']}); nothing can be refunded until the dispute closes"
        )
    else:
        detail = (
            "was disputed and the dispute lost: the guest's bank already returned the money, "
            "so nothing can be refunded"
        )
    raise BookingError(
        ErrorCode.PAYMENT_DISPUTED, f"the payment of booking {booking['booking_id']} {detail}"
    )


async def dispute_of_booking(
    conn: asyncpg.Connection, booking: asyncpg.Record, *, staff: bool
) -> dict[str, Any] | None:
    """The dispute a booking shows: the open one, else the latest."""
    rows = await repository.for_booking(conn, booking)
    return disputes.view(rows[0] if rows else None, staff=staff)


async def dispute_of_group(
    conn: asyncpg.Connection, group: asyncpg.Record, *, staff: bool
) -> dict[str, Any] | None:
    rows = await repository.for_group(conn, group)
    return disputes.view(rows[0] if rows else None, staff=staff)
