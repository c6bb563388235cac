"""What payments asked Stripe for, kept from the facts finance consumes (`stripe_objects`):
the payments side of the three-way match, without reading payments' schema.

Each handler runs in the fact's inbox transaction, beside the ledger's handler for the same
fact; a redelivered fact rewrites the same row. Amounts are signed like Stripe's balance
transactions: a charge brings money in (> 0), a refund, a transfer or a return takes it out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import asyncpg

from eventkit.routing import Apply
from finance.adapters import recon_repository as recon_db
from finance.domain.reconciliation import source_event_id
from marketplace_contracts import Envelope
from marketplace_contracts.envelope import EventModel
from marketplace_contracts.events.payments import (
    PaymentCapturedV1,
    PaymentCapturedV2,
    PaymentReturnedV1,
    PlatformPayoutUpdatedV1,
    RefundSucceededV1,
    TransferCreatedV1,
    TransferReversedV1,
)

REFUND = "refund"  # the refund method that moved money at Stripe (handlers.REFUND)
_PaymentFact = (
    PaymentCapturedV1
    | PaymentCapturedV2
    | RefundSucceededV1
    | TransferCreatedV1
    | TransferReversedV1
    | PaymentReturnedV1
)


class ReconFacts:
    def __init__(self, now: Callable[[], datetime], cursor: str = "platform") -> None:
        self.now = now
        self.cursor = cursor

    def routes(self) -> dict[type[EventModel], Apply]:
        found: dict[type[EventModel], Apply] = {
            PaymentCapturedV1: self.on_payment_captured,
            PaymentCapturedV2: self.on_payment_captured,
            RefundSucceededV1: self.on_refund_succeeded,
            PaymentReturnedV1: self.on_payment_returned,
            TransferCreatedV1: self.on_transfer_created,
            TransferReversedV1: self.on_transfer_reversed,
        }
        found[PlatformPayoutUpdatedV1] = self.on_platform_payout_updated
        return found

    async def on_payment_captured(
        self,
        conn: asyncpg.Connection,
        env: Envelope,
        event: PaymentCapturedV1 | PaymentCapturedV2,
        _: object,
    ) -> None:
        if event.charge_id:
            await _record(conn, env, event, "charge", event.charge_id, event.amount)

    async def on_refund_succeeded(
        self, conn: asyncpg.Connection, env: Envelope, event: RefundSucceededV1, _: object
    ) -> None:
        if event.method != REFUND or not event.amount or not event.stripe_refund_id:
            return
        await _record(conn, env, event, "refund", event.stripe_refund_id, -event.amount)

    async def on_transfer_created(
        self, conn: asyncpg.Connection, env: Envelope, event: TransferCreatedV1, _: object
    ) -> None:
        await _record(conn, env, event, "transfer", event.transfer_id, -event.amount)

    async def on_transfer_reversed(
        self, conn: asyncpg.Connection, env: Envelope, event: TransferReversedV1, _: object
    ) -> None:
        await _record(conn, env, event, "transfer_reversal", event.reversal_id, event.amount)

    async def on_payment_returned(
        self, conn: asyncpg.Connection, env: Envelope, event: PaymentReturnedV1, _: object
    ) -> None:
        """A returned bank debit gives the money back on the dispute Stripe made of the return
        (on the charge's own object for an older fact that does not name it)."""
        if not event.after_capture:
            return
        source = event.dispute_id or await recon_db.charge_of(conn, event.payment_id)
        if source is not None:
            await _record(conn, env, event, "return", source, -event.amount)

    async def on_platform_payout_updated(
        self, conn: asyncpg.Connection, env: Envelope, event: Any, _: object
    ) -> None:
        """Stripe paid (or failed to pay) the platform's bank: the payout is one object whose
        expected amount follows its latest status, and new balance transactions exist, so the
        import runs soon."""
        failed = event.status in ("failed", "canceled")
        await recon_db.record_object(
            conn,
            source_event_id(event.payout_id),
            kind="payout",
            object_id=event.payout_id,
            amount=0 if failed else -event.amount,
            currency=event.currency,
        )
        await recon_db.request_import(conn, self.cursor, self.now())


async def _record(
    conn: asyncpg.Connection,
    env: Envelope,
    event: _PaymentFact,
    kind: str,
    object_id: str,
    amount: int,
) -> None:
    """The Stripe object a payments fact names, under the fact's payment, booking and currency:
    once per object, whatever number of facts announce it."""
    await recon_db.record_object(
        conn,
        env.event_id,
        once_per_object=True,
        kind=kind,
        object_id=object_id,
        payment_id=event.payment_id,
        booking_id=event.booking_id,
        amount=amount,
        currency=event.currency,
    )
