"""Payments' answers to an amendment's extra charge (routed here by the fact's purpose,
`extra_charge`, and its `subject_id`: the amendment) and to a decrease's refund (routed by
cancellations, which also split a cancellation's refund over what extra charges paid)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from booking.features.amendments import repository as amendments_repo
from booking.features.amendments.service.outcomes import carry_out, lock, set_booking
from eventkit.outbox import Outbox
from eventkit.rows import expect_changed
from marketplace_contracts import Envelope
from marketplace_contracts.events.payments import (
    PaymentCapturedV1,
    PaymentCapturedV2,
    PaymentFailedV1,
)


async def on_charge_captured(
    conn: asyncpg.Connection,
    env: Envelope,
    event: PaymentCapturedV1 | PaymentCapturedV2,
    outbox: Outbox,
    amendment_id: uuid.UUID,
) -> None:
    """The extra charge of `amendment_id` is paid: the change applies."""
    booking, am = await lock(conn, amendment_id)
    outcome = am.charge_succeeded()
    if outcome is None:
        return  # a redelivered fact
    changed = await amendments_repo.record_charge_payment(conn, am.amendment_id, event.payment_id)
    expect_changed(changed, f"amendment {am.amendment_id}: charge payment")
    await carry_out(conn, outbox, booking, am, outcome, env.event_id)


async def on_charge_failed(
    conn: asyncpg.Connection,
    env: Envelope,
    event: PaymentFailedV1,
    outbox: Outbox,
    amendment_id: uuid.UUID,
) -> None:
    """The extra charge failed: the booking goes back exactly to what it was."""
    booking, am = await lock(conn, amendment_id)
    detail = event.message or event.decline_code or event.code
    outcome = am.charge_failed(f"{event.code}: {detail}")
    if outcome is None:
        return
    await set_booking(conn, booking, am.previous_terms(), am.previous_quote())
    await carry_out(conn, outbox, booking, am, outcome, env.event_id)


# -- For cancellations: what extra charges paid, and the refund of a decrease -----------------


@dataclass(frozen=True)
class PaidIncrease:
    """An applied increase of a booking that an extra charge paid."""

    payment_id: str
    amount: int


async def paid_increases(conn: asyncpg.Connection, booking_id: uuid.UUID) -> list[PaidIncrease]:
    """The booking's applied increases that an extra charge paid, oldest first (a refund
    gives back through each payment at most what it paid)."""
    charges = await amendments_repo.applied_charges(conn, booking_id)
    return [PaidIncrease(c["charge_payment_id"], c["delta"]) for c in charges]


async def on_refund_succeeded(conn: asyncpg.Connection, amendment_id: uuid.UUID) -> None:
    """The refund of a decrease was made."""
    await amendments_repo.set_refund_outcome(conn, amendment_id, "refunded", None)


async def on_refund_failed(conn: asyncpg.Connection, amendment_id: uuid.UUID, failure: str) -> None:
    """The refund of a decrease could not be made: `failure` says why (ops see it)."""
    await amendments_repo.set_refund_outcome(conn, amendment_id, "failed", failure)
