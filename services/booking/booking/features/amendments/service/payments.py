"""Payments' answers to an amendment's extra charge (routed here by the fact's purpose,
`extra_charge`, and its `subject_id`: the amendment) and to a decrease's refund (routed by
cancellations, which also split a cancellation's refund over what extra charges paid)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from booking.domain.quote import Quote
from booking.features.amendments.domain.terms import difference
from booking.features.amendments.service.outcomes import carry_out, lock, set_booking
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.rows import expect_changed
from marketplace_contracts import Envelope
from marketplace_contracts.events.payments import (
    PaymentCapturedV1,
    PaymentCapturedV2,
    PaymentFailedV1,
)


async def on_charge_captured(
    uow: UnitOfWork,
    env: Envelope,
    event: PaymentCapturedV1 | PaymentCapturedV2,
    amendment_id: uuid.UUID,
) -> None:
    """The extra charge of `amendment_id` is paid: the change applies."""
    booking, am = await lock(uow, amendment_id)
    outcome = am.charge_succeeded()
    if outcome is None:
        return  # a redelivered fact
    changed = await uow.amendments.record_charge_payment(am.amendment_id, event.payment_id)
    expect_changed(changed, f"amendment {am.amendment_id}: charge payment")
    await carry_out(uow, booking, am, outcome, env.event_id)


async def on_charge_failed(
    uow: UnitOfWork, env: Envelope, event: PaymentFailedV1, amendment_id: uuid.UUID
) -> None:
    """The extra charge failed: the booking goes back exactly to what it was."""
    booking, am = await lock(uow, amendment_id)
    detail = event.message or event.decline_code or event.code
    outcome = am.charge_failed(f"{event.code}: {detail}")
    if outcome is None:
        return
    await set_booking(uow, booking, am.previous_terms(), am.previous_quote())
    await carry_out(uow, booking, am, outcome, env.event_id)


# -- For cancellations: what extra charges paid, and the refund of a decrease -----------------
# Cancellations call these with their transaction's connection: they read and write through
# amendments' repository on it.


@dataclass(frozen=True)
class PaidIncrease:
    """An applied increase of a booking that an extra charge paid, split as it was charged
    (`platform_fee`: fees and tax; the rest the host's share)."""

    payment_id: str
    amount: int
    platform_fee: int
    tax: int


async def paid_increases(uow: UnitOfWork, booking_id: uuid.UUID) -> list[PaidIncrease]:
    """The booking's applied increases that an extra charge paid, oldest first (a refund
    gives back through each payment at most what it paid, of each part)."""
    charges = await uow.amendments.applied_charges(booking_id)
    increases = []
    for charge in charges:
        change = difference(Quote.of(charge["previous"]["quote"]), Quote.of(charge["quote"]))
        increases.append(
            PaidIncrease(
                charge["charge_payment_id"], change.amount, change.platform_fee, change.tax
            )
        )
    return increases


async def on_refund_succeeded(uow: UnitOfWork, amendment_id: uuid.UUID) -> None:
    """The refund of a decrease was made."""
    await uow.amendments.set_refund_outcome(amendment_id, "refunded", None)


async def on_refund_failed(uow: UnitOfWork, amendment_id: uuid.UUID, failure: str) -> None:
    """The refund of a decrease could not be made: `failure` says why (ops see it)."""
    await uow.amendments.set_refund_outcome(amendment_id, "failed", failure)
