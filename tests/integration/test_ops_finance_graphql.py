"""The finance area of the staff GraphQL schema, resolved in process against the real finance
and payments apps (httpx.ASGITransport) on the test database: the payout queue and its
actions, reserve policies, a daily close with an acknowledgement, reconciliation exceptions,
payments and refunds. Each mutation leaves an audit row with before and after, a repeated
idempotency token acts once, and finance's refusals keep finance's codes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from eventkit import http_errors
from eventkit.auth import DEV_JWT_SECRET, Principal, Role
from eventkit.db import create_pool
from eventkit.outbox import Outbox
from finance.adapters.stripe_balance import InMemoryStripeBalance
from finance.bootstrap import build_app, build_books, build_runtime
from finance.config import FinanceSettings
from ops.adapters.finance_api import FinanceApi
from ops.adapters.payments_api import PaymentsApi
from ops.adapters.staff_apis import ServiceCredential
from ops.adapters.staff_gateway import StaffApis
from ops.entrypoints.graphql_schema import build_schema
from payments.entrypoints import staff_http
from tests.conftest import service_dsn
from tests.support.finance_queue import (
    QueueHarness,
    entry_id,
    open_books,
    unused_currency,
)

pytestmark = pytest.mark.integration
OPS = ServiceCredential(DEV_JWT_SECRET)


@pytest.fixture
async def pools(pg_ready: None) -> AsyncIterator[tuple[asyncpg.Pool, asyncpg.Pool]]:
    ops = await create_pool(service_dsn("ops"), min_size=1, max_size=4)
    payments = await create_pool(service_dsn("payments"), min_size=1, max_size=4)
    yield ops, payments
    await ops.close()
    await payments.close()


class StripeBalance(InMemoryStripeBalance):
    """Stripe's balance with no transactions to import, and a pending figure a test sets: the
    close's `stripe_pending` tie-out then differs by exactly that."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: dict[str, int] = {}

    async def balance(self) -> dict[str, dict[str, int]]:
        return {c: {"pending": n, "available": 0} for c, n in self.pending.items()}


def _finance_app(q: QueueHarness, stripe: StripeBalance) -> FastAPI:
    settings = FinanceSettings(database_url=service_dsn("finance"))
    runtime = build_runtime(settings)
    runtime.pool = q.pool
    runtime.state["release"] = q.release
    # Stripe's balance from memory: the close ties out against it without a simulator.
    runtime.state["books"] = build_books(settings, Outbox("finance", "finance"), stripe=stripe)
    app = build_app(runtime)
    app.state.runtime = runtime
    return app


def _payments_app(pool: asyncpg.Pool) -> FastAPI:
    app = FastAPI()
    http_errors.install(app)
    staff_http.install(app)
    app.state.jwt_secret = DEV_JWT_SECRET
    app.state.runtime = SimpleNamespace(db=pool)
    return app


class Staff:
    """The schema run as one staff member, as the HTTP layer and the console run it."""

    def __init__(
        self, schema: Any, ops_pool: asyncpg.Pool, apis: StaffApis, stripe: StripeBalance
    ) -> None:
        self.schema, self.pool, self.apis, self.stripe = schema, ops_pool, apis, stripe

    async def __call__(self, query: str, role: str = "finance", **variables: Any) -> Any:
        principal = Principal("fiona", Role(role))
        context = {"principal": principal, "token": "", "pool": self.pool, "apis": self.apis}
        result = await self.schema.execute(query, variable_values=variables, context_value=context)
        errors = [(e.extensions or {}).get("code") for e in result.errors or ()]
        return result.data, errors


@pytest.fixture
async def staff(q: QueueHarness, pools: tuple[asyncpg.Pool, asyncpg.Pool]) -> AsyncIterator[Staff]:
    ops_pool, payments_pool = pools
    stripe = StripeBalance()
    finance = httpx.ASGITransport(app=_finance_app(q, stripe))
    payments = httpx.ASGITransport(app=_payments_app(payments_pool))
    apis = StaffApis(
        finance=FinanceApi("http://finance", OPS, transport=finance),
        disputes=None,  # type: ignore[arg-type]
        booking_url="http://booking",
        timeout=5,
        booking_transport=finance,
        payments=PaymentsApi("http://payments", OPS, transport=payments),
    )
    yield Staff(build_schema(), ops_pool, apis, stripe)
    await apis.finance.aclose()
    await apis.payments.aclose()


QUEUE = """query ($host: String) { payoutQueue(hostId: $host, first: 10) {
  hasMore items { id state amount currency holds } } }"""
ENTRY = "query ($id: String!) { payoutEntry(id: $id) { state history { trigger actor note } } }"
PAYOUT = """mutation ($t: String!, $id: String!, $note: String!) {
  %s(idempotencyToken: $t, entryId: $id, note: $note) { action target state result } }"""


async def _audit(pool: asyncpg.Pool, target: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT actor, role, action, before, after FROM audit WHERE target = $1 ORDER BY id", target
    )
    return [dict(r) for r in rows
    ]  # fmt: skip


async def test_finance_staff_hold_and_release_a_payout_once_each_with_audit(
    q: QueueHarness, staff: Staff
) -> None:
    checkout, captured = q.booking()
    await q.deliver(checkout, captured)
    one = entry_id(captured)
    data, errors = await staff(QUEUE, host=q.host)
    assert errors == []
    assert [(e["id"], e["state"]) for e in data["payoutQueue"]["items"]] == [(one, "scheduled")]

    token = str(uuid.uuid4())
    held, errors = await staff(PAYOUT % "holdPayout", t=token, id=one, note="guest complaint")
    assert errors == [] and held["holdPayout"]["state"] == "held"
    again, _ = await staff(PAYOUT % "holdPayout", t=token, id=one, note="guest complaint")
    assert again == held  # the first result; finance was not asked twice
    _, refused = await staff(PAYOUT % "releasePayoutNow", t=str(uuid.uuid4()), id=one, note="x")
    assert refused == ["illegal_transition"]  # finance's own code, not an internal error
    released, errors = await staff(
        PAYOUT % "releasePayoutHold", t=str(uuid.uuid4()), id=one, note="cleared"
    )
    assert errors == [] and released["releasePayoutHold"]["state"] == "scheduled"

    history = (await staff(ENTRY, id=one))[0]["payoutEntry"]["history"]
    assert [h["trigger"] for h in history if h["trigger"] == "hold"] == ["hold"]
    assert {h["actor"] for h in history[-2:]} == {"fiona via service:ops"}
    audit = await _audit(staff.pool, f"payout:{one}")
    assert [(a["action"], a["before"]["state"], a["after"]["state"]) for a in audit] == [
        ("payout.hold", "scheduled", "held"),
        ("payout.unhold", "held", "scheduled"),
    ]
    assert {(a["actor"], a["role"]) for a in audit} == {("fiona", "finance")}
    _, missing = await staff(ENTRY, id="pay_nope:bk_nope")
    assert missing == ["entry_not_found"]


async def test_trust_is_refused_the_queue_but_reads_payments_and_refunds(
    staff: Staff, pools: tuple[asyncpg.Pool, asyncpg.Pool]
) -> None:
    _, payments_pool = pools
    booking, payment = f"bk_{uuid.uuid4().hex[:10]}", f"pay_{uuid.uuid4().hex[:10]}"
    await payments_pool.execute(
        "INSERT INTO payments.payments (payment_id, booking_id, guest_id, amount, platform_fee, "
        "currency, host_account_id, payment_method, status, captured_amount, correlation_id) "
        "VALUES ($1, $2, 'guest-1', 12000, 1200, 'usd', 'acct_h', 'pm_card_visa', 'captured', "
        "12000, $3)",
        payment, booking, uuid.uuid4(),
    )  # fmt: skip
    await payments_pool.execute(
        "INSERT INTO payments.refunds (refund_id, payment_id, booking_id, amount, currency, "
        "platform_fee, host_amount, host_account_id, correlation_id, source_event_id) "
        "VALUES ($1, $2, $3, 6000, 'usd', 600, 5400, 'acct_h', $4, $5)",
        f"rf_{payment}", payment, booking, uuid.uuid4(), uuid.uuid4(),
    )  # fmt: skip
    _, refused = await staff(QUEUE, role="trust")
    assert refused == ["forbidden"]
    read = (
        "query ($b: String!, $p: String!) { payments(bookingId: $b) { id status amount } "
        "refunds(paymentId: $p) { id amount status } payment(id: $p) { capturedAmount } }"
    )
    data, errors = await staff(read, role="trust", b=booking, p=payment)
    assert errors == []
    assert data["payments"] == [{"id": payment, "status": "captured", "amount": 12000}]
    assert data["refunds"] == [{"id": f"rf_{payment}", "amount": 6000, "status": "pending"}]
    assert data["payment"] == {"capturedAmount": 12000}
    _, missing = await staff('{ payment(id: "pay_nope") { id } }', role="admin")
    assert missing == ["payment_not_found"]


async def test_reserve_policy_created_and_assigned_with_audit(
    q: QueueHarness, staff: Staff
) -> None:
    policy = f"rolling_{uuid.uuid4().hex[:8]}"
    create = """mutation ($t: String!, $p: String!) { createReservePolicy(idempotencyToken: $t,
      policyId: $p, kind: "rolling_percent", percentBps: 1000, holdDays: 30, note: "risky")
      { state result } }"""
    made, errors = await staff(create, role="admin", t=str(uuid.uuid4()), p=policy)
    assert errors == [] and made["createReservePolicy"]["result"]["version"] == 1
    assign = """mutation ($t: String!, $p: String!, $k: String!) { assignReservePolicy(
      idempotencyToken: $t, policyId: $p, scope: "host", scopeKey: $k) { target } }"""
    _, errors = await staff(assign, t=str(uuid.uuid4()), p=policy, k=q.host)
    assert errors == []
    listed, _ = await staff("{ reservePolicies { policies { policyId version } "
                            "assignments { scope scopeKey policyId } } }")  # fmt: skip
    assert {"scope": "host", "scopeKey": q.host, "policyId": policy} in listed["reservePolicies"][
        "assignments"
    ]
    audit = await _audit(staff.pool, f"reserve_assignment:host:{q.host}")
    assert [(a["before"], a["after"]["policy_id"]) for a in audit] == [(None, policy)]
    _, bad = await staff(create.replace("rolling_percent", "fixed"), t=str(uuid.uuid4()), p=policy)
    assert bad == ["invalid_reserve_policy"]  # a fixed reserve without an amount


async def test_a_day_is_acknowledged_and_closed_and_exceptions_listed(
    q: QueueHarness, staff: Staff
) -> None:
    # A currency of this test's own: its books hold one journal no tie-out reads, so the day
    # ties out (a currency never held has no day to close).
    currency = await unused_currency(q.pool)
    day = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    await open_books(q.pool, currency, date.fromisoformat(day))
    ack = """mutation ($t: String!, $d: Date!, $c: String!) { acknowledgeCloseDifference(
      idempotencyToken: $t, businessDate: $d, currency: $c, item: "stripe_pending", amount: 0,
      note: "checked by hand") { target } }"""
    _, errors = await staff(ack, t=str(uuid.uuid4()), d=day, c=currency)
    assert errors == []
    run = """mutation ($t: String!, $d: Date, $c: String) { runDailyClose(idempotencyToken: $t,
      businessDate: $d, currency: $c) { state result } }"""
    closed, errors = await staff(run, t=str(uuid.uuid4()), d=day, c=currency)
    assert errors == []
    assert [c["status"] for c in closed["runDailyClose"]["result"]] == ["closed"]
    report = """query ($d: Date!, $c: String!) { closeReport(businessDate: $d, currency: $c) {
      status tieouts { check difference } acknowledged { item actor note } }
      dailyCloses(currency: $c) { businessDate status } }"""
    data, errors = await staff(report, d=day, c=currency)
    assert errors == []
    assert data["closeReport"]["status"] == "closed"
    assert data["closeReport"]["acknowledged"] == [
        {"item": "stripe_pending", "actor": "fiona via service:ops", "note": "checked by hand"}
    ]
    assert data["dailyCloses"] == [{"businessDate": day, "status": "closed"}]
    audit = await _audit(staff.pool, f"close:{day}:{currency}")
    assert [(a["action"], a["after"]["closes"]) for a in audit] == [
        ("close.run", {f"{day}:{currency}": "closed"})
    ]
    later = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    _, future = await staff(run, t=str(uuid.uuid4()), d=later, c=currency)
    assert future == ["day_not_over"]
    _, absurd = await staff(run, t=str(uuid.uuid4()), d="2999-01-01", c=currency)
    assert absurd == ["validation_failed"]  # finance's dates lie in the years 2000-2199
    listed, errors = await staff("{ reconciliationExceptions(first: 5) { hasMore items { id } } }")
    assert errors == [] and len(listed["reconciliationExceptions"]["items"]) <= 5
    resolve = """mutation ($t: String!) { resolveReconciliationException(idempotencyToken: $t,
      id: 999999999, note: "n") { state } }"""
    _, missing = await staff(resolve, t=str(uuid.uuid4()))
    assert missing == ["exception_not_found"]


RUN = """mutation ($t: String!, $d: Date, $c: String) { runDailyClose(idempotencyToken: $t,
  businessDate: $d, currency: $c) { state result } }"""
ACK = """mutation ($t: String!, $d: Date!, $c: String!, $item: String!, $amount: Int!) {
  acknowledgeCloseDifference(idempotencyToken: $t, businessDate: $d, currency: $c,
  item: $item, amount: $amount, note: "payout in transit") { target } }"""


async def test_a_blocked_close_closes_once_its_difference_is_acknowledged(
    q: QueueHarness, staff: Staff
) -> None:
    currency = await unused_currency(q.pool)
    day = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    staff.stripe.pending[currency] = 1_200  # Stripe holds 12.00 the ledger does not
    blocked, errors = await staff(RUN, t=str(uuid.uuid4()), d=day, c=currency)
    assert errors == []
    [report] = blocked["runDailyClose"]["result"]
    assert report["status"] == "failed"
    assert [(b["item"], b["amount"]) for b in report["blockers"]] == [("stripe_pending", -1_200)]
    _, wrong = await staff(ACK, t=str(uuid.uuid4()), d=day, c=currency, item="stripe_pending",
                           amount=-1_000)  # fmt: skip
    assert wrong == []  # finance keeps it; it does not match the difference, so still blocked
    again, _ = await staff(RUN, t=str(uuid.uuid4()), d=day, c=currency)
    assert again["runDailyClose"]["result"][0]["status"] == "failed"
    _, errors = await staff(ACK, t=str(uuid.uuid4()), d=day, c=currency, item="stripe_pending",
                            amount=-1_200)  # fmt: skip
    closed, errors = await staff(RUN, t=str(uuid.uuid4()), d=day, c=currency)
    assert errors == [] and closed["runDailyClose"]["state"] is None
    assert closed["runDailyClose"]["result"][0]["status"] == "closed"
    audit = await _audit(staff.pool, f"close:{day}:{currency}")
    assert [a["after"]["closes"][f"{day}:{currency}"] for a in audit] == [
        "failed", "failed", "closed"
    ]  # fmt: skip


async def test_the_queue_pages_by_offset_and_by_cursor(q: QueueHarness, staff: Staff) -> None:
    ids = []
    for _ in range(3):
        checkout, captured = q.booking()
        await q.deliver(checkout, captured)
        ids.append(entry_id(captured))
    page = """query ($host: String, $offset: Int!, $after: String) {
      payoutQueue(hostId: $host, first: 2, offset: $offset, after: $after) {
        hasMore nextCursor items { id } } }"""
    first, errors = await staff(page, host=q.host, offset=0)
    assert errors == []
    listed = first["payoutQueue"]
    assert (len(listed["items"]), listed["hasMore"]) == (2, True)
    rest, _ = await staff(page, host=q.host, offset=0, after=listed["nextCursor"])
    walked = [e["id"] for e in listed["items"] + rest["payoutQueue"]["items"]]
    assert sorted(walked) == sorted(ids) and rest["payoutQueue"]["hasMore"] is False
    by_offset, _ = await staff(page, host=q.host, offset=2)
    assert [e["id"] for e in by_offset["payoutQueue"]["items"]] == walked[2:]
    _, too_far = await staff(page, host=q.host, offset=499)
    assert too_far == ["invalid_request"]
