"""POST /webhooks/stripe on the real database: forged, stale, duplicated, disallowed and
out-of-order events, and an ops replay."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest

from eventkit.db import create_pool
from payments.adapters.webhook_repository import WebhooksRepository
from payments.bootstrap import build_app, build_runtime
from payments.config import PaymentsSettings
from payments.service_layer import webhooks
from tests.conftest import service_dsn

pytestmark = pytest.mark.integration
SECRET = "whsec_webhook_tests"


@pytest.fixture
async def pool(pg_ready: None) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(service_dsn("payments"), min_size=1, max_size=4)
    assert pool is not None
    yield pool
    await pool.close()


@pytest.fixture
async def client(pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(build_runtime(PaymentsSettings(stripe_webhook_secret=SECRET)))
    app.state.runtime = SimpleNamespace(db=pool)  # HTTP and database only
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://payments") as c:
        yield c


def signed(
    event: dict[str, Any], *, secret: str = SECRET, at: int | None = None
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event).encode()
    timestamp = at if at is not None else int(time.time())
    signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return body, {"Stripe-Signature": f"t={timestamp},v1={signature.hexdigest()}"}


def intent_event(intent_id: str, status: str, event_type: str) -> dict[str, Any]:
    return {
        "id": f"evt_{uuid.uuid4().hex[:16]}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {"object": {"id": intent_id, "object": "payment_intent", "status": status}},
    }


async def _stored(pool: asyncpg.Pool, event_id: str) -> int:
    return await pool.fetchval(
        "SELECT count(*) FROM payments.stripe_webhook_events WHERE stripe_event_id = $1", event_id
    )


async def _payment(pool: asyncpg.Pool) -> tuple[str, str]:
    payment_id, intent = f"pay_wh_{uuid.uuid4().hex[:8]}", f"pi_wh_{uuid.uuid4().hex[:8]}"
    await pool.execute(
        "INSERT INTO payments.payments (payment_id, booking_id, guest_id, amount, platform_fee, "
        "currency, host_account_id, payment_method, payment_intent_id, status, stripe_status, "
        "correlation_id) VALUES ($1, $1, 'guest-wh', 1000, 100, 'usd', 'acct_wh', "
        "'pm_card_visa', $2, 'authorized', 'requires_capture', $3)",
        payment_id,
        intent,
        uuid.uuid4(),
    )
    return payment_id, intent


async def test_forged_and_stale_webhooks_are_refused_and_not_stored(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    event = intent_event("pi_x", "succeeded", "payment_intent.succeeded")
    body, headers = signed(event, secret="whsec_someone_else")
    forged = await client.post("/webhooks/stripe", content=body, headers=headers)
    assert forged.status_code == 400
    body, headers = signed(event, at=int(time.time()) - 3600)  # beyond the 5-minute tolerance
    stale = await client.post("/webhooks/stripe", content=body, headers=headers)
    assert stale.status_code == 400
    body, headers = signed(event, at=int(time.time()) + 3600)  # a replay good until then
    ahead = await client.post("/webhooks/stripe", content=body, headers=headers)
    assert ahead.status_code == 400
    assert await _stored(pool, event["id"]) == 0


def signed_body(body: bytes) -> dict[str, str]:
    timestamp = int(time.time())
    signature = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return {"Stripe-Signature": f"t={timestamp},v1={signature.hexdigest()}"}


@pytest.mark.parametrize(
    "data",
    [
        '{"object": {"id": "pi_x", "object": "payment_intent", "note": "\\ud800"}}',
        '{"object": {"id": "pi_x", "object": "payment_intent", "amount": 2' + "0" * 30 + "}}",
        '{"object": {"id": "pi_x", "object": "payment_intent", "amount": NaN}}',
        '{"object": {"id": "pi_x", "object": "payment_intent", "amount": -Infinity}}',
        "[" * 100_000 + "]" * 100_000,
        "null",
        '{"object": "pi_x"}',
    ],
    ids=[
        "lone surrogate",
        "beyond int64",
        "NaN",
        "Infinity",
        "nested 100,000 deep",
        "no data",
        "no object",
    ],
)
async def test_a_signed_body_that_cannot_be_stored_is_refused_not_a_500(
    client: httpx.AsyncClient, pool: asyncpg.Pool, data: str
) -> None:
    event_id = f"evt_{uuid.uuid4().hex[:16]}"
    body = f'{{"id": "{event_id}", "type": "payment_intent.succeeded", "data": {data}}}'.encode()
    answer = await client.post("/webhooks/stripe", content=body, headers=signed_body(body))
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "webhook_signature_invalid"
    assert await _stored(pool, event_id) == 0


async def test_duplicates_are_stored_once_and_other_types_not_at_all(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    event = intent_event("pi_y", "succeeded", "payment_intent.succeeded")
    body, headers = signed(event)
    first = await client.post("/webhooks/stripe", content=body, headers=headers)
    again = await client.post("/webhooks/stripe", content=body, headers=headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)
    assert await _stored(pool, event["id"]) == 1
    other = {**intent_event("pi_y", "succeeded", "customer.created"), "type": "customer.created"}
    body, headers = signed(other)
    ignored = await client.post("/webhooks/stripe", content=body, headers=headers)
    assert ignored.status_code == 200 and ignored.json()["ignored"] is True
    assert await _stored(pool, other["id"]) == 0


async def test_an_older_event_arriving_later_never_moves_a_payment_backwards(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    payment_id, intent = await _payment(pool)
    newer = intent_event(intent, "succeeded", "payment_intent.succeeded")
    older = intent_event(intent, "requires_capture", "payment_intent.amount_capturable_updated")
    for event in (newer, older):  # delivered out of order
        body, headers = signed(event)
        assert (
            await client.post("/webhooks/stripe", content=body, headers=headers)
        ).status_code == 200
    async with pool.acquire() as conn:
        while await webhooks.apply_pending(conn):
            pass
    status = await pool.fetchval(
        "SELECT stripe_status FROM payments.payments WHERE payment_id = $1", payment_id
    )
    assert status == "succeeded"

    # Ops replay a stored event: applied again, and it still cannot move the payment back.
    async with pool.acquire() as conn:
        assert await webhooks.replay(conn, older["id"]) is True
        assert await webhooks.replay(conn, "evt_unknown") is False
        assert await webhooks.apply_pending(conn) >= 1
    assert (
        await pool.fetchval(
            "SELECT stripe_status FROM payments.payments WHERE payment_id = $1", payment_id
        )
        == "succeeded"
    )


async def _processed(pool: asyncpg.Pool, event_id: str) -> bool:
    return await pool.fetchval(
        "SELECT processed_at IS NOT NULL FROM payments.stripe_webhook_events "
        "WHERE stripe_event_id = $1",
        event_id,
    )


async def test_events_their_payments_have_passed_are_settled_together_any_other_applied(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    """The usual case, payments' own API call having recorded the status before the worker's
    round, costs one statement for the batch; every event that could change something is
    still applied one at a time."""
    payment_id, intent = await _payment(pool)  # authorized: requires_capture recorded
    seen = intent_event(intent, "requires_capture", "payment_intent.amount_capturable_updated")
    newer = intent_event(intent, "succeeded", "payment_intent.succeeded")
    unknown = intent_event(f"pi_wh_{uuid.uuid4().hex[:8]}", "canceled", "payment_intent.canceled")
    odd = {**intent_event(intent, "requires_capture", "payment_intent.processing"), "created": "x"}
    waiting = {}
    # A payment awaiting the guest's authentication, or a bank debit awaiting its settlement:
    # the webhook is what moves it on, so it is always applied.
    for status, method in (("requires_action", "card"), ("processing", "us_bank_account")):
        other_id, other_intent = await _payment(pool)
        await pool.execute(
            "UPDATE payments.payments SET status = $2, stripe_status = 'succeeded', "
            "payment_method_type = $3 WHERE payment_id = $1",
            other_id,
            status,
            method,
        )
        waiting[status] = intent_event(
            other_intent, "requires_capture", "payment_intent.amount_capturable_updated"
        )
    events = [seen, newer, unknown, odd, *waiting.values()]
    for event in events:
        body, headers = signed(event)
        answer = await client.post("/webhooks/stripe", content=body, headers=headers)
        assert answer.status_code == 200 and answer.json()["duplicate"] is False
        assert await _processed(pool, event["id"]) is False  # stored: the worker decides
    async with pool.acquire() as conn:
        settled = await WebhooksRepository(conn).settle_passed(webhooks.STATUS_RANK, 100)
    # (other tests' leftovers may be settled beside them)
    assert (seen["type"], seen["created"]) in settled and (odd["type"], "x") in settled
    assert [await _processed(pool, e["id"]) for e in events] == [
        True,
        False,
        False,
        True,
        False,
        False,
    ]
    async with pool.acquire() as conn:
        while await webhooks.apply_pending(conn):
            pass
    assert all([await _processed(pool, e["id"]) for e in events])
    assert (
        await pool.fetchval(
            "SELECT stripe_status FROM payments.payments WHERE payment_id = $1", payment_id
        )
        == "succeeded"
    )


def test_status_ranks_only_move_forward() -> None:
    assert webhooks.moves_forward("requires_capture", "succeeded")
    assert webhooks.moves_forward(None, "processing")
    assert not webhooks.moves_forward("succeeded", "requires_capture")
    assert not webhooks.moves_forward("canceled", "succeeded")
    assert not webhooks.moves_forward("processing", "made_up_status")


def account_event(account_id: str, charges: bool, created: int) -> dict[str, Any]:
    return {
        "id": f"evt_{uuid.uuid4().hex[:16]}",
        "object": "event",
        "type": "account.updated",
        "created": created,
        "data": {
            "object": {
                "id": account_id,
                "object": "account",
                "charges_enabled": charges,
                "payouts_enabled": charges,
                "details_submitted": True,
            }
        },
    }


async def test_account_updates_track_onboarding_and_ignore_older_reports(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    account = f"acct_wh_{uuid.uuid4().hex[:8]}"
    now = int(time.time())
    newer, older = account_event(account, True, now), account_event(account, False, now - 60)
    for event in (newer, older):  # Stripe does not order its events
        body, headers = signed(event)
        response = await client.post("/webhooks/stripe", content=body, headers=headers)
        assert response.status_code == 200
    async with pool.acquire() as conn:
        while await webhooks.apply_pending(conn):
            pass
    row = await pool.fetchrow(
        "SELECT charges_enabled, payouts_enabled FROM payments.host_accounts "
        "WHERE host_account_id = $1",
        account,
    )
    assert (row["charges_enabled"], row["payouts_enabled"]) == (True, True)
    announced = await pool.fetch(
        "SELECT payload FROM payments.outbox WHERE key = $1 "
        "AND event_type = 'payments.host_account_updated'",
        account,
    )
    assert [json.loads(bytes(r["payload"]))["data"]["charges_enabled"] for r in announced] == [True]


def payout_event(
    payout_id: str, status: str, event_type: str, *, account: str | None = None
) -> dict[str, Any]:
    now = int(time.time())
    event: dict[str, Any] = {
        "id": f"evt_{uuid.uuid4().hex[:16]}",
        "object": "event",
        "type": event_type,
        "created": now,
        "data": {
            "object": {
                "id": payout_id,
                "object": "payout",
                "amount": 123_456,
                "currency": "usd",
                "status": status,
                "arrival_date": now + 86_400,
                "failure_code": "account_closed" if status == "failed" else None,
            }
        },
    }
    if account is not None:
        event["account"] = account
    return event


async def test_the_platforms_payouts_are_announced_once_per_stripe_event(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    payout = f"po_wh_{uuid.uuid4().hex[:8]}"
    created = payout_event(payout, "pending", "payout.created")
    failed = payout_event(payout, "failed", "payout.failed")
    # A connected account's payout (the host's bank) is not the platform's: not announced.
    hosts = payout_event(f"po_wh_{uuid.uuid4().hex[:8]}", "paid", "payout.paid", account="acct_x")
    for event in (created, failed, failed, hosts):  # the failure delivered twice
        body, headers = signed(event)
        response = await client.post("/webhooks/stripe", content=body, headers=headers)
        assert response.status_code == 200 and "ignored" not in response.json()
    async with pool.acquire() as conn:
        while await webhooks.apply_pending(conn):
            pass
    rows = await pool.fetch(
        "SELECT key, payload FROM payments.outbox WHERE event_type = "
        "'payments.platform_payout_updated' AND key = ANY($1::text[]) ORDER BY id",
        [payout, hosts["data"]["object"]["id"]],
    )
    announced = [json.loads(bytes(r["payload"]))["data"] for r in rows]
    assert [r["key"] for r in rows] == [payout, payout]
    assert [(a["status"], a["failure_code"]) for a in announced] == [
        ("pending", None),
        ("failed", "account_closed"),
    ]
    assert (announced[0]["payout_id"], announced[0]["amount"], announced[0]["currency"]) == (
        payout,
        123_456,
        "usd",
    )
    assert announced[0]["arrival_date"] is not None and announced[0]["updated_at"] is not None


async def test_an_event_that_cannot_be_applied_is_set_aside_and_holds_up_no_other(
    pool: asyncpg.Pool,
) -> None:
    payment_id, intent = await _payment(pool)
    poison = intent_event(intent, "succeeded", "payment_intent.succeeded")
    del poison["data"]["object"]["id"]  # stored (as by an older receiver), cannot be applied
    good = intent_event(intent, "succeeded", "payment_intent.succeeded")
    async with pool.acquire() as conn:
        for event in (poison, good):
            assert await webhooks.store_event(conn, event)
        await webhooks.apply_pending(conn)  # the poison first: it fails, the good one applies
        status = await conn.fetchval(
            "SELECT stripe_status FROM payments.payments WHERE payment_id = $1", payment_id
        )
        assert status == "succeeded"
        for _ in range(webhooks.MAX_APPLY_ATTEMPTS):
            await webhooks.apply_pending(conn)
        row = await conn.fetchrow(
            "SELECT attempts, last_error, failed_at, processed_at "
            "FROM payments.stripe_webhook_events WHERE stripe_event_id = $1",
            poison["id"],
        )
        assert row["attempts"] == webhooks.MAX_APPLY_ATTEMPTS  # not one more once set aside
        assert row["failed_at"] is not None and row["processed_at"] is None
        assert "KeyError" in row["last_error"]
        assert await WebhooksRepository(conn).failed_count() >= 1
        assert await webhooks.replay(conn, poison["id"]) is True  # ops: its attempts start over
        row = await conn.fetchrow(
            "SELECT attempts, failed_at FROM payments.stripe_webhook_events "
            "WHERE stripe_event_id = $1",
            poison["id"],
        )
        assert (row["attempts"], row["failed_at"]) == (0, None)
        await conn.execute(  # leave nothing pending that fails for the tests after this one
            "UPDATE payments.stripe_webhook_events SET processed_at = now() "
            "WHERE stripe_event_id = $1",
            poison["id"],
        )
