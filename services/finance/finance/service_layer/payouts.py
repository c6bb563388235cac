"""Host payouts of separate-charges-and-transfers payments: what finance owes each host per
captured payment (payables), the release that asks payments to transfer it, and the journals of
the transfers and their reversals.

- `payments.payment_captured` (v1, v2) adds a payable per split: its host amount, whether it
  was a destination charge (Stripe paid the host at capture: nothing to release) and, for a bank
  debit, until when it is held (`funds_hold_until`).
- `payments.refund_succeeded` (a Stripe refund) lowers what is owed by the refund's host share;
  `payments.funds_cleared` lifts the hold; `payments.payment_returned` after capture marks the
  payables returned (never released) and reverses the capture's journal.
- `release` (ops: `python -m finance release-payout`) writes `finance.payout_released` to the
  outbox and counts it as released, in one transaction, with the payable row locked.
- `payments.transfer_created` posts `host_transfer` (Dr host payable, Cr Stripe balance);
  `payments.transfer_reversed` posts `host_transfer_reversed`; `payments.transfer_failed` gives
  the released amount back to the payable, so it can be released again.

Every handler runs in the transaction that claims the event in the inbox; a fact counted into
payables is claimed in `finance.payout_facts` and a journal is unique per (source event, kind),
so a redelivered fact changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg

from eventkit import unit_of_work
from eventkit.outbox import Outbox
from eventkit.routing import PermanentError
from finance.adapters import payables_repository as payables_db
from finance.adapters import queue_repository as queue_db
from finance.domain.payout_queue import OPEN_STATES, Hold, Trigger
from finance.domain.payouts import (
    PAYMENT_RETURNED,
    PayoutRefused,
    host_transfer,
    host_transfer_reversed,
    payment_returned,
)
from finance.service_layer.handlers import REFUND, journal_from, post_journal
from finance.service_layer.payout_enqueue import enqueue
from finance.service_layer.payout_queue import (
    Queue,
    own_event_id,
    payout_correlation,
    record_release,
)
from marketplace_contracts import Envelope
from marketplace_contracts.events.finance import PayoutReleasedV1
from marketplace_contracts.events.payments import (
    FundsClearedV1,
    PaymentCapturedV1,
    PaymentCapturedV2,
    PaymentReturnedV1,
    RefundSucceededV1,
    TransferCreatedV1,
    TransferFailedV1,
    TransferReversedV1,
)

Apply = Callable[[asyncpg.Connection, Envelope, Any, Any], Awaitable[None]]


def chain(*applies: Apply) -> Apply:
    """One route, several handlers in turn (in the same transaction): a router takes one
    handler per event type and version."""

    async def apply(conn: asyncpg.Connection, env: Envelope, event: Any, prepared: Any) -> None:
        for handler in applies:
            await handler(conn, env, event, prepared)

    return apply


class Payouts:
    def __init__(self, outbox: Outbox, queue: Queue | None = None) -> None:
        self.outbox = outbox
        self.queue = queue

    # -- payables -------------------------------------------------------------------------
    async def on_payment_captured(
        self, conn: asyncpg.Connection, env: Envelope, event: PaymentCapturedV1, _: object
    ) -> None:
        """v1: a single booking's destination charge; Stripe paid the host at capture."""
        if not await _first_time(conn, "payment_captured", event.payment_id):
            return
        await payables_db.add_payable(
            conn,
            {
                "payment_id": event.payment_id,
                "booking_id": event.booking_id,
                "host_account_id": event.host_account_id,
                "currency": event.currency,
                "host_amount": event.host_amount,
                "destination_charge": True,
                "charge_id": event.charge_id,
            },
        )

    async def on_payment_captured_v2(
        self, conn: asyncpg.Connection, env: Envelope, event: PaymentCapturedV2, _: object
    ) -> None:
        """A payable per split; a payment without a transfer group is a destination charge."""
        if not await _first_time(conn, "payment_captured", event.payment_id):
            return
        for split in event.splits:
            payable = {
                "payment_id": event.payment_id,
                "booking_id": split.booking_id,
                "group_id": event.group_id,
                "host_account_id": split.host_account_id,
                "currency": event.currency,
                "host_amount": split.host_amount,
                "transfer_group": event.transfer_group,
                "destination_charge": event.transfer_group is None,
                "payment_method_type": event.payment_method_type,
                "hold_until": event.funds_hold_until,
                "charge_id": event.charge_id,
            }
            await payables_db.add_payable(conn, payable)
            # a destination charge paid its host at capture: nothing to queue
            if self.queue is not None and event.transfer_group is not None:
                await enqueue(self.queue, conn, payable, event.purpose)

    async def check_refund(
        self, conn: asyncpg.Connection, env: Envelope, event: RefundSucceededV1, _: object
    ) -> None:
        """Before anything is booked: a refund takes back part of a capture this service booked
        (payments keys both by the payment, so the capture comes first), and no more of the
        host's share than that capture left. Anything else is not a refund payments made: it
        is dead-lettered with the reason, and neither the ledger nor the payables move."""
        if event.method != REFUND or event.amount == 0:
            return
        if await payables_db.counted(conn, own_event_id("refund_succeeded", event.refund_id)):
            return  # booked already: a redelivery changes nothing
        owed = await payables_db.owed(conn, event.payment_id, event.booking_id)
        about = f"refund {event.refund_id} of payment {event.payment_id}"
        if owed is None:
            raise PermanentError(
                f"{about}: no capture of that payment for booking {event.booking_id} is booked"
            )
        host_amount, refunded = owed
        if refunded + max(event.host_amount, 0) > host_amount:
            raise PermanentError(
                f"{about}: takes {event.host_amount} of the host's share, of which "
                f"{host_amount - refunded} is left (captured {host_amount}, refunded {refunded})"
            )

    async def on_refund_succeeded(
        self, conn: asyncpg.Connection, env: Envelope, event: RefundSucceededV1, _: object
    ) -> None:
        """A Stripe refund lowers what the host is owed by its host share (a smaller capture
        was captured smaller: its payable is already what it took)."""
        if event.method != REFUND or event.host_amount <= 0:
            return
        if not await _first_time(conn, "refund_succeeded", event.refund_id):
            return
        await payables_db.add_to(
            conn, "refunded", event.payment_id, event.booking_id, event.host_amount
        )

    async def on_funds_cleared(
        self, conn: asyncpg.Connection, env: Envelope, event: FundsClearedV1, _: object
    ) -> None:
        """The bank debit can no longer be returned: its payables may be released."""
        await payables_db.clear(conn, event.payment_id, event.cleared_at)

    async def on_payment_returned(
        self, conn: asyncpg.Connection, env: Envelope, event: PaymentReturnedV1, _: object
    ) -> None:
        """A bank debit came back. After capture: its payables are never released and the
        capture's journal is reversed. Before capture nothing was booked."""
        if not event.after_capture:
            return
        await payables_db.mark_returned(conn, event.payment_id)
        if event.amount == 0:
            return  # refunded in full before: Stripe took nothing back, nothing to reverse
        journal = journal_from(f"return of {event.payment_id}", payment_returned, event)
        # Stripe takes a returned debit back by a dispute: the journal names the object whose
        # balance transaction moved the money (the charge only on older facts).
        stripe_object = event.dispute_id or await payables_db.charge_of(conn, event.payment_id)
        # keyed by the payment (returned once after capture), not the fact: the return must not
        # be booked twice whoever emits it again, or the recovery of a paid host's share
        # (service_layer/returned_debits.py) would leave the host payable owed by the host
        await post_journal(
            conn,
            self.outbox,
            env,
            journal,
            event.booking_id,
            stripe_object,
            source=own_event_id(PAYMENT_RETURNED, event.payment_id),
        )

    # -- transfers ------------------------------------------------------------------------
    async def on_transfer_created(
        self, conn: asyncpg.Connection, env: Envelope, event: TransferCreatedV1, _: object
    ) -> None:
        await payables_db.decide_release(
            conn, event.release_id, "transferred", transfer_id=event.transfer_id
        )
        journal = host_transfer(
            amount=event.amount, host_account_id=event.host_account_id, currency=event.currency
        )
        await post_journal(conn, self.outbox, env, journal, event.booking_id, event.transfer_id)

    async def on_transfer_failed(
        self, conn: asyncpg.Connection, env: Envelope, event: TransferFailedV1, _: object
    ) -> None:
        """Nothing was paid: the released amount is owed again (ops may release it again)."""
        release = await payables_db.decide_release(
            conn, event.release_id, "failed", code=event.code, message=event.message
        )
        if release is not None:
            await payables_db.add_to(
                conn, "released", release["payment_id"], release["booking_id"], -release["amount"]
            )

    async def on_transfer_reversed(
        self, conn: asyncpg.Connection, env: Envelope, event: TransferReversedV1, _: object
    ) -> None:
        if await _first_time(conn, "transfer_reversed", event.reversal_id):
            await payables_db.add_to(
                conn, "reversed", event.payment_id, event.booking_id, event.amount
            )
        journal = host_transfer_reversed(
            amount=event.amount, host_account_id=event.host_account_id, currency=event.currency
        )
        await post_journal(conn, self.outbox, env, journal, event.booking_id, event.reversal_id)

    # -- the release (ops) ----------------------------------------------------------------
    async def release(
        self,
        conn: asyncpg.Connection,
        booking_id: str,
        *,
        payment_id: str | None = None,
        amount: int | None = None,
        now: datetime | None = None,
    ) -> list[PayoutReleasedV1]:
        """Release what is owed for the booking (every payment that paid it, or `payment_id`'s;
        `amount` of one payment's), in one transaction: the releases and their events. Raises
        PayoutRefused when nothing may be released."""
        now = now or datetime.now(UTC)
        async with unit_of_work.transaction(conn):
            rows = await payables_db.payables_for(conn, booking_id, payment_id, for_update=True)
            if not rows:
                raise PayoutRefused(
                    "no_payable",
                    f"booking {booking_id}: no captured payment"
                    + (f" {payment_id}" if payment_id else "")
                    + " owes its host anything",
                )
            if amount is not None and len(rows) > 1:
                raise PayoutRefused(
                    "ambiguous_payment",
                    f"booking {booking_id} was paid by {len(rows)} payments "
                    f"({', '.join(r['payment_id'] for r in rows)}): name one with --payment-id",
                )
            planned: list[tuple[asyncpg.Record, int]] = []
            refusals: list[PayoutRefused] = []
            for row in rows:
                try:
                    await self._queue_allows(conn, row)
                    planned.append((row, payables_db.payable(row).releasable(now, amount)))
                except PayoutRefused as exc:
                    refusals.append(exc)
            if not planned:
                if len(refusals) == 1:
                    raise refusals[0]
                raise PayoutRefused(
                    refusals[0].code, "; ".join(refusal.message for refusal in refusals)
                )
            released = []
            for row, value in planned:
                event = await self._release(conn, row, value)
                await self._settle_entry(conn, row, event)
                released.append(event)
        return released

    async def _queue_allows(self, conn: asyncpg.Connection, row: asyncpg.Record) -> None:
        """The queue's holds bind ops too, except the two this command always knew: the
        booking's start (ops pay outside the timing) and the bank debit (checked by the
        payable itself)."""
        entry = await queue_db.get(
            conn, f"{row['payment_id']}:{row['booking_id']}", for_update=True
        )
        if entry is None:
            return
        binding = set(entry["holds"]) - {Hold.AWAITING_BOOKING, Hold.BANK_DEBIT}
        if binding:
            raise PayoutRefused(
                "payout_held",
                f"payment {row['payment_id']}, booking {row['booking_id']}: held for "
                f"{', '.join(sorted(binding))} (see `python -m finance payouts show`)",
            )

    async def _settle_entry(
        self, conn: asyncpg.Connection, row: asyncpg.Record, event: PayoutReleasedV1
    ) -> None:
        """A release that leaves nothing payable releases the queue's entry with it (the queue
        must not pay it again); a partial one leaves the rest to the queue."""
        entry = await queue_db.get(
            conn, f"{row['payment_id']}:{row['booking_id']}", for_update=True
        )
        if self.queue is None or entry is None or entry["state"] not in OPEN_STATES:
            return
        [payable] = await payables_db.payables_for(conn, row["booking_id"], row["payment_id"])
        if payables_db.payable(payable).payable_now > 0:
            return
        await self.queue.step(
            conn,
            entry,
            Trigger.OVERRIDE,
            actor="release-payout",
            amount=event.amount,
            release_id=event.release_id,
            events={"payout_released": None},  # announced above
        )

    async def _release(
        self, conn: asyncpg.Connection, row: asyncpg.Record, amount: int
    ) -> PayoutReleasedV1:
        event = await record_release(conn, row, amount)
        correlation = payout_correlation(f"{row['payment_id']}:{row['booking_id']}")
        await self.outbox.add(conn, event, key=event.release_id, correlation_id=correlation)
        return event


async def _first_time(conn: asyncpg.Connection, kind: str, subject: str) -> bool:
    """Claim a payment fact for the payables once per what it is about (the payment captured,
    the refund, the reversal), however often and under whichever event id it is told: a
    capture told twice is one capture."""
    return await payables_db.first_time(conn, own_event_id(kind, subject), kind)
