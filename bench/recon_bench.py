"""Reconciliation: N of Stripe's balance transactions imported and matched three ways.

    python bench/recon_bench.py [-n 100000] [--stripe memory|sim] [--keep]

Stripe is finance's in-memory adapter (`InMemoryStripeBalance`), or with `--stripe sim` the
Stripe simulator (`python -m stripesim` on a state file written beforehand, read through
finance's SDK adapter, 100 per page), holding N balance transactions
of the run's own currency: 60 % charges (with a card fee), 25 % transfers, 10 % refunds, 5 %
payouts, created two seconds apart over the last three days, half of them already available
(the others available tomorrow), plus 10 refunds made in the dashboard. What payments'
facts leave in finance (a ledger journal per charge, transfer and refund, with its
`stripe_object_id`, and the expectation in `stripe_objects`) is seeded with COPY first, untimed.
Timed: one `Reconciler.run` (the first: list everything, upsert, book fees / availability /
payouts, match every object, raise exceptions); then the next scheduled round with nothing new
(re-lists the look-back's transactions, judges what changed since: must post nothing); then a
full round (`reconcile --full`, as the close runs: every pending transaction re-read, every
object judged). The rounds take no late-commit margin (`late=0`): the bench does not wait the
minute a service's round would be apart from the first.

Target: 100,000 transactions in <= 30 s. Database: BENCH_FINANCE_DATABASE_URL (default the test
database, see bench/_books.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from _books import clean_up, copy_journals, finance_url, load, run_currency
from stripesim_balance_bench import start_sim

from eventkit.db import create_pool
from finance.adapters.stripe_balance import InMemoryStripeBalance, SdkStripeBalance, StripeBalance
from finance.domain.reconciliation import BalanceTransaction
from finance.service_layer.reconcile import Reconciler
from stripesim.store import Batch, Store

DASHBOARD_REFUNDS = 10
KINDS = (("charge", "ch", 60), ("transfer", "tr", 25), ("refund", "re", 10), ("payout", "po", 5))


def transactions(n: int, currency: str, tag: str) -> list[BalanceTransaction]:
    start = datetime.now(UTC) - timedelta(days=3)
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    found = []
    for i in range(n):
        roll = i % 100
        type_, prefix = next((t, p) for t, p, share in _bands() if roll < share)
        amount = 1_000 + (i % 97) * 100
        fee = amount * 29 // 1_000 + 30 if type_ == "charge" else 0
        signed = amount if type_ == "charge" else -amount
        found.append(
            BalanceTransaction(
                txn_id=f"txn_{tag}_{i}",
                type=type_,
                source=f"{prefix}_{tag}_{i}",
                amount=signed,
                fee=fee,
                net=signed - fee,
                currency=currency,
                status="available" if i % 2 else "pending",
                created=start + timedelta(seconds=2 * i),
                available_on=None if i % 2 else tomorrow,
            )
        )
    for k in range(DASHBOARD_REFUNDS):
        found.append(
            BalanceTransaction(
                f"txn_{tag}_d{k}",
                "refund",
                f"re_{tag}_d{k}",
                -500,
                0,
                -500,
                currency,
                "pending",
                start + timedelta(days=1, seconds=k),
            )
        )
    return found


def _bands() -> list[tuple[str, str, int]]:
    bands, upto = [], 0
    for type_, prefix, share in KINDS:
        upto += share
        bands.append((type_, prefix, upto))
    return bands


async def seed_platform_side(
    conn: asyncpg.Connection, bts: list[BalanceTransaction], currency: str
) -> int:
    """What payments' facts leave: a journal and an expectation per charge, transfer, refund."""
    journals, postings, objects = [], [], []
    for bt in bts:
        # Dashboard refunds (`re_<tag>_d<k>`) are Stripe's alone. Told apart by the last part
        # of the id: the tag is random hex, and one starting with "d" made every id look so.
        if bt.type == "payout" or bt.source is None or bt.source.rsplit("_", 1)[1][0] == "d":
            continue
        jid = uuid.uuid4()
        other = "revenue:platform_fees" if bt.type != "transfer" else "liability:host_payable:b"
        journals.append((jid, f"bench_{bt.type}", jid, currency, bt.source, None))
        postings += [
            (jid, "asset:stripe_balance:pending", bt.amount, currency),
            (jid, other, -bt.amount, currency),
        ]
        objects.append((jid, bt.type, bt.source, bt.amount, currency))
    await copy_journals(conn, journals, postings)
    await conn.copy_records_to_table(
        "stripe_objects",
        schema_name="finance",
        records=objects,
        columns=("source_event_id", "kind", "object_id", "amount", "currency"),
    )
    # In a running system these tables grow a little at a time and autovacuum keeps their
    # statistics; a bulk seed must refresh them itself.
    for table in ("journals", "postings", "stripe_objects"):
        await conn.execute(f"ANALYZE finance.{table}")
    return len(journals)


def write_state(path: Path, bts: list[BalanceTransaction]) -> None:
    """The simulator's state file holding these balance transactions."""
    store = Store(path)
    for first in range(0, len(bts), 10_000):
        batch = Batch()
        for n, bt in enumerate(bts[first : first + 10_000], start=first + 1):
            created = int(bt.created.timestamp())
            available_on = bt.available_on or bt.created
            row = {
                "id": bt.txn_id,
                "object": "balance_transaction",
                "amount": bt.amount,
                "available_on": int(available_on.timestamp()),
                "created": created,
                "currency": bt.currency,
                "description": None,
                "exchange_rate": None,
                "fee": bt.fee,
                "fee_details": [],
                "net": bt.net,
                "reporting_category": bt.type,
                "source": bt.source,
                "status": bt.status,
                "type": bt.type,
            }
            batch.objects[bt.txn_id] = (n, json.dumps(row))
        store.write(batch)
    store.close()


async def main(n: int, keep: bool, backend: str) -> int:
    currency, tag = run_currency(), uuid.uuid4().hex[:8]
    cursor = f"bench_{tag}"
    pool = await create_pool(finance_url(), min_size=1, max_size=2)
    assert pool is not None
    memory = InMemoryStripeBalance(transactions(n, currency, tag))
    stripe: StripeBalance = memory
    with contextlib.ExitStack() as stack:
        if backend == "sim":
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            write_state(folder / "state.db", list(memory.transactions.values()))
            proc, base, _ = start_sim(folder / "state.db")
            stack.callback(proc.wait)
            stack.callback(proc.terminate)
            stripe = SdkStripeBalance("sk_test_bench", base)
        return await measure(pool, memory, stripe, currency, cursor, keep)


async def measure(
    pool: asyncpg.Pool,
    memory: InMemoryStripeBalance,
    stripe: StripeBalance,
    currency: str,
    cursor: str,
    keep: bool,
) -> int:
    now = datetime.now(UTC) + timedelta(hours=1)
    reconciler = Reconciler(
        stripe, lambda: now, cursor=cursor, grace=timedelta(0), late=timedelta(0)
    )
    try:
        async with pool.acquire() as conn:
            began = time.perf_counter()
            seeded = await seed_platform_side(conn, list(memory.transactions.values()), currency)
            print(
                f"seeded {seeded:,} journals and expectations in "
                f"{time.perf_counter() - began:.1f} s (COPY, untimed); {load()}"
            )
        began = time.perf_counter()
        imported, matched = await reconciler.run(pool)
        total = time.perf_counter() - began
        imported_s = imported.seconds
        count = len(memory.transactions)
        print(
            f"reconciliation ({type(stripe).__name__}): {count:,} balance transactions "
            "imported and matched in "
            f"{total:.1f} s ({count / total:,.0f}/s): import {imported_s:.1f} s "
            f"({imported.journals:,} journals booked), match {total - imported_s:.1f} s "
            f"({matched.objects:,} objects in the database judged); {load()}"
        )
        began = time.perf_counter()
        again, rematched = await reconciler.run(pool)
        print(
            f"next round, nothing new: {time.perf_counter() - began:.2f} s, "
            f"{again.listed:,} transactions re-listed, {rematched.judged:,} objects judged, "
            f"{again.journals} journals, {rematched.raised} exceptions raised; {load()}"
        )
        began = time.perf_counter()
        full, refull = await reconciler.run(pool, full=True)
        print(
            f"full round: {time.perf_counter() - began:.1f} s, {full.listed:,} transactions "
            f"re-listed, {refull.judged:,} objects judged, {full.journals} journals, "
            f"{refull.raised} exceptions raised; {load()}"
        )
        async with pool.acquire() as conn:
            raised = await conn.fetch(
                "SELECT kind, count(*) AS n FROM finance.recon_exceptions WHERE currency = $1 "
                "GROUP BY kind",
                currency,
            )
        found = {r["kind"]: r["n"] for r in raised}
        print(f"exceptions of the run's currency: {found}")
        quiet = not again.journals and not full.journals and rematched.judged < refull.judged
        return 0 if found == {"missing_in_ledger": DASHBOARD_REFUNDS} and quiet else 1
    finally:
        if not keep:
            async with pool.acquire() as conn:
                await clean_up(conn, currency, cursor)
        await pool.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=100_000, help="balance transactions")
    p.add_argument("--stripe", choices=("memory", "sim"), default="memory")
    p.add_argument("--keep", action="store_true", help="leave the run's rows in the database")
    args = p.parse_args()
    sys.exit(asyncio.run(main(args.n, args.keep, args.stripe)))
