"""`python -m payments retry-refund | webhook-replay | transfers`, run as child processes the way
the README and runbooks show them, on state the payments handlers made in the test database and
in the Stripe simulator (served by this test process; the child reaches it over HTTP).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest

from marketplace_contracts import make_envelope
from marketplace_contracts.events.booking import (
    BookingCancelledV1,
    BookingConfirmedV1,
    CheckoutRequestedV1,
    RefundLine,
    RefundRequest,
)
from marketplace_contracts.events.finance import PayoutReleasedV1
from marketplace_contracts.events.payments import RefundFailedV1, RefundSucceededV1
from payments.bootstrap import build_app, build_runtime
from payments.config import PaymentsSettings
from payments.domain.ids import checkout_payment_id
from payments.service_layer import webhooks
from tests.conftest import service_dsn
from tests.support.cli import no_traceback, run_async
from tests.support.payments_harness import (
    PaymentsHarness,
    captured_group,
    only,
    payments_harness,
    stripe_get,
)

pytestmark = [
    pytest.mark.integration,
    # stripe-python's HTTPXClient posts form bodies via `data=`; not our code.
    pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning"),
]

START = datetime(2035, 2, 1, 15, tzinfo=UTC)
HOST = "acct_1CliRefundHost"
WEBHOOK_SECRET = "whsec_cli_tests"


@pytest.fixture
async def payments(pg_ready: None, sim: httpx.AsyncClient) -> AsyncIterator[PaymentsHarness]:
    async with payments_harness(
        str(sim.base_url), refund_max_attempts=2, refund_retry_backoff=0.01
    ) as harness:
        yield harness
        payment_ids = [checkout_payment_id(s) for s in harness.subjects]
        for table in ("transfer_reversals", "transfers"):
            await harness.pool.execute(
                f"DELETE FROM payments.{table} WHERE payment_id = ANY($1::text[])", payment_ids
            )
        # What the commands wrote to the real outbox: no relay may publish it later.
        await harness.pool.execute(
            "DELETE FROM payments.outbox WHERE key = ANY($1::text[])", payment_ids
        )


def _env(sim: httpx.AsyncClient) -> dict[str, str]:
    return {
        "PAYMENTS_DATABASE_URL": service_dsn("payments"),
        "PAYMENTS_STRIPE_API_BASE": str(sim.base_url).rstrip("/"),
        "PAYMENTS_STRIPE_API_KEY": "",
        "PAYMENTS_CONSUMER_BACKOFF_BASE": "0.01",
    }


async def _captured_booking(payments: PaymentsHarness, amount: int) -> str:
    booking_id = str(uuid.uuid4())
    payments.subjects.append(booking_id)
    request = CheckoutRequestedV1(
        booking_id=booking_id,
        guest_id="guest-cli",
        listing_id="lst_cli",
        host_id="host-cli",
        host_account_id=HOST,
        starts_at=START,
        ends_at=START + timedelta(hours=2),
        amount=amount,
        currency="usd",
        platform_fee=amount // 10,
        tax=0,
        payment_method="pm_card_visa",
    )
    await payments.deliver(request, booking_id)
    confirmed = BookingConfirmedV1(
        booking_id=booking_id,
        payment_id=checkout_payment_id(booking_id),
        amount=amount,
        currency="usd",
    )
    await payments.deliver(confirmed, booking_id)
    return booking_id


def _cancellation(booking_id: str, amount: int) -> BookingCancelledV1:
    return BookingCancelledV1(
        booking_id=booking_id,
        cancelled_by="guest",
        reason="plans_changed",
        policy="flexible@1",
        refund=RefundRequest(
            refund_id=f"ref_cli_{uuid.uuid4().hex}",
            payment_id=checkout_payment_id(booking_id),
            amount=amount,
            currency="usd",
            platform_fee=0,
            host_amount=amount,
            tax=0,
            host_account_id=HOST,
            lines=[RefundLine(code="base", amount=amount)],
        ),
        host_account_id=HOST,
    )


async def _outboxed(pool: asyncpg.Pool, payment_id: str, event_type: str) -> int:
    return await pool.fetchval(
        "SELECT count(*) FROM payments.outbox WHERE key = $1 AND event_type = $2",
        payment_id,
        event_type,
    )


async def test_retry_refund_refunds_a_failed_refund_once_through_stripe(
    payments: PaymentsHarness, sim: httpx.AsyncClient
) -> None:
    booking_id = await _captured_booking(payments, 8_000)
    payment_id = checkout_payment_id(booking_id)
    fail = {"operation": "refund", "count": 10, "status": 503}
    (await sim.post("/_sim/fail_next", json=fail)).raise_for_status()
    request = _cancellation(booking_id, 3_000)
    assert request.refund is not None
    refund_id = request.refund.refund_id
    await payments.consume(request, booking_id)
    [failed] = only(await payments.emitted(payment_id), RefundFailedV1)
    assert failed.refund_id == refund_id
    (await sim.delete("/_sim/failures")).raise_for_status()  # Stripe is back

    done = await run_async(
        [sys.executable, "-m", "payments", "retry-refund", refund_id], env=_env(sim)
    )
    assert done.returncode == 0, done.stderr
    row = json.loads(done.stdout)
    assert (row["refund_id"], row["status"], row["amount"], row["attempts"]) == (
        refund_id,
        "succeeded",
        3_000,
        1,
    )
    intent = (await payments.payment(payment_id))["payment_intent_id"]
    listed = await stripe_get(sim, "/v1/refunds", payment_intent=intent)
    assert [(r["id"], r["amount"]) for r in listed["data"]] == [(row["stripe_refund_id"], 3_000)]
    assert await _outboxed(payments.pool, payment_id, RefundSucceededV1.TYPE) == 1

    again = await run_async(
        [sys.executable, "-m", "payments", "retry-refund", refund_id], env=_env(sim)
    )
    assert again.returncode == 2 and no_traceback(again), again.stderr
    assert len((await stripe_get(sim, "/v1/refunds", payment_intent=intent))["data"]) == 1


@pytest.fixture
async def webhook_client(payments: PaymentsHarness) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(build_runtime(PaymentsSettings(stripe_webhook_secret=WEBHOOK_SECRET)))
    app.state.runtime = SimpleNamespace(db=payments.pool)  # HTTP and database only
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://payments") as client:
        yield client


def _signed(event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event).encode()
    stamp = int(time.time())
    mac = hmac.new(WEBHOOK_SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
    return body, {"Stripe-Signature": f"t={stamp},v1={mac.hexdigest()}"}


async def test_webhook_replay_applies_a_stored_event_again(
    payments: PaymentsHarness, webhook_client: httpx.AsyncClient, sim: httpx.AsyncClient
) -> None:
    booking_id = await _captured_booking(payments, 5_000)
    payment = await payments.payment(checkout_payment_id(booking_id))
    event = {
        "id": f"evt_cli_{uuid.uuid4().hex[:16]}",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": int(time.time()),
        "data": {
            "object": {
                "id": payment["payment_intent_id"],
                "object": "payment_intent",
                "status": "succeeded",
            }
        },
    }
    body, headers = _signed(event)
    stored = await webhook_client.post("/webhooks/stripe", content=body, headers=headers)
    assert stored.status_code == 200 and stored.json()["duplicate"] is False
    async with payments.pool.acquire() as conn:
        while await webhooks.apply_pending(conn):
            pass
    processed = "SELECT processed_at FROM payments.stripe_webhook_events WHERE stripe_event_id = $1"
    assert await payments.pool.fetchval(processed, event["id"]) is not None

    done = await run_async(
        [sys.executable, "-m", "payments", "webhook-replay", event["id"]], env=_env(sim)
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"webhook-replay: {event['id']} queued to be applied again"
    assert await payments.pool.fetchval(processed, event["id"]) is None  # queued again
    async with payments.pool.acquire() as conn:
        assert await webhooks.apply_pending(conn) >= 1  # the worker applies it again
    assert await payments.pool.fetchval(processed, event["id"]) is not None
    after = await payments.payment(payment["payment_id"])
    assert (after["status"], after["stripe_status"]) == ("captured", "succeeded")

    unknown = await run_async(
        [sys.executable, "-m", "payments", "webhook-replay", "evt_cli_unknown"], env=_env(sim)
    )
    assert unknown.returncode == 2 and no_traceback(unknown), unknown.stderr
    assert "no stored event evt_cli_unknown" in unknown.stderr


async def test_transfers_lists_what_a_release_transferred(
    payments: PaymentsHarness, sim: httpx.AsyncClient
) -> None:
    legs = (("acct_1CliLegHostA", 12_000, 1_200, 0), ("acct_1CliLegHostB", 9_000, 900, 0))
    group = await captured_group(payments, legs, START, listing_prefix="lst_cli_")
    payment_id = checkout_payment_id(group.group_id)
    leg = group.legs[0]
    release = PayoutReleasedV1(
        release_id=f"rel_{payment_id}_{leg.booking_id}_1",
        payment_id=payment_id,
        booking_id=leg.booking_id,
        group_id=group.group_id,
        host_account_id=leg.host_account_id,
        amount=leg.amount - leg.platform_fee,
        currency="usd",
    )
    env = make_envelope(
        release, key=release.release_id, producer="finance", correlation_id=uuid.uuid4()
    )
    await payments.deliver(release, release.release_id, env)

    done = await run_async(
        [sys.executable, "-m", "payments", "transfers", payment_id], env=_env(sim)
    )
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    assert listed["payment_id"] == payment_id and listed["reversals"] == []
    [transfer] = listed["transfers"]
    assert (transfer["release_id"], transfer["status"], transfer["amount"]) == (
        release.release_id,
        "created",
        10_800,
    )
    [made] = (await stripe_get(sim, "/v1/transfers", transfer_group=group.group_id))["data"]
    assert transfer["transfer_id"] == made["id"]
