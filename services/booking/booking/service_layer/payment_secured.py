"""The guest's money is secured (an authorization held, or a card saved for later): the
booking moves on, to its host's answer (request to book) or confirmed (Instant Book). A booking
that ended meanwhile asks payments to void the authorization (booking_failed)."""

from __future__ import annotations

from typing import Any

import asyncpg

from booking import metrics
from booking.adapters import repository
from booking.domain.model import BookingStatus, PaymentStatus, Trigger, transition_for
from booking.service_layer.checkout import COMPLETION, HOLD_EXPIRY, REQUEST_EXPIRY
from eventkit import scheduler
from eventkit.outbox import Outbox
from marketplace_contracts import Envelope
from marketplace_contracts.events.booking import (
    BookingConfirmedV1,
    BookingFailedV1,
    HostResponseRequestedV1,
)
from marketplace_contracts.events.payments import PaymentAuthorizedV1, PaymentMethodSavedV1

Secured = PaymentAuthorizedV1 | PaymentMethodSavedV1


async def payment_secured(
    conn: asyncpg.Connection,
    outbox: Outbox,
    env: Envelope,
    row: asyncpg.Record,
    event: Secured,
    trigger: Trigger,
    payment_status: PaymentStatus,
) -> None:
    """`row`: the single booking, locked. Confirm it or ask the host."""
    if row["status"] != BookingStatus.PENDING_PAYMENT:
        # The booking ended meanwhile: the authorization must not be left hanging.
        await outbox.add(
            conn,
            BookingFailedV1(
                booking_id=event.booking_id,
                payment_id=event.payment_id,
                reason="booking_not_pending",
                detail=f"booking is {row['status']}",
            ),
            key=event.booking_id,
            correlation_id=env.correlation_id,
            causation_id=env.event_id,
        )
        return
    step = transition_for(row, trigger)
    await repository.change_booking(
        conn,
        row["booking_id"],
        row["version"],
        status=step.target.value,
        payment_status=payment_status.value,
        payment_id=event.payment_id,
    )
    metrics.stage_done("payment_secured", row["mode"], row["created_at"])
    await scheduler.cancel(conn, "booking", HOLD_EXPIRY, event.booking_id)
    meta: dict[str, Any] = {
        "key": event.booking_id,
        "correlation_id": env.correlation_id,
        "causation_id": env.event_id,
    }
    if step.target == BookingStatus.AWAITING_HOST:
        await _ask_host(conn, outbox, row, event, meta)
    else:
        await _confirm(conn, outbox, row, event, meta)


async def _ask_host(
    conn: asyncpg.Connection,
    outbox: Outbox,
    row: asyncpg.Record,
    event: Secured,
    meta: dict[str, Any],
) -> None:
    await scheduler.schedule(conn, "booking", REQUEST_EXPIRY, event.booking_id, row["respond_by"])
    await outbox.add(
        conn,
        HostResponseRequestedV1(
            booking_id=event.booking_id,
            payment_id=event.payment_id,
            host_id=row["host_id"],
            listing_id=row["listing_id"],
            respond_by=row["respond_by"],
        ),
        **meta,
    )


async def _confirm(
    conn: asyncpg.Connection,
    outbox: Outbox,
    row: asyncpg.Record,
    event: Secured,
    meta: dict[str, Any],
) -> None:
    await scheduler.schedule(conn, "booking", COMPLETION, event.booking_id, row["ends_at"])
    await outbox.add(
        conn,
        BookingConfirmedV1(
            booking_id=event.booking_id,
            payment_id=event.payment_id,
            amount=row["amount"],
            currency=row["currency"],
        ),
        **meta,
    )
