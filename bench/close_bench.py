"""The daily close over 1,000,000 postings.

    python bench/close_bench.py [--postings 1000000] [--days 10] [--accounts 60] [--keep]

Seeds, with COPY and untimed, journals of four postings each in the run's own currency, spread
evenly over `--days` business days (their `posted_on`) and `--accounts` accounts (none of them
the Stripe balance or a host payable, so every tie-out ties). Timed: `DailyClose.close` of each
day in order: the trial balance at the end of the day (every posting up to it), the day's
movements by account and by journal kind, the tie-outs, the report and the lock. The last
day's close reads all the postings.

Target: <= 60 s for the close over 1,000,000 postings. Database: BENCH_FINANCE_DATABASE_URL
(default the test database, see bench/_books.py).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time

import asyncpg
from _books import clean_up, copy_journals, finance_url, load, run_currency

from eventkit.db import create_pool
from eventkit.outbox import Outbox
from finance.adapters.stripe_balance import InMemoryStripeBalance
from finance.service_layer.close import DailyClose

BATCH = 50_000  # journals per COPY transaction


async def seed(
    pool: asyncpg.Pool, currency: str, postings: int, days: int, accounts: int, first: date
) -> None:
    journals = postings // 4
    per_day = journals // days
    async with pool.acquire() as conn:
        for start in range(0, journals, BATCH):
            rows, lines = [], []
            for i in range(start, min(start + BATCH, journals)):
                jid = uuid.uuid4()
                day = first + timedelta(days=min(i // per_day, days - 1))
                rows.append((jid, f"bench_kind_{i % 7}", jid, currency, None, day))
                a, b = f"expense:bench:{i % accounts}", f"revenue:bench:{(i * 7) % accounts}"
                amount = 100 + i % 1_000
                lines += [
                    (jid, a, amount, currency),
                    (jid, b, -amount, currency),
                    (jid, "asset:bench:cash", amount, currency),
                    (jid, "liability:bench:owed", -amount, currency),
                ]
            await copy_journals(conn, rows, lines)
        # A running system's tables grow gradually under autovacuum; a bulk seed refreshes the
        # planner's statistics itself.
        for table in ("journals", "postings"):
            await conn.execute(f"ANALYZE finance.{table}")


async def main(postings: int, days: int, accounts: int, keep: bool) -> int:
    currency = run_currency()
    pool = await create_pool(finance_url(), min_size=1, max_size=2)
    assert pool is not None
    first = datetime.now(UTC).date() - timedelta(days=days + 1)
    close = DailyClose(
        InMemoryStripeBalance(),
        lambda: datetime.now(UTC),
        day_time(0),
        Outbox("finance", "finance"),
    )
    try:
        began = time.perf_counter()
        await seed(pool, currency, postings, days, accounts, first)
        print(
            f"seeded {postings:,} postings over {days} days in "
            f"{time.perf_counter() - began:.1f} s (COPY, untimed); {load()}"
        )
        times = []
        for d in range(days):
            began = time.perf_counter()
            [outcome] = await close.close(pool, first + timedelta(days=d), currency)
            times.append(time.perf_counter() - began)
            if not outcome.closed:
                print(f"close of {first + timedelta(days=d)} failed: {outcome.report['blockers']}")
                return 1
        print(
            f"daily close over {postings:,} postings: the last day (trial balance over all "
            f"of them) {times[-1]:.2f} s; every day of {days}: {sum(times):.1f} s "
            f"(max {max(times):.2f} s); {load()}"
        )
        began = time.perf_counter()
        await close.close(pool, first + timedelta(days=days - 1), currency)
        print(f"re-running the closed day: {time.perf_counter() - began:.3f} s; {load()}")
        return 0
    finally:
        if not keep:
            async with pool.acquire() as conn:
                await clean_up(conn, currency)
        await pool.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--postings", type=int, default=1_000_000)
    p.add_argument("--days", type=int, default=10)
    p.add_argument("--accounts", type=int, default=60)
    p.add_argument("--keep", action="store_true", help="leave the run's rows in the database")
    args = p.parse_args()
    sys.exit(asyncio.run(main(args.postings, args.days, args.accounts, args.keep)))
