"""Facts that move payout queue entries, in the transaction that claims them in the inbox.

- booking's checkout facts give each booking's start (`starts_at`): the base of its due time;
  an entry queued before they arrived (held `awaiting_booking`) gets its due time then; an
  applied amendment that moves the booking moves its unpaid entries' due times;
- `payments.funds_cleared` ends a bank debit's hold; a return after capture leaves nothing owed;
- `payments.host_account_updated` holds (or frees) every open entry of a host that cannot
  receive payouts;
- `disputes.payout_hold_changed` holds (or frees) the entries a disputed charge paid for;
- `payments.transfer_created` / `transfer_failed` / `transfer_reversed` settle released entries;
- a host's cancellation penalty and a failed transfer reversal are what the host owes
  (`asset:host_receivable:<acct>`), recovered from its next payouts.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import asyncpg

from domainkit.rows import from_attrs
from eventkit.routing import PermanentError
from finance import metrics
from finance.adapters import ledger_repository
from finance.adapters import payables_repository as payables_db
from finance.adapters import queue_repository as queue_db
from finance.domain.host_journals import (
    REFUND_AFTER_NETTING,
    owed_again_after_refund,
    penalty_receivable,
    refund_after_netting,
    reversal_failed,
)
from finance.domain.ledger import Journal
from finance.domain.payout_queue import Hold, State, Trigger, dispute_hold
from finance.service_layer.handlers import REFUND, post_journal
from finance.service_layer.payout_queue import SYSTEM, Queue, own_event_id
from finance.service_layer.payout_release import Release
from marketplace_contracts import Envelope
from marketplace_contracts.events.booking import (
    AmendmentDecidedV1,
    AmendmentProposedV1,
    BookingCancelledV1,
    CheckoutRequestedV1,
    GroupCheckoutRequestedV1,
)
from marketplace_contracts.events.disputes import PayoutHoldChangedV1
from marketplace_contracts.events.finance import (
    NegativeBalanceRecordedV1,
    PayoutFailedV1,
    PayoutTransferredV1,
)
from marketplace_contracts.events.payments import (
    FundsClearedV1,
    HostAccountUpdatedV1,
    PaymentReturnedV1,
    RefundSucceededV1,
    TransferCreatedV1,
    TransferFailedV1,
    TransferReversalFailedV1,
    TransferReversedV1,
)


class QueueFacts:
    def __init__(self, queue: Queue, release: Release) -> None:
        self.queue = queue
        self.release = release

    # -- booking ------------------------------------------------------------------------------
    async def on_checkout_requested(
        self, conn: asyncpg.Connection, env: Envelope, event: CheckoutRequestedV1, _: object
    ) -> None:
        await self._started(conn, event.booking_id, None, event.host_account_id, event.starts_at)

    async def on_group_checkout_requested(
        self, conn: asyncpg.Connection, env: Envelope, event: GroupCheckoutRequestedV1, _: object
    ) -> None:
        for leg in event.legs:
            await self._started(
                conn, leg.booking_id, event.group_id, leg.host_account_id, leg.starts_at
            )

    async def _started(
        self,
        conn: asyncpg.Connection,
        booking_id: str,
        group_id: str | None,
        host_account_id: str,
        starts_at: datetime,
    ) -> None:
        start = {
            "booking_id": booking_id,
            "group_id": group_id,
            "host_account_id": host_account_id,
            "starts_at": starts_at,
        }
        await queue_db.hold_booking(conn, booking_id)  # a capture's entry being enqueued
        await queue_db.set_start(conn, start)
        delay = await self._delay(conn, host_account_id)
        for row in await queue_db.entries_where(
            conn, "booking_id = $1 AND $2 = ANY(holds)", booking_id, Hold.AWAITING_BOOKING.value
        ):
            await self.queue.step(
                conn,
                row,
                Trigger.UNHOLD,
                actor=SYSTEM,
                reason=Hold.AWAITING_BOOKING.value,
                due_at=starts_at + delay,
            )

    async def on_amendment_proposed(
        self, conn: asyncpg.Connection, env: Envelope, event: AmendmentProposedV1, _: object
    ) -> None:
        await queue_db.propose_start(conn, event.amendment_id, event.booking_id, event.starts_at)

    async def on_amendment_decided(
        self, conn: asyncpg.Connection, env: Envelope, event: AmendmentDecidedV1, _: object
    ) -> None:
        """An applied amendment may move the booking: its unpaid entries are due a delay after
        the new start (a payout never goes before the stay it pays for)."""
        if event.outcome != "applied":
            return
        booking = await queue_db.apply_start(conn, event.amendment_id)
        if booking is None:
            return
        due_at = booking["starts_at"] + await self._delay(conn, booking["host_account_id"])
        for row in await queue_db.entries_where(
            conn,
            "booking_id = $1 AND kind = 'payable' AND state IN ('scheduled', 'held') "
            "AND due_at IS DISTINCT FROM $2",
            event.booking_id,
            due_at,
        ):
            await queue_db.move_due(conn, row, due_at)
            await queue_db.record(
                conn,
                row["entry_id"],
                from_state=row["state"],
                to_state=row["state"],
                trigger="rescheduled",
                actor=SYSTEM,
                at=self.queue.now(),
                note=f"amendment {event.amendment_id}: due {due_at.isoformat()}",
            )
            if row["state"] == State.SCHEDULED:
                await self.queue.schedule_due(conn, row["entry_id"], due_at)

    async def _delay(self, conn: asyncpg.Connection, host_account_id: str) -> timedelta:
        host = await queue_db.host(conn, host_account_id)
        if host is not None and host["payout_delay_seconds"] is not None:
            return timedelta(seconds=host["payout_delay_seconds"])
        return self.queue.settings.delay

    async def on_booking_cancelled(
        self, conn: asyncpg.Connection, env: Envelope, event: BookingCancelledV1, _: object
    ) -> None:
        """A host who cancels a confirmed booking owes its penalty: a receivable, recovered
        from its next payouts (the cancelled booking's own payable is refunded)."""
        if event.host_penalty <= 0:
            return
        currency = await _currency_of(conn, event)
        journal = penalty_receivable(
            penalty=event.host_penalty, host_account_id=event.host_account_id, currency=currency
        )
        await self._owed(conn, env, journal, event.booking_id, event.host_account_id, None)

    # -- payments -----------------------------------------------------------------------------
    async def on_funds_cleared(
        self, conn: asyncpg.Connection, env: Envelope, event: FundsClearedV1, _: object
    ) -> None:
        await self.queue.hold_where(
            conn,
            "payment_id = $1",
            event.payment_id,
            reason=Hold.BANK_DEBIT.value,
            hold=False,
            note="funds cleared",
        )

    async def on_payment_returned(
        self, conn: asyncpg.Connection, env: Envelope, event: PaymentReturnedV1, _: object
    ) -> None:
        if not event.after_capture:
            return
        for row in await queue_db.entries_where(
            conn,
            "payment_id = $1 AND state IN ('scheduled', 'held', 'releasable')",
            event.payment_id,
        ):
            await self.queue.step(
                conn, row, Trigger.NOTHING_OWED, actor=SYSTEM, note=f"returned: {event.code}"
            )

    async def on_host_account_updated(
        self, conn: asyncpg.Connection, env: Envelope, event: HostAccountUpdatedV1, _: object
    ) -> None:
        await queue_db.set_host(conn, event.host_account_id, payouts_enabled=event.payouts_enabled)
        await self.queue.hold_where(
            conn,
            "host_account_id = $1",
            event.host_account_id,
            reason=Hold.PAYOUTS_DISABLED.value,
            hold=not event.payouts_enabled,
        )

    async def on_payout_hold_changed(
        self, conn: asyncpg.Connection, env: Envelope, event: PayoutHoldChangedV1, _: object
    ) -> None:
        """A dispute's hold, put on or lifted. A dispute does not open again once closed: a
        hold told after its lifting (a replayed dead letter, a stale or reordered fact) is
        recorded lifted and holds nothing, or it would hold the payout for good."""
        lifted = [own_event_id("dispute_hold_lifted", f"{event.dispute_id}:")]
        if event.booking_id is not None:
            lifted.append(
                own_event_id("dispute_hold_lifted", f"{event.dispute_id}:{event.booking_id}")
            )
        if not event.held:
            await payables_db.first_time(conn, lifted[-1], "dispute_hold_lifted")
        elif any([await payables_db.counted(conn, fact) for fact in lifted]):
            return
        await self.queue.hold_where(
            conn,
            "payment_id = $1 AND ($2::text IS NULL OR booking_id = $2)",
            event.payment_id,
            event.booking_id,
            reason=dispute_hold(event.dispute_id),
            hold=event.held,
            note=event.reason,
        )

    async def on_transfer_created(
        self, conn: asyncpg.Connection, env: Envelope, event: TransferCreatedV1, _: object
    ) -> None:
        for row in await self._released(conn, event.release_id):
            metrics.payout_transferred(event.currency, row["due_at"], self.queue.now())
            await self.queue.step(
                conn,
                row,
                Trigger.TRANSFERRED,
                actor=SYSTEM,
                transfer_id=event.transfer_id,
                events={
                    "payout_transferred": PayoutTransferredV1(
                        entry_id=row["entry_id"],
                        release_id=event.release_id,
                        transfer_id=event.transfer_id,
                        host_account_id=row["host_account_id"],
                        amount=event.amount,
                        netted=row["netted"],
                        currency=event.currency,
                    )
                },
            )

    async def on_transfer_failed(
        self, conn: asyncpg.Connection, env: Envelope, event: TransferFailedV1, _: object
    ) -> None:
        for row in await self._released(conn, event.release_id):
            retry_at = self.release.retry_at(row["retries"])
            await self.queue.step(
                conn,
                row,
                Trigger.TRANSFER_FAILED,
                actor=SYSTEM,
                note=event.message,
                failure_code=event.code,
                retries=row["retries"] + 1,
                events={
                    "payout_failed": from_attrs(
                        PayoutFailedV1,
                        event,
                        entry_id=row["entry_id"],
                        host_account_id=row["host_account_id"],
                        retry_at=retry_at,
                    )
                },
            )
            await self.release.schedule_retry(conn, row["entry_id"], retry_at)

    async def on_transfer_reversed(
        self, conn: asyncpg.Connection, env: Envelope, event: TransferReversedV1, _: object
    ) -> None:
        """A transfer that came back in full reverses its entry (a part: a refund's share)."""
        for row in await queue_db.entries_where(
            conn, "transfer_id = $1 AND state = 'transferred'", event.transfer_id
        ):
            if event.amount >= (row["amount"] or 0):
                await self.queue.step(conn, row, Trigger.REVERSED, actor=SYSTEM)

    async def on_refund_succeeded(
        self, conn: asyncpg.Connection, env: Envelope, event: RefundSucceededV1, _: object
    ) -> None:
        """A refund after the booking's payout netted the host's debts instead of transferring
        (in full or in part): no transfer reversal can take that part back, so the host owes it
        again (payments reverses what was transferred). Runs after the payables counted it."""
        if event.method != REFUND or event.host_amount <= 0:
            return
        rows = await payables_db.payables_for(conn, event.booking_id, event.payment_id)
        if not rows or not rows[0]["netted"]:
            return
        row = rows[0]  # one payable per payment and booking
        amount = owed_again_after_refund(
            host_amount=row["host_amount"],
            # what was transferred in all (a reversal, or a netted part owed again, counts in
            # `reversed`; the rule reads the totals, so each refund adds only its own part)
            transferred=row["released"],
            netted=row["netted"],
            refunded_before=row["refunded"] - event.host_amount,
            refunded_after=row["refunded"],
        )
        if amount <= 0:
            return
        journal = refund_after_netting(
            amount=amount, host_account_id=row["host_account_id"], currency=event.currency
        )
        source = own_event_id(REFUND_AFTER_NETTING, event.refund_id)
        if await self._owed(
            conn, env, journal, event.booking_id, row["host_account_id"], None, source=source
        ):
            # as a failed reversal: the payable counts it as reversed, owed as a receivable
            await payables_db.add_to(conn, "reversed", event.payment_id, event.booking_id, amount)

    async def on_transfer_reversal_failed(
        self, conn: asyncpg.Connection, env: Envelope, event: TransferReversalFailedV1, _: object
    ) -> None:
        """The refund took the host's share from its payable after it was paid, and the money
        did not come back from the host: the host owes it."""
        journal = reversal_failed(
            amount=event.amount, host_account_id=event.host_account_id, currency=event.currency
        )
        if await self._owed(
            conn, env, journal, event.booking_id, event.host_account_id, event.transfer_id
        ):
            # the journal moved the refunded share off the payable (Cr host payable) as a
            # reversal would have: the payable counts it as reversed, owed now as a receivable
            await payables_db.add_to(
                conn, "reversed", event.payment_id, event.booking_id, event.amount
            )

    async def _owed(
        self,
        conn: asyncpg.Connection,
        env: Envelope,
        journal: Journal,
        booking_id: str,
        host_account_id: str,
        stripe_object_id: str | None,
        *,
        source: uuid.UUID | None = None,
    ) -> bool:
        """Book what the host owes; False when the fact was booked before (a redelivery)."""
        before = await queue_db.receivable(conn, host_account_id, journal.currency)
        await post_journal(
            conn, self.queue.outbox, env, journal, booking_id, stripe_object_id, source=source
        )
        balance = await queue_db.receivable(conn, host_account_id, journal.currency)
        if balance == before:
            return False  # a redelivered fact: nothing new is owed
        await self.queue.emit(
            conn,
            NegativeBalanceRecordedV1(
                host_account_id=host_account_id,
                amount=balance - before,
                currency=journal.currency,
                cause=journal.kind,
                booking_id=booking_id,
                balance=balance,
            ),
            host_account_id,
        )
        return True

    async def _released(self, conn: asyncpg.Connection, release_id: str) -> list[asyncpg.Record]:
        return await queue_db.entries_where(
            conn, "release_id = $1 AND state = $2", release_id, State.RELEASED.value
        )


async def _currency_of(conn: asyncpg.Connection, event: BookingCancelledV1) -> str:
    """The booking's currency: its refund's, else that of the journals its payment posted
    (a group's capture is posted under the group id)."""
    if event.refund is not None:
        return event.refund.currency
    subjects = [event.booking_id, *([event.group_id] if event.group_id else [])]
    currency = await ledger_repository.currency_of(conn, subjects)
    if currency is None:
        raise PermanentError(
            f"booking {event.booking_id}: host penalty {event.host_penalty} without a refund "
            "or a posted payment to take the currency from"
        )
    return currency
