"""The guest's money is secured (an authorization held, a card saved for later, or an Instant
Book's card charged at checkout): the booking moves on, to its host's answer (request to book)
or confirmed (Instant Book). A booking that ended meanwhile asks payments to void the
authorization, or refund the charge (booking_failed, `booking_not_pending`); the payment a
booking already moved on with, told again, changes nothing."""

from __future__ import annotations

import asyncpg

from booking import metrics
from booking.domain.model import (
    BOOKING_CONFIRMED,
    HOST_ASKED,
    Booking,
    BookingStatus,
    PaymentStatus,
    Trigger,
)
from booking.service_layer import booking_messages as messages
from booking.service_layer import lifecycle
from booking.service_layer.publishing import Cause
from booking.service_layer.timer_kinds import COMPLETION, HOLD_EXPIRY, REQUEST_EXPIRY
from booking.service_layer.unit_of_work import UnitOfWork
from marketplace_contracts import Envelope
from marketplace_contracts.events.payments import (
    PaymentAuthorizedV1,
    PaymentCapturedV2,
    PaymentMethodSavedV1,
)

Secured = PaymentAuthorizedV1 | PaymentMethodSavedV1 | PaymentCapturedV2


async def payment_secured(
    uow: UnitOfWork,
    env: Envelope,
    row: asyncpg.Record,
    event: Secured,
    trigger: Trigger,
    payment_status: PaymentStatus,
) -> None:
    """`row`: the single booking, locked. Confirm it or ask the host."""
    cause = Cause.of(env)
    if row["status"] != BookingStatus.PENDING_PAYMENT:
        if row["payment_id"] == event.payment_id:
            return  # the payment this booking moved on with, told again: nothing to do
        await give_back(uow, env, row, event.payment_id)
        return
    builders = {
        BOOKING_CONFIRMED: lambda: messages.confirmed(
            row, event.payment_id, captured=isinstance(event, PaymentCapturedV2)
        ),
        HOST_ASKED: lambda: messages.host_asked(row, event.payment_id, row["respond_by"]),
    }
    paid: dict[str, str | None] = {
        "payment_status": payment_status.value,
        "payment_id": event.payment_id,
    }
    if event.card_last4 is not None:  # for the receipts, written with the transition
        paid |= {"card_brand": event.card_brand, "card_last4": event.card_last4}
    done = Booking.of(row).apply(trigger)  # as `lifecycle.change`, written on the unit
    await uow.checkout.change_booking(
        row["booking_id"], row["version"], status=done.status.value, **paid
    )
    await lifecycle.announce(uow, row, done, builders, cause)
    metrics.stage_done("payment_secured", row["mode"], row["created_at"])
    # The hold's expiry is cancelled by the statement that schedules the next step's timer.
    if done.status == BookingStatus.AWAITING_HOST:
        await uow.timers.schedule(
            REQUEST_EXPIRY, event.booking_id, row["respond_by"], replacing=HOLD_EXPIRY
        )
    else:
        await uow.timers.schedule(
            COMPLETION, event.booking_id, row["ends_at"], replacing=HOLD_EXPIRY
        )


async def give_back(uow: UnitOfWork, env: Envelope, row: asyncpg.Record, payment_id: str) -> None:
    """The booking ended before this payment reached it: the authorization must not be left
    hanging, nor the charge kept (no transition: the booking stays as it is)."""
    detail = f"booking is {row['status']}"
    await uow.emit(
        messages.failed(row, payment_id, "booking_not_pending", detail),
        key=str(row["booking_id"]),
        correlation_id=env.correlation_id,
        causation_id=env.event_id,
    )


async def checkout_charged(
    uow: UnitOfWork, env: Envelope, row: asyncpg.Record, event: PaymentCapturedV2
) -> None:
    """An Instant Book's card charged at checkout (`row`: the booking, locked, still pending or
    ended unconfirmed): confirmed with its payment captured, or the charge given back."""
    if row["status"] != BookingStatus.PENDING_PAYMENT:
        # Ended unconfirmed (its hold ran out, or the guest's authentication came too late):
        # nothing it was charged for will happen, whichever payment it last knew.
        await give_back(uow, env, row, event.payment_id)
        return
    await payment_secured(uow, env, row, event, Trigger.PAYMENT_CAPTURED, PaymentStatus.CAPTURED)
    metrics.captured(row["mode"], row["created_at"], row["updated_at"])
