"""A bank debit returned after its host was paid: the host's share is taken back (posting rules:
`finance/domain/payouts.py`; docs/finance.md, "Returned bank debits").

An ACH debit can come back weeks after it succeeded (60 days for an unauthorized debit), long
after its payout. Its return's journal (`payments.payment_returned`, service_layer/payouts.py)
takes the host share off the host payable either way; when the entry that paid it is
`transferred`, the share is recovered as a lost dispute's is:

- `payments.payment_returned` after capture, the entry `transferred`: `debit_return_recovery`,
  and a `finance.transfer_reversal_requested` (cause `debit_returned`) for what the transfer may
  still give back; what the payout netted is owed at once (`finance.negative_balance_recorded`).
- the return came while the entry was `released`: `payments.transfer_created` for the returned
  payment starts the same recovery once the transfer lands. Both facts are keyed by the payment
  on `payments.events`, so finance applies them one after the other: the second sees the
  first's commit (the payable `returned`, the entry `transferred`).
- `payments.transfer_reversed` / `transfer_reversal_failed` with cause `debit_returned`: the
  share came back (the entry is `reversed`), or the host owes it, netted from its next payouts.

Every journal is keyed by what it books (the recovery's request id, `<entry id>:debit_returned`,
with the journal's kind), not by the fact's envelope: whichever of the two facts comes second,
and any redelivery, books nothing twice and asks for no second reversal.
"""

from __future__ import annotations

import uuid

import asyncpg

from eventkit.routing import PermanentError
from finance.adapters import disputes_repository as disputes_db
from finance.adapters import ledger_repository
from finance.adapters import payables_repository as payables_db
from finance.adapters import queue_repository as queue_db
from finance.domain.disputes import dispute_recovery
from finance.domain.payout_queue import State, Trigger
from finance.domain.payouts import (
    DEBIT_RETURN_RECOVERY,
    DEBIT_RETURNED,
    debit_return_recovery,
    debit_return_reversal_failed,
    debit_return_reversed,
    return_recovery,
)
from finance.service_layer.host_recovery import HostRecovery
from finance.service_layer.payout_queue import SYSTEM, own_event_id
from marketplace_contracts import Envelope
from marketplace_contracts.events.finance import (
    TransferReversalRequestedV1,
)
from marketplace_contracts.events.payments import (
    PaymentReturnedV1,
    TransferCreatedV1,
    TransferReversalFailedV1,
    TransferReversedV1,
)


def request_id(entry_id: str) -> str:
    """The recovery of one entry's returned share; the transfer reversal's request id."""
    return f"{entry_id}:{DEBIT_RETURNED}"


def _source(request: str) -> uuid.UUID:
    return own_event_id(DEBIT_RETURN_RECOVERY, request)


class ReturnedDebits(HostRecovery):
    # -- the host was paid: take its share back -----------------------------------------------
    async def on_payment_returned(
        self, conn: asyncpg.Connection, env: Envelope, event: PaymentReturnedV1, _: object
    ) -> None:
        if not event.after_capture or event.amount == 0:
            return  # (0: refunded in full before the return, Stripe took nothing back)
        for row in await payables_db.returned_and_paid(conn, payment_id=event.payment_id):
            await self._recover(conn, env, row)

    async def on_transfer_created(
        self, conn: asyncpg.Connection, env: Envelope, event: TransferCreatedV1, _: object
    ) -> None:
        """A transfer that lands for a debit returned while it was in flight."""
        for row in await payables_db.returned_and_paid(conn, transfer_id=event.transfer_id):
            await self._recover(conn, env, row)

    async def _recover(self, conn: asyncpg.Connection, env: Envelope, row: asyncpg.Record) -> None:
        paid = await disputes_db.paid(conn, row["payment_id"], row["booking_id"])
        recovery = return_recovery(
            reversible=paid.reversible if paid is not None else 0, netted=row["netted"]
        )
        if recovery.share <= 0:
            return
        request = request_id(row["entry_id"])
        host, currency = row["host_account_id"], row["currency"]
        journal = debit_return_recovery(recovery, host_account_id=host, currency=currency)
        source, booking_id = _source(request), row["booking_id"]
        if not await self._book(conn, env, journal, source, booking_id, row["transfer_id"]):
            return  # recovered before: a redelivery, or the other fact of the two
        # the journal credits the host payable as a reversal would: the payable counts it so
        await payables_db.add_to(
            conn, "reversed", row["payment_id"], row["booking_id"], recovery.share
        )
        how = []
        if recovery.reverse:
            assert paid is not None
            await self.queue.outbox.add(
                conn,
                TransferReversalRequestedV1(
                    request_id=request,
                    transfer_id=paid.transfer_id,
                    payment_id=row["payment_id"],
                    booking_id=row["booking_id"],
                    host_account_id=host,
                    amount=recovery.reverse,
                    currency=currency,
                    cause=DEBIT_RETURNED,
                    message="bank debit returned after its host was paid",
                ),
                key=request,
                correlation_id=env.correlation_id,
            )
            how.append(f"{recovery.reverse} reversal of {paid.transfer_id} requested")
        if recovery.owed:
            owed = recovery.owed
            await self._owed(conn, host, owed, currency, booking_id, DEBIT_RETURN_RECOVERY)
            how.append(f"{recovery.owed} netted from the host's payouts")
        await self._note(conn, row["entry_id"], DEBIT_RETURNED, "; ".join(how))

    # -- the reversal's outcome ---------------------------------------------------------------
    async def on_transfer_reversed(
        self, conn: asyncpg.Connection, env: Envelope, event: TransferReversedV1, _: object
    ) -> None:
        requested = await self._requested(conn, event.request_id)
        host, currency = event.host_account_id, event.currency
        journal = debit_return_reversed(
            amount=event.amount, host_account_id=host, currency=currency
        )
        assert event.request_id is not None
        source = _source(event.request_id)
        if not await self._book(conn, env, journal, source, event.booking_id, event.reversal_id):
            return
        entry_id = f"{event.payment_id}:{event.booking_id}"
        entry = await queue_db.get(conn, entry_id, for_update=True)
        if entry is not None and entry["state"] == State.TRANSFERRED:
            # the payout came back in full: nothing of it stands (as a refund's full reversal)
            if event.amount >= (entry["amount"] or 0):
                await self.queue.step(conn, entry, Trigger.REVERSED, actor=SYSTEM)
        if requested - event.amount > 0:  # Stripe reversed less: the rest is owed
            await self._failed(conn, env, event, requested - event.amount)

    async def on_transfer_reversal_failed(
        self, conn: asyncpg.Connection, env: Envelope, event: TransferReversalFailedV1, _: object
    ) -> None:
        await self._requested(conn, event.request_id)
        await self._failed(conn, env, event, event.amount)

    async def _failed(
        self,
        conn: asyncpg.Connection,
        env: Envelope,
        event: TransferReversedV1 | TransferReversalFailedV1,
        amount: int,
    ) -> None:
        assert event.request_id is not None
        journal = debit_return_reversal_failed(
            amount=amount, host_account_id=event.host_account_id, currency=event.currency
        )
        source = _source(event.request_id)
        if await self._book(conn, env, journal, source, event.booking_id, event.transfer_id):
            host, currency = event.host_account_id, event.currency
            await self._owed(conn, host, amount, currency, event.booking_id, journal.kind)
            entry_id = f"{event.payment_id}:{event.booking_id}"
            await self._note(conn, entry_id, journal.kind, f"{amount} netted from its payouts")

    async def _requested(self, conn: asyncpg.Connection, request: str | None) -> int:
        """What finance asked to reverse for this request; a request it never made is a
        poison message."""
        if request is None:
            raise PermanentError("a debit_returned transfer reversal without its request_id")
        entry_id = request.removesuffix(f":{DEBIT_RETURNED}")
        row = await queue_db.get(conn, entry_id)
        account = dispute_recovery(row["host_account_id"]) if row is not None else ""
        amount = await ledger_repository.posted_to(
            conn, _source(request), DEBIT_RETURN_RECOVERY, account
        )
        if not amount:
            raise PermanentError(f"transfer reversal {request}: finance never asked for it")
        return amount

    # -- shared -------------------------------------------------------------------------------
    async def _note(self, conn: asyncpg.Connection, entry_id: str, trigger: str, note: str) -> None:
        """The entry's history shows the recovery (its state is unchanged)."""
        note = f"bank debit returned after its payout: {note}"
        await self._note_entry(conn, entry_id, trigger, note)
