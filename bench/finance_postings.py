"""Journals posted per second by one finance process (issue 11: >= 3,000/s).

Two figures, each with the machine's load average:
- `ledger`: `ledger_repository.post` of a balanced four-line journal (the capture's shape),
  one journal per transaction, as every handler posts them;
- `capture`: finance's routing table applying `payments.payment_captured` (v2, a separate
  charge): its journal and `finance.journal_posted` in the outbox, the payable, and its payout
  queue entry with history, `payout_scheduled` and its due-time job: what a capture costs.
Both run `--concurrency` transactions at once on a pool (finance's consumer runs 8 by default).
The inbox claim the consumer adds per event is not included.

    python bench/finance_postings.py [--journals 20000] [--concurrency 8]

`FINANCE_DATABASE_URL` names the database (default: the local system's).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import describe_db

from eventkit.db import create_pool
from eventkit.outbox import Outbox
from finance.adapters import ledger_repository
from finance.config import FinanceSettings
from finance.domain.ledger import Share, guest_payment_split
from finance.entrypoints.consumers import build_router
from finance.service_layer.handlers import FinanceHandlers
from marketplace_contracts import Envelope, make_envelope
from marketplace_contracts.events.payments import PaymentCapturedV2, PaymentSplit

Job = Callable[[asyncpg.Connection, int], Awaitable[None]]


async def run(pool: asyncpg.Pool, n: int, concurrency: int, job: Job) -> float:
    """Run `job(conn, i)` for i < n, `concurrency` at once, each in a transaction; per second."""
    counter = iter(range(n))

    async def worker() -> None:
        async with pool.acquire() as conn:
            for i in counter:
                async with conn.transaction():
                    await job(conn, i)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - started)


# A capture's journal: Stripe balance, fees net of tax, tax, the host's payable (4 postings).
CAPTURE_SHAPED = guest_payment_split(
    amount=10_000,
    platform_fee=1_500,
    shares=[Share("acct_1Bench", 10_000, 1_500, 8_500, 200)],
    currency="usd",
)


def ledger_job(tag: str) -> Job:
    journal = CAPTURE_SHAPED

    async def job(conn: asyncpg.Connection, i: int) -> None:
        await ledger_repository.post(
            conn,
            journal,
            source_event_id=uuid.uuid4(),
            booking_id=f"bk_{tag}_{i}",
            stripe_object_id=f"ch_{tag}_{i}",
        )

    return job


def capture_job(tag: str) -> Job:
    """Finance's own routing table applying separate-charge captures."""
    router = build_router(FinanceHandlers(Outbox("finance", "finance")))

    def capture(i: int) -> Envelope:
        booking = f"bk_{tag}_{i}"
        event = PaymentCapturedV2(
            payment_id=f"pay_{tag}_{i}",
            booking_id=booking,
            payment_intent_id=f"pi_{tag}_{i}",
            charge_id=f"ch_{tag}_{i}",
            amount=10_000,
            currency="usd",
            platform_fee=1_500,
            transfer_group=booking,
            purpose="checkout",
            splits=[
                PaymentSplit(
                    booking_id=booking,
                    host_account_id=f"acct_1B{i % 50}",
                    amount=10_000,
                    platform_fee=1_500,
                    host_amount=8_500,
                )
            ],
        )
        return make_envelope(
            event, key=event.payment_id, producer="payments", correlation_id=uuid.uuid4()
        )

    async def job(conn: asyncpg.Connection, i: int) -> None:
        env = capture(i)
        route = router.route_for(env)
        assert route is not None
        await route.apply(conn, env, route.model.model_validate(env.data), None)

    return job


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journals", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    url = os.environ.get("FINANCE_DATABASE_URL") or FinanceSettings().database_url
    # the service's own pool: TLS off on loopback, no reset round trip per release
    pool = await create_pool(url, min_size=args.concurrency, max_size=args.concurrency)
    try:
        async with pool.acquire() as conn:
            print(await describe_db(conn))
        tag = uuid.uuid4().hex[:8]
        rate = await run(pool, args.journals, args.concurrency, ledger_job(tag))
        lines = len(CAPTURE_SHAPED.postings)
        print(
            f"ledger:  {args.journals} journals, {rate:,.0f} journals/s = "
            f"{rate * lines:,.0f} postings/s (load average {os.getloadavg()[0]:.1f})"
        )
        job = capture_job(tag)
        captures = max(args.journals // 4, 1)
        rate = await run(pool, captures, args.concurrency, job)
        print(
            f"capture: {captures} captures (journal + payable + queue entry), "
            f"{rate:,.0f} captures/s (load average {os.getloadavg()[0]:.1f})"
        )
    finally:
        await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
