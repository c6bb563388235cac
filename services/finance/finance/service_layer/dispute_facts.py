"""A card dispute's money, booked from the facts that report it (posting rules:
`finance/domain/disputes.py`; docs/finance.md, "Disputes").

- `payments.dispute_funds_withdrawn` / `dispute_funds_reinstated`: the amount (and the fee)
  leave or come back to the Stripe balance; payments' side of the dispute's reconciliation.
- `disputes.dispute_resolved` lost or accepted: the loss, by its liability shares; each host
  share is netted from the host's next payouts, or taken back by a transfer reversal
  (`finance.transfer_reversal_requested`) when the host was already paid.
- `payments.transfer_reversed` / `transfer_reversal_failed` with cause `dispute_lost`: the
  share came back, or is owed (netted later).

Every journal is keyed by what it books, not by the fact's envelope: the balance transaction
(`txn_…`) for the money Stripe moved, the dispute for the loss, the request for a reversal's
outcome. A fact delivered twice, or emitted again under a new event id, books nothing twice.
A returned bank debit's dispute keeps its own path (`payments.payment_returned`): it is never
booked here as well.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import asyncpg

from eventkit.routing import PermanentError
from finance.adapters import disputes_repository as disputes_db
from finance.adapters import recon_repository as recon_db
from finance.domain import disputes as rules
from finance.domain.ledger import Journal, UnbalancedJournal
from finance.domain.reconciliation import source_event_id
from finance.service_layer.handlers import journal_from
from finance.service_layer.host_recovery import HostRecovery
from finance.service_layer.payout_queue import own_event_id
from marketplace_contracts import Envelope
from marketplace_contracts.events.disputes import DisputeResolvedV1
from marketplace_contracts.events.finance import (
    TransferReversalRequestedV1,
)
from marketplace_contracts.events.payments import TransferReversalFailedV1, TransferReversedV1
from marketplace_contracts.events.payments_disputes import (
    DisputeFundsReinstatedV1,
    DisputeFundsWithdrawnV1,
)

log = logging.getLogger("finance.disputes")
Apply = Callable[[asyncpg.Connection, Envelope, Any, Any], Awaitable[None]]


def by_cause(routes: Mapping[str, Apply], other: Apply) -> Apply:
    """One route for a transfer reversal's outcome, by its cause: finance's requests (a lost
    dispute's, a returned bank debit's) or, any other cause, a refund's (payments did it on its
    own)."""

    async def apply(conn: asyncpg.Connection, env: Envelope, event: Any, prepared: Any) -> None:
        handler = routes.get(event.cause, other)
        await handler(conn, env, event, prepared)

    return apply


class DisputeFacts(HostRecovery):
    # -- Stripe's balance ---------------------------------------------------------------------
    async def on_funds_withdrawn(
        self, conn: asyncpg.Connection, env: Envelope, event: DisputeFundsWithdrawnV1, _: object
    ) -> None:
        await self._moved(conn, env, event, rules.funds_withdrawn, event.fee, ("dispute", -1))

    async def on_funds_reinstated(
        self, conn: asyncpg.Connection, env: Envelope, event: DisputeFundsReinstatedV1, _: object
    ) -> None:
        """Won: the amount comes back (and the part of the fee Stripe returns, if any)."""
        await self._moved(
            conn, env, event, rules.funds_reinstated, -event.fee, ("dispute_reversal", 1)
        )

    async def _moved(
        self,
        conn: asyncpg.Connection,
        env: Envelope,
        event: DisputeFundsWithdrawnV1 | DisputeFundsReinstatedV1,
        rule: Callable[..., Journal],
        fee: int,
        expected: tuple[str, int],
    ) -> None:
        """One of the dispute's balance transactions: the amount's journal, the fee's (> 0
        taken, < 0 given back) and payments' side of the match, all keyed by the transaction
        (the import keys its fee journal the same way, so the fee is booked once). `expected`:
        payments' side, its kind and the sign of the money (out of the balance: -1)."""
        dispute = event.processor_dispute_id
        if await disputes_db.is_bank_debit(conn, event.payment_id, dispute):
            log.warning(
                "dispute %s of bank debit %s: booked as its return", dispute, event.payment_id
            )
            return
        txn = event.balance_transaction_id
        source = source_event_id(txn)
        journal = journal_from(f"dispute {dispute}, {txn}", rule, event)
        await self._book(conn, env, journal, source, event.booking_id, dispute)
        if fee and not await disputes_db.fee_booked(conn, txn):
            journal = rules.dispute_fee(fee=fee, currency=event.currency)
            await self._book(conn, env, journal, source, event.booking_id, dispute)
        kind, sign = expected
        await recon_db.record_object(
            conn,
            source,
            kind=kind,
            object_id=dispute,
            payment_id=event.payment_id,
            booking_id=event.booking_id,
            amount=sign * event.amount,
            currency=event.currency,
        )

    # -- the outcome --------------------------------------------------------------------------
    async def on_dispute_resolved(
        self, conn: asyncpg.Connection, env: Envelope, event: DisputeResolvedV1, _: object
    ) -> None:
        """Lost or accepted: book the loss by its shares and start each host's recovery.
        Won, or an inquiry closed: nothing is lost (the reinstatement books the money)."""
        if event.outcome not in rules.LOST_OUTCOMES:
            return
        platform, hosts = _shares(event)
        try:
            rules.check_shares(event.amount, platform, hosts)
            charges = [rules.Charge(rules.PLATFORM, platform)]
            for share in hosts:
                paid = None
                if share.booking_id is not None:
                    paid = await disputes_db.paid(conn, event.payment_id, share.booking_id)
                charges += rules.recovery(share, paid)
            journal = rules.loss(amount=event.amount, currency=event.currency, charges=charges)
        except UnbalancedJournal as exc:
            raise PermanentError(f"dispute {event.dispute_id}: {exc}") from exc
        source = own_event_id(rules.DISPUTE_LOSS, event.dispute_id)
        if not await self._book(
            conn, env, journal, source, event.booking_id, event.processor_dispute_id
        ):
            return  # booked before: its recoveries were started then
        for share in hosts:
            mine = [c for c in charges if (c.host_account_id, c.booking_id) == _key(share)]
            await self._recover(conn, env, event, share, mine)

    async def _recover(
        self,
        conn: asyncpg.Connection,
        env: Envelope,
        event: DisputeResolvedV1,
        share: rules.HostShare,
        charges: list[rules.Charge],
    ) -> None:
        """Record how one host share is recovered; ask for its reversal, announce what the
        host owes now."""
        if not charges:
            return
        reversal = next((c for c in charges if c.how == rules.REVERSAL), None)
        recovery_id = f"{event.dispute_id}:{share.booking_id or share.host_account_id}"
        await disputes_db.add_recovery(
            conn,
            {
                "recovery_id": recovery_id,
                "dispute_id": event.dispute_id,
                "payment_id": event.payment_id,
                "booking_id": share.booking_id,
                "host_account_id": share.host_account_id,
                "currency": event.currency,
                "amount": share.amount,
                "reversal_amount": reversal.amount if reversal else 0,
                "transfer_id": reversal.transfer_id if reversal else None,
                "state": "reversal_requested" if reversal else "netting",
            },
        )
        if reversal is not None:
            assert reversal.transfer_id is not None
            request = TransferReversalRequestedV1(
                request_id=recovery_id,
                transfer_id=reversal.transfer_id,
                payment_id=event.payment_id,
                booking_id=share.booking_id or event.booking_id,
                host_account_id=share.host_account_id,
                amount=reversal.amount,
                currency=event.currency,
                cause=rules.DISPUTE_LOST,
                dispute_id=event.dispute_id,
            )
            await self.queue.outbox.add(
                conn, request, key=recovery_id, correlation_id=env.correlation_id
            )
        owed = sum(c.amount for c in charges if c.how == rules.RECEIVABLE)
        if owed:
            host = share.host_account_id
            await self._owed(conn, host, owed, event.currency, share.booking_id, rules.DISPUTE_LOSS)
        await self._note(conn, event, share, reversal, owed)

    async def _note(
        self,
        conn: asyncpg.Connection,
        event: DisputeResolvedV1,
        share: rules.HostShare,
        reversal: rules.Charge | None,
        owed: int,
    ) -> None:
        """The booking's payout entry shows the loss in its history (its state is unchanged)."""
        how = [f"{owed} netted from the host's payouts"] if owed else []
        if reversal is not None:
            how.insert(0, f"{reversal.amount} reversal of {reversal.transfer_id} requested")
        note = f"dispute {event.dispute_id} {event.outcome}: host share {share.amount}: "
        entry_id = f"{event.payment_id}:{share.booking_id}"
        await self._note_entry(conn, entry_id, rules.DISPUTE_LOST, note + "; ".join(how))

    # -- the reversal's outcome ---------------------------------------------------------------
    async def on_transfer_reversed(
        self, conn: asyncpg.Connection, env: Envelope, event: TransferReversedV1, _: object
    ) -> None:
        row = await self._settled(conn, event.request_id, "reversed", reversal_id=event.reversal_id)
        if row is None:
            return
        host, currency = row["host_account_id"], row["currency"]
        journal = rules.recovery_reversed(
            amount=event.amount, host_account_id=host, currency=currency
        )
        source = own_event_id(rules.RECOVERY_REVERSED, row["recovery_id"])
        await self._book(conn, env, journal, source, event.booking_id, event.reversal_id)
        short = row["reversal_amount"] - event.amount  # Stripe reversed less: the rest is owed
        if short > 0:
            await self._failed(conn, env, row, short, event.transfer_id)

    async def on_transfer_reversal_failed(
        self, conn: asyncpg.Connection, env: Envelope, event: TransferReversalFailedV1, _: object
    ) -> None:
        row = await self._settled(
            conn, event.request_id, "reversal_failed", failure_code=event.code
        )
        if row is not None:
            await self._failed(conn, env, row, row["reversal_amount"], event.transfer_id)

    async def _settled(
        self, conn: asyncpg.Connection, request_id: str | None, state: str, **outcome: Any
    ) -> asyncpg.Record | None:
        """The recovery a reversal's outcome settles; None when it was settled before."""
        if request_id is None:
            raise PermanentError("a dispute_lost transfer reversal without its request_id")
        row = await disputes_db.settle_reversal(conn, request_id, state, **outcome)
        if row is None and await disputes_db.recovery(conn, request_id) is None:
            raise PermanentError(f"transfer reversal {request_id}: finance never asked for it")
        return row

    async def _failed(
        self,
        conn: asyncpg.Connection,
        env: Envelope,
        row: asyncpg.Record,
        amount: int,
        transfer_id: str,
    ) -> None:
        host, currency = row["host_account_id"], row["currency"]
        journal = rules.recovery_failed(amount=amount, host_account_id=host, currency=currency)
        source = own_event_id(rules.RECOVERY_FAILED, row["recovery_id"])
        if await self._book(conn, env, journal, source, row["booking_id"], transfer_id):
            await self._owed(conn, host, amount, currency, row["booking_id"], rules.RECOVERY_FAILED)


def _key(share: rules.HostShare) -> tuple[str | None, str | None]:
    return share.host_account_id, share.booking_id


def _shares(event: DisputeResolvedV1) -> tuple[int, list[rules.HostShare]]:
    """The platform's share and each host's (one per host and booking). A loss without
    shares is the platform's."""
    if not event.shares:
        return event.amount, []
    platform = 0
    hosts: dict[tuple[str, str | None], int] = {}
    for share in event.shares:
        if share.party != "host":
            platform += share.amount
            continue
        if not share.host_account_id:
            raise PermanentError(f"dispute {event.dispute_id}: a host share without its account")
        key = (share.host_account_id, share.booking_id)
        hosts[key] = hosts.get(key, 0) + share.amount
    return platform, [rules.HostShare(h, b, amount) for (h, b), amount in hosts.items()]
