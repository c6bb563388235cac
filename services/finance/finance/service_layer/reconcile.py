"""Import Stripe's balance transactions and reconcile them three ways.

The import is incremental: it lists what Stripe created since the cursor's watermark less a
look-back (Stripe lists newest first, and a transaction committed late may carry an earlier
`created`), and again the span of the pending transactions whose `available_on` has come, so a
pending → available change is seen (a full round re-reads from the oldest pending one).
Listing with `created[gte]` re-reads the transactions that share the watermark's second;
storing is an upsert and every journal is unique per (transaction, kind), so reading a
transaction twice changes nothing. One round runs at a time (an advisory lock).

Stripe is called outside any transaction; each page batch is stored in one short transaction.

The match judges the objects touched since the last round's match (less the grace and
`LATE_COMMIT`, for facts whose transaction committed after that match read) and those with an
open exception; a full round (the daily close, `reconcile --full`) judges every object. A
round's cost thus follows what changed, not the books' history.

The match judges as of the moment the listing began, not the moment it runs: the listing shows
Stripe as it was then, so an object whose newest fact arrived after that moment less the grace
(a charge payments captured while a long import ran) waits for the next round, whose listing
includes it. A round may thus last longer than the grace without raising what it could not have seen.
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
from eventkit import unit_of_work
from eventkit.outbox import Outbox
from eventkit.periodic import UNPACED, Pace
from finance.adapters import ledger_repository
from finance.adapters import recon_repository as recon_db
from finance.adapters.stripe_balance import StripeBalance
from finance.domain.reconciliation import (
    GRACE,
    LOOKBACK,
    BalanceTransaction,
    classify,
    import_journals,
    source_event_id,
)
from marketplace_contracts.events.finance_books import ReconciliationExceptionRaisedV1

log = logging.getLogger("finance.reconcile")

Clock = Callable[[], datetime]
Read = tuple[list[BalanceTransaction], float]  # a batch of Stripe's pages, seconds to read it
LOCK = "finance.reconcile"
# A first import or a backlog changes the tables' sizes by orders of magnitude before autovacuum
# notices; the match planned on the old statistics took minutes instead of seconds (nested
# loops over 100,000 rows).
ANALYZE_AFTER = 10_000
# A row is stamped when its transaction starts and seen when it commits: the match reaches back
# this far (beyond the grace) for rows of transactions that were still open when the last
# match read. Finance's and the import's transactions last well under a second.
LATE_COMMIT = timedelta(seconds=60)
_NS = uuid.UUID("5d3c2b1a-8f7e-4d6c-9b5a-4e3f2d1c0b9a")  # exception-raised correlation ids


@dataclass
class ImportResult:
    listed: int = 0
    changed: int = 0
    journals: int = 0
    seconds: float = 0.0


Span = tuple[datetime | None, datetime | None]  # created >= first and <= last (None: open)


@dataclass
class MatchResult:
    full: bool = False  # every object judged, not only those touched since the last match
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
        lookback: timedelta = LOOKBACK,
        grace: timedelta = GRACE,
        late: timedelta = LATE_COMMIT,
        batch_size: int = 1000,
        outbox: Outbox | None = None,
    ) -> None:
        self.outbox = outbox  # announces raised exceptions (finance.events)
        self.stripe = stripe
        self.now = now
        self.cursor = cursor
        self.lookback = lookback
        self.grace = grace
        self.late = late
        self.batch_size = batch_size

    async def run(
        self, pool: asyncpg.Pool, *, full: bool = False, pace: Pace = UNPACED
    ) -> tuple[ImportResult, MatchResult]:
        """Import, then match: what a scheduled round, a webhook and the close all run (the
        close with `full`: every pending transaction re-read, every object judged). One
        round at a time in the whole service (an advisory lock; a second waits its turn): a
        match beside another round's half-done import would judge objects whose balance
        transactions are still on their way. With a `pace`, the import waits after each batch
        so that it keeps to the pace's share of the time (the scheduled rounds: docs/benchmarks.md)."""
        async with pool.acquire() as conn:
            await recon_db.lock_rounds(conn, LOCK)
            try:
                began = time.perf_counter()
                imported = ImportResult()
                # Stripe's side is complete up to when its listing began: the match judges then.
                as_of = await self._import(conn, imported, full, pace)
                if imported.changed >= ANALYZE_AFTER:
                    await recon_db.analyze(conn)
                imported.seconds = time.perf_counter() - began
                log.info("stripe import: %s", imported)
                matched = await self.match(conn, full=full, as_of=as_of)
            finally:
                await recon_db.unlock_rounds(conn, LOCK)
        return imported, matched

    async def _import(
        self, conn: asyncpg.Connection, result: ImportResult, full: bool, pace: Pace
    ) -> datetime:
        """Import into `result`; returns the database time the listing began."""
        cursor = await recon_db.cursor(conn, self.cursor)
        spans = await self._spans(conn, cursor["watermark"], full)
        await recon_db.mark_started(conn, self.cursor, self.now())
        listed_from = await recon_db.database_now(conn)  # before Stripe is first asked
        watermark: datetime | None = cursor["watermark"]
        at_mark: set[str] = set(cursor["ids_at_watermark"])
        # Stripe's next pages are read while the last batch is stored: the two waits overlap.
        batches: asyncio.Queue[Read | None] = asyncio.Queue(maxsize=2)
        reader = asyncio.create_task(self._read(spans, batches))
        try:
            while (read := await batches.get()) is not None:
                batch, reading = read
                stored = time.perf_counter()
                for bt in batch:
                    if watermark is None or bt.created > watermark:
                        watermark, at_mark = bt.created, set()
                    if bt.created == watermark:
                        at_mark.add(bt.txn_id)
                result.listed += len(batch)
                await self._store(conn, batch, result)
                await pace.after(reading + time.perf_counter() - stored)
        finally:
            if not reader.done():
                reader.cancel()
        await reader  # a failed read fails the round, and the cursor stays where it was
        await recon_db.advance(conn, self.cursor, watermark, sorted(at_mark), result.changed)
        return listed_from

    async def _spans(
        self, conn: asyncpg.Connection, watermark: datetime | None, full: bool
    ) -> list[Span]:
        """The `created` spans to list: everything on the first import; else what is new since
        the watermark less the look-back, and the pending transactions that may have become
        available (those due by now; all of them in a full round)."""
        if watermark is None:
            return [(None, None)]
        since = watermark - self.lookback
        if full:
            oldest = await recon_db.oldest_pending(conn)
            return [(since if oldest is None else min(since, oldest), None)]
        due = await recon_db.pending_due(conn, self.now())
        if due is None:
            return [(since, None)]
        first, last = due
        if last >= since:
            return [(min(first, since), None)]
        return [(first, last), (since, None)]

    async def _read(self, spans: list[Span], batches: asyncio.Queue[Read | None]) -> None:
        """Stripe's pages in batches of `batch_size`, each with the seconds spent reading it
        (not the time spent waiting for room in the queue)."""
        batch: list[BalanceTransaction] = []
        began = time.perf_counter()
        try:
            for created_gte, created_lte in spans:
                async for bt in self.stripe.list_since(created_gte, created_lte):
                    batch.append(bt)
                    if len(batch) >= self.batch_size:
                        await batches.put((batch, time.perf_counter() - began))
                        batch, began = [], time.perf_counter()
            await batches.put((batch, time.perf_counter() - began))
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

    async def match(
        self, conn: asyncpg.Connection, *, full: bool = False, as_of: datetime | None = None
    ) -> MatchResult:
        """Judge the objects touched since the last match (every object when `full`, or on the
        first match) past the grace period as of `as_of` (the database time Stripe's side was
        listed from; default: now); raise and resolve exceptions."""
        now, began = self.now(), time.perf_counter()
        # The grace is for facts and transactions still on their way, so it runs on the clock
        # that stamped their arrival (the database's), not on the business clock, which a
        # simulation may have moved days ahead.
        arrived_by = as_of or await recon_db.database_now(conn)
        last = (await recon_db.cursor(conn, self.cursor))["matched_at"]
        # An object skipped for its grace, or a fact committed just after the last match read,
        # was touched after `last` less the grace and `late` (LATE_COMMIT).
        since = None if full or last is None else last - self.grace - self.late
        views = await recon_db.object_views(conn, since)
        result = MatchResult(objects=len(views), full=since is None)
        judged: list[str] = []
        findings = []
        for view in views:
            if view.last_seen is not None and arrived_by - view.last_seen < self.grace:
                continue
            judged.append(view.object_id)
            for finding in classify(view, now=arrived_by, grace=self.grace):
                findings.append(finding)
                result.findings[finding.kind] = result.findings.get(finding.kind, 0) + 1
        result.judged = len(judged)
        async with unit_of_work.transaction(conn):
            raised, result.resolved = await recon_db.sync_exceptions(conn, judged, findings, now)
            await recon_db.mark_matched(conn, self.cursor, arrived_by)
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
