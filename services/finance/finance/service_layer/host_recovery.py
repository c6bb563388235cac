"""What the recoveries of a host's paid share have in common (a lost dispute's,
service_layer/dispute_facts.py; a returned bank debit's, service_layer/returned_debits.py): the
queue they act through, journals keyed by what they book, what the host owes now, and the note
on the payout entry's history."""

from __future__ import annotations

import uuid

import asyncpg

from finance.adapters import queue_repository as queue_db
from finance.domain.ledger import Journal
from finance.service_layer.handlers import post_journal
from finance.service_layer.payout_queue import SYSTEM, Queue
from marketplace_contracts import Envelope
from marketplace_contracts.events.finance import NegativeBalanceRecordedV1


class HostRecovery:
    def __init__(self, queue: Queue) -> None:
        self.queue = queue

    async def _book(
        self,
        conn: asyncpg.Connection,
        env: Envelope,
        journal: Journal,
        source: uuid.UUID,
        booking_id: str | None,
        stripe_object_id: str | None,
    ) -> bool:
        """Post the journal once per (source, kind) and announce it; False if it was posted."""
        outbox = self.queue.outbox
        return await post_journal(
            conn, outbox, env, journal, booking_id, stripe_object_id, source=source
        )

    async def _owed(
        self,
        conn: asyncpg.Connection,
        host: str,
        amount: int,
        currency: str,
        booking_id: str | None,
        cause: str,
    ) -> None:
        """Announce what the host owes now (netted from its next payouts)."""
        balance = await queue_db.receivable(conn, host, currency)
        event = NegativeBalanceRecordedV1(
            host_account_id=host,
            amount=amount,
            currency=currency,
            cause=cause,
            booking_id=booking_id,
            balance=balance,
        )
        await self.queue.emit(conn, event, host)

    async def _note_entry(
        self, conn: asyncpg.Connection, entry_id: str, trigger: str, note: str
    ) -> None:
        """The payout entry's history shows the recovery (its state is unchanged); no entry,
        no note."""
        entry = await queue_db.get(conn, entry_id)
        if entry is None:
            return
        await queue_db.record(
            conn,
            entry_id,
            from_state=entry["state"],
            to_state=entry["state"],
            trigger=trigger,
            actor=SYSTEM,
            at=self.queue.now(),
            note=note,
        )
