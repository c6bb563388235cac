"""Finance's payout queue on the real test database: facts applied by finance's own routing
table (each twice, as redelivery would), committed, and the queue's scheduler run on a clock
the test moves. Every id is fresh per test (ledger rows are append-only: nothing is deleted).
"""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from eventkit.auth import DEV_JWT_SECRET, issue_token
from eventkit.clock import Clock, FixedClock
from eventkit.db import create_pool
from eventkit.outbox import Outbox
from eventkit.scheduler import Scheduler
from finance.bootstrap import build_app, build_runtime
from finance.config import FinanceSettings
from finance.entrypoints.consumers import build_router
from finance.service_layer.handlers import FinanceHandlers
from finance.service_layer.payout_queue import (
    DEBIT_WINDOW,
    PAYOUT_DUE,
    PAYOUT_RETRY,
    RESERVE_RELEASE,
    Queue,
    QueueSettings,
)
from finance.service_layer.payout_release import Release
from finance.service_layer.payouts import Payouts
from finance.service_layer.queue_facts import QueueFacts
from marketplace_contracts import Envelope, EventModel, make_envelope
from marketplace_contracts.events.booking import (
    BookingCancelledV1,
    CheckoutRequestedV1,
    RefundRequest,
)
from marketplace_contracts.events.payments import PaymentCapturedV2, PaymentSplit, RefundSucceededV1
from tests.conftest import service_dsn

START = datetime(2034, 7, 1, 15, tzinfo=UTC)
DAY = timedelta(hours=24)


class QueueHarness:
    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: QueueSettings | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.pool = pool
        self.clock: Any = clock or FixedClock(START - timedelta(days=3))
        self.settings = settings or QueueSettings(
            delay=DAY, minimum=0, max_retries=2, retry_seconds=60
        )
        outbox = Outbox("finance", "finance")
        self.queue = Queue(outbox, self.settings, self.clock.now)
        self.release = Release(self.queue)
        handlers = FinanceHandlers(outbox)
        self.router = build_router(
            handlers, Payouts(outbox, self.queue), QueueFacts(self.queue, self.release)
        )
        self.host = f"acct_1Q{uuid.uuid4().hex[:10]}"

    def scheduler(self) -> Scheduler:
        """A scheduler as a finance process builds it (a new one per 'process')."""
        return Scheduler(
            "finance",
            {
                PAYOUT_DUE: self.release.due_job,
                PAYOUT_RETRY: self.release.retry_job,
                RESERVE_RELEASE: self.release.reserve_job,
                DEBIT_WINDOW: self.release.debit_window_job,
            },
            backoff_seconds=0.01,
            now=self.clock.now,
        )

    async def deliver(self, *events: EventModel, key: str = "k") -> None:
        for event in events:
            env = Envelope.from_bytes(
                make_envelope(
                    event, key=key, producer="test", correlation_id=uuid.uuid4()
                ).to_bytes()
            )
            route = self.router.route_for(env)
            assert route is not None, env.type
            for _ in range(2):
                async with self.pool.acquire() as conn, conn.transaction():
                    await route.apply(conn, env, route.model.model_validate(env.data), None)

    async def close(self) -> None:
        """Cancel this test's timers still pending, so later tests (which share the table and
        the simulated dates) do not run them."""
        await self.pool.execute(
            "UPDATE finance.scheduled_jobs SET status = 'cancelled' WHERE status = 'pending' "
            "AND (subject_id IN (SELECT entry_id FROM finance.payout_entries "
            "WHERE host_account_id = $1) OR subject_id IN (SELECT reserve_id FROM "
            "finance.reserves WHERE host_account_id = $1))",
            self.host,
        )

    async def run_due(self) -> int:
        return await self.scheduler().run_due(self.pool)

    async def entry(self, entry_id: str) -> asyncpg.Record:
        row = await self.pool.fetchrow(
            "SELECT * FROM finance.payout_entries WHERE entry_id = $1", entry_id
        )
        assert row is not None, entry_id
        return row

    async def events(self, event_type: str, key_like: str) -> list[dict[str, Any]]:
        """Outbox events of a type whose key matches (LIKE), oldest first (their data)."""
        rows = await self.pool.fetch(
            "SELECT payload FROM finance.outbox WHERE event_type = $1 AND key LIKE $2 ORDER BY id",
            event_type,
            key_like,
        )
        return [Envelope.from_bytes(r["payload"]).data for r in rows]

    async def balance(self, account: str) -> int:
        total: int = await self.pool.fetchval(
            "SELECT coalesce(sum(amount), 0)::bigint FROM finance.postings WHERE account = $1",
            account,
        )
        return total

    def booking(
        self, *, amount: int = 10_000, fee: int = 1_500, starts_at: datetime = START
    ) -> tuple[CheckoutRequestedV1, PaymentCapturedV2]:
        """A single booking's checkout fact and its capture (separate charge and transfer)."""
        booking_id = f"bk_{uuid.uuid4().hex[:12]}"
        checkout = CheckoutRequestedV1(
            booking_id=booking_id,
            guest_id="g1",
            listing_id="lst_1",
            host_id="host-1",
            host_account_id=self.host,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=3),
            amount=amount,
            currency="usd",
            platform_fee=fee,
            payment_method="pm_card_visa",
        )
        captured = PaymentCapturedV2(
            payment_id=f"pay_{uuid.uuid4().hex[:12]}",
            booking_id=booking_id,
            payment_intent_id=f"pi_{uuid.uuid4().hex[:12]}",
            charge_id=f"ch_{uuid.uuid4().hex[:12]}",
            amount=amount,
            currency="usd",
            platform_fee=fee,
            transfer_group=booking_id,
            splits=[
                PaymentSplit(
                    booking_id=booking_id,
                    host_account_id=self.host,
                    amount=amount,
                    platform_fee=fee,
                    host_amount=amount - fee,
                )
            ],
        )
        return checkout, captured


def host_penalty(host_account_id: str, penalty: int) -> BookingCancelledV1:
    """The host cancelled a booking and owes `penalty` (its guest refunded 1 000 in full):
    what the host owes is netted from its next payouts."""
    return BookingCancelledV1(
        booking_id=f"bk_{uuid.uuid4().hex[:8]}",
        host_account_id=host_account_id,
        cancelled_by="host",
        policy="flexible@1",
        host_penalty=penalty,
        refund=RefundRequest(
            refund_id=f"ref_{uuid.uuid4().hex}",
            payment_id="pay_x",
            amount=1_000,
            currency="usd",
            platform_fee=0,
            host_amount=1_000,
            host_account_id=host_account_id,
        ),
    )


def entry_id(captured: PaymentCapturedV2) -> str:
    return f"{captured.payment_id}:{captured.booking_id}"


@asynccontextmanager
async def finance_pool() -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(service_dsn("finance"), min_size=1, max_size=8)
    assert pool is not None
    try:
        yield pool
    finally:
        await pool.close()


def finance_env() -> dict[str, str]:
    """The environment a `python -m finance …` child process needs for the test database."""
    import os

    return {**os.environ, "FINANCE_DATABASE_URL": service_dsn("finance")}


__all__ = ["DAY", "START", "FinanceSettings", "QueueHarness", "entry_id", "finance_pool"]


def bearer(role: str = "finance", sub: str = "ops@example.com") -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(DEV_JWT_SECRET, sub, role)}"}


@asynccontextmanager
async def finance_api(pool: asyncpg.Pool, q: QueueHarness) -> AsyncIterator[httpx.AsyncClient]:
    """The finance app on the test database (no broker: the routes need only the pool), as
    finance staff; its staff actions run on the harness's clock."""
    runtime = build_runtime(FinanceSettings(database_url=service_dsn("finance")))
    runtime.pool = pool
    runtime.state["release"] = q.release
    app = build_app(runtime)
    app.state.runtime = runtime
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://finance", headers=bearer()
    ) as client:
        yield client


async def open_books(pool: asyncpg.Pool, currency: str, day: date) -> None:
    """Books in `currency` that begin on `day` (finance refuses to close a day of a currency it
    never held): one balanced journal of a test's own, on accounts no close tie-out reads."""
    async with pool.acquire() as conn, conn.transaction():
        journal = await conn.fetchval(
            "INSERT INTO finance.journals (journal_id, kind, source_event_id, currency, posted_on)"
            " VALUES (gen_random_uuid(), 'test_opening', gen_random_uuid(), $1, $2)"
            " RETURNING journal_id",
            currency,
            day,
        )
        await conn.execute(
            "INSERT INTO finance.postings (journal_id, account, amount, currency) VALUES"
            " ($1, 'equity:test_opening', 1, $2), ($1, 'expense:test_opening', -1, $2)",
            journal,
            currency,
        )


async def unused_currency(pool: asyncpg.Pool) -> str:
    """A made-up currency (x + two letters) that finance has never booked, imported or closed
    anything in: the test database outlives a run, and days close per currency."""
    used = {
        row["currency"]
        for row in await pool.fetch(
            "SELECT currency FROM finance.journals UNION SELECT currency FROM finance.day_closes"
            " UNION SELECT currency FROM finance.stripe_balance_transactions"
            " UNION SELECT currency FROM finance.close_acknowledgements"
        )
    }
    letters = string.ascii_lowercase
    free = [c for c in ("x" + a + b for a in letters for b in letters) if c not in used]
    return random.choice(free)


def refund_of(
    captured: PaymentCapturedV2, *, amount: int | None = None, platform_fee: int | None = None
) -> RefundSucceededV1:
    """A Stripe refund of the capture's single booking: all of it, or `amount` with
    `platform_fee` of it (the rest is the host's share)."""
    [split] = captured.splits
    amount = captured.amount if amount is None else amount
    fee = captured.platform_fee if platform_fee is None else platform_fee
    return RefundSucceededV1(
        refund_id=f"ref_{uuid.uuid4().hex}",
        payment_id=captured.payment_id,
        booking_id=captured.booking_id,
        amount=amount,
        currency=captured.currency,
        platform_fee=fee,
        host_amount=amount - fee,
        host_account_id=split.host_account_id,
        method="refund",
        stripe_refund_id=f"re_{uuid.uuid4().hex[:14]}",
    )
