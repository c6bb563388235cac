"""Stripe import, three-way reconciliation and the daily close on real Postgres, with Stripe's
balance served by the in-memory adapter. Each test keeps to a currency of its own (the books
close per currency), so tests sharing the database do not see each other's days."""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from eventkit import http_errors
from eventkit.auth import DEV_JWT_SECRET, issue_token
from eventkit.db import create_pool
from eventkit.outbox import Outbox
from finance.adapters import close_repository, ledger_repository, payables_repository
from finance.adapters import recon_repository as recon_db
from finance.adapters.stripe_balance import InMemoryStripeBalance
from finance.domain.close import Acknowledgement, CloseRefused, parse_cutoff
from finance.domain.ledger import Journal, guest_payment_captured
from finance.domain.reconciliation import BalanceTransaction
from finance.entrypoints import books_http
from finance.entrypoints.books_report import report_csv
from finance.service_layer.books import Books as ServiceBooks
from finance.service_layer.close import DailyClose
from finance.service_layer.recon_facts import ReconFacts
from finance.service_layer.reconcile import Reconciler
from tests.conftest import service_dsn

pytestmark = pytest.mark.asyncio


class Clock:
    def __init__(self) -> None:
        self.at = datetime.now(UTC) + timedelta(days=1)  # today's journals are yesterday's

    def __call__(self) -> datetime:
        return self.at


class Books:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.currency = "".join(random.choices(string.ascii_lowercase, k=3))
        self.tag = uuid.uuid4().hex[:10]
        self.stripe = InMemoryStripeBalance()
        self.clock = Clock()
        self.reconciler = Reconciler(
            self.stripe,
            self.clock,
            cursor=f"test_{self.tag}",
            grace=timedelta(0),
            outbox=Outbox("finance", "finance"),
        )
        self.close = DailyClose(
            self.stripe,
            self.clock,
            parse_cutoff("00:00"),
            Outbox("finance", "finance"),
            self.reconciler,
        )

    def bt(
        self, n: int, type_: str, source: str, amount: int, fee: int = 0, **kw: object
    ) -> BalanceTransaction:
        return BalanceTransaction(
            txn_id=f"txn_{self.tag}_{n}",
            type=type_,
            source=source,
            amount=amount,
            fee=fee,
            net=amount - fee,
            currency=self.currency,
            status=str(kw.get("status", "pending")),
            created=datetime.now(UTC) - timedelta(minutes=n),
        )

    async def capture(self, charge: str, amount: int) -> None:
        """What payments' capture fact leaves in finance: its journal and its expectation."""
        event_id = uuid.uuid4()
        journal = guest_payment_captured(
            amount=amount,
            platform_fee=amount // 10,
            host_account_id="acct_x",
            currency=self.currency,
        )
        async with self.pool.acquire() as conn, conn.transaction():
            await ledger_repository.post(
                conn, journal, source_event_id=event_id, booking_id=None, stripe_object_id=charge
            )
            await payables_repository.add_payable(
                conn,
                {
                    "payment_id": charge,
                    "booking_id": charge,
                    "host_account_id": "acct_x",
                    "currency": self.currency,
                    "host_amount": amount - amount // 10,
                    "destination_charge": False,
                },
            )
            await recon_db.record_object(
                conn,
                event_id,
                kind="charge",
                object_id=charge,
                amount=amount,
                currency=self.currency,
            )

    async def balances(self) -> dict[str, int]:
        rows = await self.pool.fetch(
            "SELECT account, sum(amount)::bigint AS b FROM finance.postings WHERE currency = $1 "
            "GROUP BY account",
            self.currency,
        )
        return {r["account"]: r["b"] for r in rows}

    async def journals(self) -> int:
        return int(
            await self.pool.fetchval(
                "SELECT count(*) FROM finance.journals WHERE currency = $1", self.currency
            )
        )

    async def open_exceptions(self) -> list[asyncpg.Record]:
        async with self.pool.acquire() as conn:
            return await recon_db.open_exceptions(conn, self.currency)


@pytest.fixture
async def books(pg_ready: None) -> AsyncIterator[Books]:
    pool = await create_pool(service_dsn("finance"), min_size=1, max_size=4)
    assert pool is not None
    books = Books(pool)
    # A currency of its own: one an earlier test left exceptions in (the full rounds of the
    # close judge every object of the database) would show them here.
    while await pool.fetchval(
        "SELECT EXISTS (SELECT 1 FROM finance.recon_exceptions WHERE currency = $1) "
        "OR EXISTS (SELECT 1 FROM finance.journals WHERE currency = $1)",
        books.currency,
    ):
        books.currency = "".join(random.choices(string.ascii_lowercase, k=3))
    yield books
    await pool.close()


async def test_import_is_idempotent_and_picks_up_availability(books: Books) -> None:
    charge = f"ch_{books.tag}"
    await books.capture(charge, 10_000)
    books.stripe.put(books.bt(1, "charge", charge, 10_000, fee=320))
    await books.reconciler.run(books.pool)
    after_first = await books.journals()
    await books.reconciler.run(books.pool)
    assert await books.journals() == after_first  # nothing twice
    assert (await books.balances())["expense:stripe_fees"] == 320

    books.stripe.put(books.bt(1, "charge", charge, 10_000, fee=320, status="available"))
    await books.reconciler.run(books.pool)
    await books.reconciler.run(books.pool)
    balances = await books.balances()
    at_stripe = (await books.stripe.balance())[books.currency]
    assert balances["asset:stripe_balance:available"] == at_stripe["available"] == 9_680
    assert balances.get("asset:stripe_balance:pending", 0) == at_stripe["pending"] == 0
    assert await books.open_exceptions() == []


async def test_a_dashboard_refund_is_exactly_one_exception_and_blocks_the_close(
    books: Books,
) -> None:
    charge, refund = f"ch_{books.tag}", f"re_{books.tag}"
    await books.capture(charge, 10_000)
    books.stripe.put(
        books.bt(2, "charge", charge, 10_000, fee=320), books.bt(1, "refund", refund, -3_000)
    )
    await books.reconciler.run(books.pool)
    await books.reconciler.run(books.pool)
    [exception] = await books.open_exceptions()
    assert (exception["kind"], exception["object_id"]) == ("missing_in_ledger", refund)
    announced = await books.pool.fetchval(
        "SELECT count(*) FROM finance.outbox WHERE key = $1 AND event_type = $2",
        refund,
        "finance.reconciliation_exception_raised",
    )
    assert announced == 1  # raised once, however many rounds see it

    day = books.clock().date() - timedelta(days=1)
    [failed] = await books.close.close(books.pool, day, books.currency)
    assert not failed.closed
    blocking = {b["item"]: b["amount"] for b in failed.report["blockers"]}
    assert blocking == {"stripe_pending": 3_000, f"exception:{exception['exception_id']}": 0}

    for item, amount in blocking.items():
        ack = Acknowledgement(item, amount, "refund made in the dashboard", "ops")
        await books.close.acknowledge(books.pool, day, books.currency, ack)
    nothing = Acknowledgement("nonexistent_item", 5, "a typo", "ops")
    with pytest.raises(CloseRefused) as unknown:
        await books.close.acknowledge(books.pool, day, books.currency, nothing)
    assert unknown.value.code == "unknown_close_item"
    [closed] = await books.close.close(books.pool, day, books.currency)
    assert closed.closed
    with pytest.raises(CloseRefused) as final:  # a closed day's report is final
        await books.close.acknowledge(books.pool, day, books.currency, ack)
    assert final.value.code == "day_locked"
    assert closed.report["figures"]["stripe_fees"] == 320
    assert "tieouts,stripe_pending,,,3000" in report_csv(closed.report)

    [again] = await books.close.close(books.pool, day, books.currency)
    assert again.report == closed.report  # re-running a close changes nothing
    announced = await books.pool.fetchval(
        "SELECT count(*) FROM finance.outbox WHERE key = $1", f"{day}:{books.currency}"
    )
    assert announced == 1


async def test_a_closed_day_is_locked_and_a_late_fact_adjusts_the_next_day(books: Books) -> None:
    await books.capture(f"ch_{books.tag}", 5_000)
    books.stripe.put(books.bt(1, "charge", f"ch_{books.tag}", 5_000))
    day = books.clock().date() - timedelta(days=1)
    [closed] = await books.close.close(books.pool, day, books.currency)
    assert closed.closed, closed.report["blockers"]
    before = closed.report["balances"]

    await books.capture(f"ch_{books.tag}_late", 2_000)  # a fact of the closed day, late
    late = await books.pool.fetchrow(
        "SELECT posted_on, adjusts_day FROM finance.journals WHERE stripe_object_id = $1",
        f"ch_{books.tag}_late",
    )
    assert (late["posted_on"], late["adjusts_day"]) == (day + timedelta(days=1), day)
    async with books.pool.acquire() as conn:
        # even a journal that names the closed day explicitly lands in the next open one
        journal = Journal("manual", books.currency, (("a:x", 1), ("a:y", -1)))
        async with conn.transaction():
            await ledger_repository.post(
                conn, journal, source_event_id=uuid.uuid4(), booking_id=None
            )
    in_day = await books.pool.fetchval(
        "SELECT count(*) FROM finance.journals WHERE currency = $1 AND posted_on = $2 "
        "AND adjusts_day IS NULL",
        books.currency,
        day,
    )
    assert in_day == 1  # only the capture posted before the close
    [still] = await books.close.close(books.pool, day, books.currency)
    assert still.report["balances"] == before

    books.clock.at += timedelta(days=1)
    books.stripe.put(books.bt(2, "charge", f"ch_{books.tag}_late", 2_000))
    [next_day] = await books.close.close(books.pool, day + timedelta(days=1), books.currency)
    adjusted = {a["stripe_object_id"] for a in next_day.report["adjustments"]}
    assert f"ch_{books.tag}_late" in adjusted


async def test_days_close_in_order_and_only_once_over(books: Books) -> None:
    await books.capture(f"ch_{books.tag}", 1_000)
    with pytest.raises(CloseRefused) as refused:
        await books.close.close(books.pool, books.clock().date(), books.currency)
    assert refused.value.code == "day_not_over"
    books.clock.at += timedelta(days=1)
    with pytest.raises(CloseRefused) as refused:
        await books.close.close(
            books.pool, books.clock().date() - timedelta(days=1), books.currency
        )
    assert refused.value.code == "earlier_day_open"


async def test_a_currency_the_books_never_held_has_no_day_to_close_or_acknowledge(
    books: Books,
) -> None:
    books.clock.at += timedelta(days=1)
    yesterday = books.clock().date() - timedelta(days=1)
    ack = Acknowledgement("stripe_available", 0, "a typo's currency", "ops")
    for attempt in (
        lambda: books.close.close(books.pool, yesterday, books.currency),
        lambda: books.close.acknowledge(books.pool, yesterday, books.currency, ack),
    ):
        with pytest.raises(CloseRefused) as refused:
            await attempt()
        assert refused.value.code == "before_first_day"
        assert "hold nothing in this currency" in str(refused.value)
    async with books.pool.acquire() as conn:
        assert await close_repository.last_closed(conn, books.currency) is None

    # Once the books hold the currency, its days from the first are closed as usual.
    await books.capture(f"ch_{books.tag}", 1_000)
    books.clock.at += timedelta(days=1)
    async with books.pool.acquire() as conn:
        began = await close_repository.first_day(conn, books.currency)
    assert began is not None
    await books.close.acknowledge(books.pool, began, books.currency, ack)
    [outcome] = await books.close.close(books.pool, began, books.currency)
    assert (outcome.business_date, outcome.report["business_date"]) == (began, began.isoformat())


async def test_the_rest_api_lists_resolves_closes_and_reports(books: Books) -> None:
    app = FastAPI()
    http_errors.install(app)
    books_http.install(app)
    app.state.jwt_secret = DEV_JWT_SECRET
    staff = {"Authorization": f"Bearer {issue_token(DEV_JWT_SECRET, 'ops', 'finance')}"}
    service_books = ServiceBooks(
        books.stripe, books.reconciler, books.close, books.clock, timedelta(minutes=5)
    )
    app.state.runtime = SimpleNamespace(db=books.pool, state={"books": service_books})
    refund = f"re_{books.tag}"
    books.stripe.put(books.bt(1, "refund", refund, -700))
    day = (books.clock() - timedelta(days=1)).date()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://finance", headers=staff
    ) as client:
        run = await client.post("/v1/reconciliation/runs")
        assert run.status_code == 200 and run.json()["import"]["changed"] >= 1
        assert run.json()["match"]["full"]  # the cursor's first match
        assert not (await client.post("/v1/reconciliation/runs")).json()["match"]["full"]
        full = await client.post("/v1/reconciliation/runs", params={"full": "true"})
        assert full.status_code == 200 and full.json()["match"]["full"]
        listed = await client.get(
            "/v1/reconciliation/exceptions", params={"currency": books.currency}
        )
        [exception] = listed.json()["items"]
        assert exception["kind"] == "missing_in_ledger" and exception["age_seconds"] >= 0
        path = f"/v1/reconciliation/exceptions/{exception['exception_id']}/resolve"
        body = {"actor": "ignored", "note": "made in the dashboard"}
        resolved = (await client.post(path, json=body)).json()
        assert (resolved["status"], resolved["resolved_by"]) == ("resolved", "ops")
        again = await client.post(path, json=body)
        assert (again.status_code, again.json()["error"]["code"]) == (409, "exception_not_open")

        close = await client.post(
            "/v1/closes", json={"business_date": day.isoformat(), "currency": books.currency}
        )
        [report] = close.json()["closes"]
        assert report["status"] == "failed"  # Stripe's balance is 700 lower than the ledger's
        [blocker] = report["blockers"]
        ack = {"item": blocker["item"], "amount": blocker["amount"], "actor": "ops", "note": "ok"}
        url = f"/v1/closes/{day.isoformat()}/{books.currency}"
        assert (await client.post(f"{url}/acknowledgements", json=ack)).status_code == 200
        close = await client.post(
            "/v1/closes", json={"business_date": day.isoformat(), "currency": books.currency}
        )
        assert close.json()["closes"][0]["status"] == "closed"
        csv_report = await client.get(url, params={"format": "csv"})
        assert csv_report.headers["content-type"].startswith("text/csv")
        assert "acknowledged,stripe_pending,,,700,ok" in csv_report.text
        early = await client.post(
            "/v1/closes", json={"business_date": books.clock().date().isoformat()}
        )
        assert (early.status_code, early.json()["error"]["code"]) == (409, "day_not_over")


async def test_a_platform_payout_fact_expects_the_payout_and_triggers_an_import(
    books: Books,
) -> None:
    service_books = ServiceBooks(
        books.stripe, books.reconciler, books.close, books.clock, timedelta(hours=1)
    )
    facts = ReconFacts(books.clock, cursor=books.reconciler.cursor)
    payout = f"po_{books.tag}"
    assert await service_books.import_if_due(books.pool) is not None  # the first round
    assert await service_books.import_if_due(books.pool) is None  # not due for an hour

    books.stripe.put(books.bt(1, "payout", payout, -4_000, status="available"))
    fact = SimpleNamespace(payout_id=payout, amount=4_000, currency=books.currency, status="paid")
    env = SimpleNamespace(event_id=uuid.uuid4())
    books.clock.at += timedelta(seconds=1)
    async with books.pool.acquire() as conn, conn.transaction():
        await facts.on_platform_payout_updated(conn, env, fact, None)  # type: ignore[arg-type]
    ran = await service_books.import_if_due(books.pool)
    assert ran is not None and ran[0].journals == 2  # the payout and its availability
    balances = await books.balances()
    assert balances["asset:platform_bank"] == 4_000
    assert balances["asset:stripe_balance:available"] == -4_000
    assert await books.open_exceptions() == []  # Stripe, ledger and payments agree


async def test_journals_are_dated_by_the_finance_clock_and_the_cutoff(books: Books) -> None:
    """A simulated clock two days ahead and a 06:00 cutoff move the business date with them."""
    service_books = ServiceBooks(
        books.stripe, books.reconciler, books.close, books.clock, timedelta(hours=1)
    )
    ahead = datetime.now(UTC) + timedelta(days=2)
    books.clock.at = ahead
    service_books.daily_close.cutoff = parse_cutoff("06:00")
    try:
        async with books.pool.acquire() as conn:
            await service_books.sync_calendar(conn)
        await books.capture(f"ch_{books.tag}", 1_000)
    finally:
        async with books.pool.acquire() as conn:
            await close_repository.set_calendar(conn, 0, 0)
    posted_on = await books.pool.fetchval(
        "SELECT posted_on FROM finance.journals WHERE stripe_object_id = $1", f"ch_{books.tag}"
    )
    assert posted_on == (ahead - timedelta(hours=6)).date()


class StripeDown(RuntimeError):
    pass


class FlakyStripe(InMemoryStripeBalance):
    """Fails after `good` transactions, like Stripe going away in the middle of the listing."""

    def __init__(self, inner: InMemoryStripeBalance, good: int) -> None:
        super().__init__(inner.transactions.values())
        self.good = good

    async def list_since(
        self, created_gte: datetime | None, created_lte: datetime | None = None
    ) -> AsyncIterator[BalanceTransaction]:
        listed = 0
        async for bt in super().list_since(created_gte, created_lte):
            if listed == self.good:
                raise StripeDown("connection reset")
            listed += 1
            yield bt


async def test_an_import_cut_short_keeps_its_cursor_and_the_next_round_books_each_fee_once(
    books: Books,
) -> None:
    books.stripe.put(
        *(books.bt(n, "charge", f"ch_{books.tag}_{n}", 1_000, fee=59) for n in range(1, 8))
    )
    flaky = Reconciler(
        FlakyStripe(books.stripe, good=5),
        books.clock,
        cursor=books.reconciler.cursor,
        grace=timedelta(0),
        batch_size=2,
    )
    with pytest.raises(StripeDown):
        await flaky.run(books.pool)
    cursor = await books.pool.fetchrow(
        "SELECT watermark FROM finance.recon_cursors WHERE name = $1", books.reconciler.cursor
    )
    assert cursor["watermark"] is None  # the next round lists everything again
    assert 0 < (await books.balances())["expense:stripe_fees"] < 7 * 59

    await books.reconciler.run(books.pool)
    assert (await books.balances())["expense:stripe_fees"] == 7 * 59


async def test_the_grace_period_runs_on_arrival_time_not_on_a_clock_moved_ahead(
    books: Books,
) -> None:
    """The business clock is a day ahead (as after a simulated jump): a refund that arrived a
    moment ago is still within the grace period, so it is not judged yet."""
    patient = Reconciler(
        books.stripe, books.clock, cursor=books.reconciler.cursor, grace=timedelta(minutes=5)
    )
    books.stripe.put(books.bt(1, "refund", f"re_{books.tag}", -1_000))
    await patient.run(books.pool)
    assert await books.open_exceptions() == []
    await books.reconciler.run(books.pool)  # no grace: judged at once
    assert [e["kind"] for e in await books.open_exceptions()] == ["missing_in_ledger"]
