"""The facts evidence is assembled from, consumed in any order and any number of times: a group
checkout's legs, cancellations, refunds, amendments and claims end up in the evidence the same."""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest

from eventkit.db import create_pool
from marketplace_contracts import EventModel
from marketplace_contracts.events import booking as b
from marketplace_contracts.events import payments as p
from marketplace_contracts.events import payments_disputes as d
from tests.conftest import service_dsn
from tests.support.disputes_harness import NOW, DisputesHarness, ids, opened

pytestmark = pytest.mark.integration


@pytest.fixture
async def pool(pg_ready: None) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(service_dsn("disputes"), min_size=1, max_size=4)
    assert pool is not None
    yield pool
    await pool.close()


def group_facts(group_id: str, payment_id: str) -> tuple[list[str], list[EventModel]]:
    legs = [f"bk_{i}_{group_id}" for i in range(2)]
    checkout = b.GroupCheckoutRequestedV1(
        group_id=group_id,
        guest_id="guest-g",
        amount=32_000,
        currency="usd",
        platform_fee=4_800,
        payment_method="pm_card_visa",
        client_ip="203.0.113.200",
        user_agent="Chrome/131",
        legs=[
            b.GroupLeg(
                booking_id=leg,
                listing_id=f"lst_{i}",
                host_id=f"h{i}",
                host_account_id=f"acct_{i}",
                starts_at=NOW + timedelta(days=i),
                ends_at=NOW + timedelta(days=i, hours=2),
                amount=16_000,
                platform_fee=2_400,
            )
            for i, leg in enumerate(legs)
        ],
    )
    refund = p.RefundSucceededV1(
        refund_id=f"rf_{legs[1]}_cancel",
        payment_id=payment_id,
        booking_id=legs[1],
        group_id=group_id,
        amount=8_000,
        currency="usd",
        platform_fee=1_200,
        host_amount=6_800,
        host_account_id="acct_1",
        method="refund",
        cause="group_leg_cancelled",
    )
    cancelled = b.BookingCancelledV1(
        booking_id=legs[1],
        group_id=group_id,
        cancelled_by="guest",
        reason="plans changed",
        policy="moderate@3",
        host_account_id="acct_1",
    )
    amendment = b.AmendmentDecidedV1(
        amendment_id=f"am_{legs[0]}",
        booking_id=legs[0],
        outcome="applied",
        delta=2_000,
        currency="usd",
    )
    filed = b.ClaimFiledV1(
        claim_id=f"clm_{legs[0]}",
        booking_id=legs[0],
        host_id="h0",
        guest_id="guest-g",
        amount=5_000,
        currency="usd",
        description="broken lamp",
        evidence_count=2,
        respond_by=NOW + timedelta(days=3),
    )
    decided = b.ClaimDecidedV1(
        claim_id=f"clm_{legs[0]}",
        booking_id=legs[0],
        outcome="accepted",
        amount=5_000,
        currency="usd",
        decided_by="guest",
    )
    confirmed = b.GroupConfirmedV1(
        group_id=group_id, payment_id=payment_id, booking_ids=legs, amount=32_000, currency="usd"
    )
    return legs, [checkout, confirmed, cancelled, refund, amendment, filed, decided]


async def evidence_after(pool: asyncpg.Pool, seed: int) -> dict[str, str]:
    harness = DisputesHarness(pool)
    dispute_id, payment_id = ids()
    group_id = f"grp_{payment_id}"
    legs, made = group_facts(group_id, payment_id)
    order = made * 2
    random.Random(seed).shuffle(order)
    for fact in order:
        assert await harness.deliver(fact, group_id) == "handled"
    legs_opened = [
        d.DisputedLeg(
            booking_id=leg,
            host_account_id=f"acct_{i}",
            amount=16_000,
            platform_fee=2_400,
            host_amount=13_600,
        )
        for i, leg in enumerate(legs)
    ]
    event = opened(
        dispute_id,
        payment_id,
        booking_id=group_id,
        group_id=group_id,
        guest_id="guest-g",
        legs=legs_opened,
        reason="credit_not_processed",
    )
    await harness.deliver(event, payment_id)
    async with pool.acquire() as conn, conn.transaction():
        await harness.handlers.cases.submit(harness.handlers.uow(conn), dispute_id, "trust-1")
    request = (await harness.emitted(dispute_id))[-1]
    text: dict[str, str] = request.text  # type: ignore[attr-defined]
    # The ids and the envelopes' times differ between runs; the evidence otherwise must not.
    return {
        k: re.sub(
            r"\d{4}-\d\d-\d\dT[\d:.+]+", "T", v.replace(group_id, "G").replace(payment_id, "P")
        )
        for k, v in text.items()
    }


async def test_group_facts_in_any_order_and_twice_give_the_same_evidence(
    pool: asyncpg.Pool,
) -> None:
    first = await evidence_after(pool, seed=1)
    assert first == await evidence_after(pool, seed=7)
    assert first["customer_purchase_ip"] == "203.0.113.200"
    assert first["service_date"] == NOW.date().isoformat()
    assert "8.00 USD" not in first["refund_refusal_explanation"]
    assert "80.00 USD (group_leg_cancelled)" in first["refund_refusal_explanation"]
    assert (
        "cancelled by the guest at T under policy moderate@3 (reason: plans changed)"
        in first["cancellation_rebuttal"]
    )
    assert "was not cancelled (status confirmed)" in first["cancellation_rebuttal"]


async def test_the_activity_log_lists_amendments_and_claims(pool: asyncpg.Pool) -> None:
    harness = DisputesHarness(pool)
    dispute_id, payment_id = ids()
    group_id = f"grp_{payment_id}"
    legs, made = group_facts(group_id, payment_id)
    rows = "SELECT * FROM disputes.bookings WHERE booking_id = ANY($1::text[]) ORDER BY booking_id"
    for fact in made:
        await harness.deliver(fact, group_id)
    first = [dict(r) for r in await pool.fetch(rows, legs)]
    for fact in reversed(made):  # each fact again, as new envelopes with later times
        await harness.deliver(fact, group_id)
    assert [dict(r) for r in await pool.fetch(rows, legs)] == first
    assert [r["status"] for r in first] == ["confirmed", "cancelled"]
    leg = d.DisputedLeg(
        booking_id=legs[0], host_account_id="acct_0", amount=16_000, host_amount=13_600
    )
    await harness.deliver(
        opened(dispute_id, payment_id, legs=[leg], reason="product_unacceptable"), payment_id
    )
    async with pool.acquire() as conn, conn.transaction():
        await harness.handlers.cases.submit(harness.handlers.uow(conn), dispute_id, "trust-1")
    log = (await harness.emitted(dispute_id))[-1].text["access_activity_log"]  # type: ignore[attr-defined]
    assert "amendment applied" in log
    assert "damage claim filed" in log and "damage claim accepted" in log
    assert "Chrome/131" in log
