"""Import Stripe's balance transactions and reconcile them three ways.

The import is incremental: it lists what Stripe created since the cursor's watermark less a
look-back (Stripe lists newest first, and a transaction committed late may carry an earlier
`created`), and since the oldest transaction still pending, so a pending → available change is
seen. Listing with `created[gte]` re-reads the transactions that share the watermark's second;
storing is an upsert and every journal is unique per (transaction, kind), so reading a
transaction twice changes nothing. One round runs at a time (an advisory lock).

Stripe is called outside any transaction; each page batch is stored in one short transaction.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from domainkit.rows import from_row
from eventkit.outbox import Outbox
from finance.adapters import ledger_repository
from finance.adapters import recon_repository as recon_db
from finance.adapters.stripe_balance import StripeBalance
from finance.domain.reconciliation import (
    BalanceTransaction,
    classify,
    import_journals,
    source_event_id,
)
from marketplace_contracts.events.finance_books import ReconciliationExceptionRaisedV1

log = logging.getLogger("finance.reconcile")

Clock = Callable[[], datetime]
LOCK = "finance.reconcile"
# A first import or a backlog changes the tables' sizes by orders of magnitude before autovacuum
# notices; the match planned on the old statistics took minutes instead of seconds (nested
# loops over 100,000 rows).
ANALYZE_AFTER = 10_000
_NS = uuid.UUID("5d3c2b1a-8f7e-4d6c-9b5a-4e3f2d1c0b9a")  # exception-raised correlation ids


@dataclass
class ImportResult:
    listed: int = 0
    changed: int = 0
    journals: int = 0
    seconds: float = 0.0


@dataclass
class MatchResult:
    objects: int = 0
    judged: int = 0
    findings: dict[str, int] = field(default_factory=dict)
    raised: int = 0
    resolved: int = 0
    seconds: float = 0.0


class Reconciler:
    def __init__(
        self,
        stripe: StripeBalance,
        now: Clock,
        *,
        cursor: str = "platform",
        lookback: timedelta = timedelta(minutes=10),
        grace: timedelta = timedelta(seconds=30),
        batch_size: int = 1000,
        outbox: Outbox | None = None,
    ) -> None:
        self.outbox = outbox  # announces raised exceptions (finance.events)
        self.stripe = stripe
        self.now = now
        self.cursor = cursor
        self.lookback = lookback
        self.grace = grace
        self.batch_size = batch_size

    async def run(self, pool: asyncpg.Pool) -> tuple[ImportResult, MatchResult]:
        """Import, then match: what a scheduled round, a webhook and the close all run. One
        round at a time in the whole service (an advisory lock; a second waits its turn): a
        match beside another round's half-done import would judge objects whose balance
        transactions are still on their way."""
        async with pool.acquire() as conn:
            await recon_db.lock_rounds(conn, LOCK)
            try:
                began = time.perf_counter()
                imported = ImportResult()
                await self._import(conn, imported)
                if imported.changed >= ANALYZE_AFTER:
                    await recon_db.analyze(conn)
                imported.seconds = time.perf_counter() - began
                log.info("stripe import: %s", imported)
                matched = await self.match(conn)
            finally:
                await recon_db.unlock_rounds(conn, LOCK)
        return imported, matched

    async def _import(self, conn: asyncpg.Connection, result: ImportResult) -> None:
        cursor = await recon_db.cursor(conn, self.cursor)
        since = _since(cursor["watermark"], self.lookback, await recon_db.oldest_pending(conn))
        await recon_db.mark_started(conn, self.cursor, self.now())
        watermark: datetime | None = cursor["watermark"]
        at_mark: set[str] = set(cursor["ids_at_watermark"])
        # Stripe's next pages are read while the last batch is stored: the two waits overlap.
        batches: asyncio.Queue[list[BalanceTransaction] | None] = asyncio.Queue(maxsize=2)
        reader = asyncio.create_task(self._read(since, batches))
        try:
            while (batch := await batches.get()) is not None:
                for bt in batch:
                    if watermark is None or bt.created > watermark:
                        watermark, at_mark = bt.created, set()
                    if bt.created == watermark:
                        at_mark.add(bt.txn_id)
                result.listed += len(batch)
                await self._store(conn, batch, result)
        finally:
            if not reader.done():
                reader.cancel()
        await reader  # a failed read fails the round, and the cursor stays where it was
        await recon_db.advance(conn, self.cursor, watermark, sorted(at_mark), result.changed)

    async def _read(
        self, since: datetime | None, batches: asyncio.Queue[list[BalanceTransaction] | None]
    ) -> None:
        batch: list[BalanceTransaction] = []
        try:
            async for bt in self.stripe.list_since(since):
                batch.append(bt)
                if len(batch) >= self.batch_size:
                    await batches.put(batch)
                    batch = []
            await batches.put(batch)
        finally:
            await batches.put(None)

    async def _store(
        self, conn: asyncpg.Connection, batch: list[BalanceTransaction], result: ImportResult
    ) -> None:
        unique = {bt.txn_id: bt for bt in batch}  # one row may be listed twice across pages
        if not unique:
            return
        async with conn.transaction():
            changed = await recon_db.upsert(conn, list(unique.values()))
            entries = [
                (journal, source_event_id(txn_id), unique[txn_id].source or txn_id)
                for txn_id, _ in changed
                for journal in import_journals(unique[txn_id])
            ]
            result.journals += await ledger_repository.post_many(conn, entries)
        result.changed += len(changed)

    async def match(self, conn: asyncpg.Connection) -> MatchResult:
        """Judge every object past the grace period; raise and resolve exceptions."""
        now, began = self.now(), time.perf_counter()
        # The grace is for facts and transactions still on their way, so it runs on the clock
        # that stamped their arrival (the database's), not on the business clock, which a
        # simulation may have moved days ahead.
        arrived_by = await recon_db.database_now(conn)
        views = await recon_db.object_views(conn)
        result = MatchResult(objects=len(views))
        judged: list[str] = []
        findings = []
        for view in views:
            if view.first_seen is not None and arrived_by - view.first_seen < self.grace:
                continue
            judged.append(view.object_id)
            for finding in classify(view, now=arrived_by, grace=self.grace):
                findings.append(finding)
                result.findings[finding.kind] = result.findings.get(finding.kind, 0) + 1
        result.judged = len(judged)
        async with conn.transaction():
            raised, result.resolved = await recon_db.sync_exceptions(conn, judged, findings, now)
            result.raised = len(raised)
            if self.outbox is not None:
                for row in raised:
                    await _announce_exception(self.outbox, conn, row)
        result.seconds = time.perf_counter() - began
        return result


async def _announce_exception(outbox: Outbox, conn: asyncpg.Connection, row: Any) -> None:
    event = from_row(ReconciliationExceptionRaisedV1, row)
    key = row["object_id"]
    await outbox.add(conn, event, key=key, correlation_id=uuid.uuid5(_NS, key))


def _since(
    watermark: datetime | None, lookback: timedelta, oldest_pending: datetime | None
) -> datetime | None:
    if watermark is None:
        return None  # the first import reads everything
    since = watermark - lookback
    return since if oldest_pending is None else min(since, oldest_pending)
