"""The disputes service consuming payments' dispute facts on the real database: a case opens
and holds the payout, resolves once under the liability policy, and duplicated or
out-of-order facts change nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest

from disputes.domain.liability import POLICY_VERSION
from eventkit.db import create_pool
from marketplace_contracts.events import disputes as out
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


@pytest.fixture
def harness(pool: asyncpg.Pool) -> DisputesHarness:
    return DisputesHarness(pool)


def closed(dispute_id: str, payment_id: str, status: str, **kw: object) -> d.DisputeClosedV1:
    fields = {
        "dispute_id": dispute_id,
        "processor_dispute_id": "du_x",
        "payment_id": payment_id,
        "booking_id": f"grp_{payment_id}",
        "status": status,
        "amount": 32_000,
        "currency": "usd",
        "reason": "fraudulent",
        "closed_at": NOW + timedelta(days=20),
    }
    return d.DisputeClosedV1(**{**fields, **kw})  # type: ignore[arg-type]


def withdrawn(dispute_id: str, payment_id: str, txn: str) -> d.DisputeFundsWithdrawnV1:
    return d.DisputeFundsWithdrawnV1(
        dispute_id=dispute_id,
        processor_dispute_id="du_x",
        payment_id=payment_id,
        booking_id=f"grp_{payment_id}",
        amount=32_000,
        fee=1_500,
        currency="usd",
        balance_transaction_id=txn,
    )


def updated(dispute_id: str, payment_id: str, status: str, previous: str) -> d.DisputeUpdatedV1:
    return d.DisputeUpdatedV1(
        dispute_id=dispute_id,
        processor_dispute_id="du_x",
        payment_id=payment_id,
        booking_id=f"grp_{payment_id}",
        status=status,
        previous_status=previous,
    )


async def test_a_dispute_opens_a_case_that_holds_the_payout_and_schedules_its_deadlines(
    harness: DisputesHarness,
) -> None:
    dispute_id, payment_id = ids()
    assert await harness.deliver(opened(dispute_id, payment_id), payment_id) == "handled"

    case = await harness.case(dispute_id)
    assert (case["status"], case["amount"], case["due_by"]) == (
        "needs_response",
        32_000,
        NOW + timedelta(days=7),
    )
    [hold] = await harness.emitted(dispute_id)
    assert isinstance(hold, out.PayoutHoldChangedV1)
    assert (hold.held, hold.payment_id, hold.booking_id, hold.reason) == (
        True,
        payment_id,
        None,
        "fraudulent",
    )
    assert await harness.jobs(dispute_id) == {
        f"deadline_reminder:{dispute_id}:72": "pending",
        f"deadline_reminder:{dispute_id}:24": "pending",
        f"auto_submit:{dispute_id}": "pending",
    }
    assert await harness.history(dispute_id) == [("processor", "opened", None, "needs_response")]


async def test_a_lost_fraud_dispute_resolves_once_with_the_policys_shares(
    harness: DisputesHarness,
) -> None:
    dispute_id, payment_id = ids()
    await harness.deliver(opened(dispute_id, payment_id), payment_id)
    await harness.deliver(withdrawn(dispute_id, payment_id, f"txn_{dispute_id}"), payment_id)
    await harness.deliver(closed(dispute_id, payment_id, "lost"), payment_id)

    hold, resolved, released = await harness.emitted(dispute_id)
    assert isinstance(hold, out.PayoutHoldChangedV1) and hold.held
    assert isinstance(resolved, out.DisputeResolvedV1)
    assert (resolved.outcome, resolved.rule, resolved.policy_version) == (
        "lost",
        "fraud_shared",
        POLICY_VERSION,
    )
    assert {(s.party, s.host_account_id, s.amount) for s in resolved.shares} == {
        ("platform", None, 4_800),
        ("host", "acct_A", 17_000),
        ("host", "acct_B", 10_200),
    }
    assert sum(s.amount for s in resolved.shares) == resolved.amount == 32_000
    assert isinstance(released, out.PayoutHoldChangedV1) and not released.held
    case = await harness.case(dispute_id)
    assert (case["status"], case["outcome"]) == ("lost", "lost")
    assert await harness.jobs(dispute_id) == dict.fromkeys(
        await harness.jobs(dispute_id), "cancelled"
    )


async def test_duplicated_and_out_of_order_facts_change_nothing(harness: DisputesHarness) -> None:
    dispute_id, payment_id = ids()
    facts = [
        opened(dispute_id, payment_id),
        withdrawn(dispute_id, payment_id, f"txn_{dispute_id}"),
        updated(dispute_id, payment_id, "under_review", "needs_response"),
        closed(dispute_id, payment_id, "won"),
    ]
    for fact in facts:
        await harness.deliver(fact, payment_id)
    before = (
        dict(await harness.case(dispute_id)),
        await harness.emitted(dispute_id),
        await harness.history(dispute_id),
        await harness.jobs(dispute_id),
    )
    for fact in [*reversed(facts), *facts]:  # each again as a new event, backwards then forwards
        assert await harness.deliver(fact, payment_id) == "handled"
    stale = updated(dispute_id, payment_id, "needs_response", "warning_needs_response")
    assert await harness.deliver(stale, payment_id) == "handled"
    env = harness.envelope(facts[1], payment_id)
    assert [await harness.deliver(env, payment_id) for _ in range(2)] == ["handled", "duplicate"]

    after = (
        dict(await harness.case(dispute_id)),
        await harness.emitted(dispute_id),
        await harness.history(dispute_id),
        await harness.jobs(dispute_id),
    )
    assert after == before
    assert before[0]["status"] == "won"
    money = await harness.pool.fetchval(
        "SELECT count(*) FROM disputes.dispute_money WHERE dispute_id = $1", dispute_id
    )
    assert money == 1


async def test_a_fact_for_a_case_not_opened_is_retried_then_dead_lettered(
    harness: DisputesHarness,
) -> None:
    dispute_id, payment_id = ids()
    outcome = await harness.deliver(closed(dispute_id, payment_id, "won"), payment_id)
    assert outcome == "dead_lettered"
    [(_, error, attempts)] = harness.dead_letters.sent
    assert "no case" in str(error) and attempts == 2
    assert await harness.emitted(dispute_id) == []


async def test_a_dispute_of_nothing_is_refused_at_once_with_its_reason(
    harness: DisputesHarness,
) -> None:
    """Not a check violation retried until the dead letters: refused on its first attempt."""
    dispute_id, payment_id = ids()
    outcome = await harness.deliver(opened(dispute_id, payment_id, amount=0), payment_id)
    assert outcome == "dead_lettered"
    [(_, error, attempts)] = harness.dead_letters.sent
    assert str(error).startswith("invalid: dispute") and attempts == 1
    gone = await harness.pool.fetchval(
        "SELECT count(*) FROM disputes.cases WHERE dispute_id = $1", dispute_id
    )
    assert gone == 0 and await harness.emitted(dispute_id) == []


async def test_accepting_asks_payments_then_the_loss_is_conceded(
    harness: DisputesHarness,
) -> None:
    dispute_id, payment_id = ids()
    await harness.deliver(opened(dispute_id, payment_id, reason="product_not_received"), payment_id)
    async with harness.pool.acquire() as conn, conn.transaction():
        uow = harness.handlers.uow(conn)
        request_id = await harness.handlers.cases.accept(uow, dispute_id, "trust-1")
    asked = (await harness.emitted(dispute_id))[-1]
    assert isinstance(asked, out.DisputeAcceptanceRequestedV1)
    assert (asked.request_id, asked.actor) == (request_id, "trust-1")
    confirm = d.DisputeAcceptedV1(
        request_id=request_id,
        dispute_id=dispute_id,
        processor_dispute_id="du_x",
        payment_id=payment_id,
        status="lost",
    )
    await harness.deliver(confirm, payment_id)
    await harness.deliver(
        closed(dispute_id, payment_id, "lost", accepted=True, reason="product_not_received"),
        payment_id,
    )

    resolved = (await harness.emitted(dispute_id))[-2]
    assert isinstance(resolved, out.DisputeResolvedV1)
    assert (resolved.outcome, resolved.rule) == ("accepted", "platform_service")
    assert [(s.party, s.amount) for s in resolved.shares] == [("platform", 32_000)]
    assert [h[1:] for h in await harness.history(dispute_id)] == [
        ("opened", None, "needs_response"),
        ("accept", "needs_response", "accepting"),
        ("acceptance_confirmed", "accepting", "accepted"),
        ("resolved", "accepted", "accepted"),
    ]


async def test_a_failed_submission_returns_the_case_to_needs_response(
    harness: DisputesHarness,
) -> None:
    dispute_id, payment_id = ids()
    await harness.deliver(opened(dispute_id, payment_id), payment_id)
    async with harness.pool.acquire() as conn, conn.transaction():
        request_id = await harness.handlers.cases.submit(
            harness.handlers.uow(conn), dispute_id, "trust-1"
        )
    assert await harness.jobs(dispute_id) == {
        f"deadline_reminder:{dispute_id}:72": "pending",  # reminders keep going, evidence in
        f"deadline_reminder:{dispute_id}:24": "pending",
        f"auto_submit:{dispute_id}": "cancelled",
    }
    failed = d.DisputeActionFailedV1(
        request_id=request_id,
        dispute_id=dispute_id,
        payment_id=payment_id,
        action="submit",
        code="processor_refused",
        message="file too large",
    )
    for _ in range(2):
        await harness.deliver(failed, payment_id)

    case = await harness.case(dispute_id)
    assert case["status"] == "needs_response"
    assert (await harness.history(dispute_id))[-1] == (
        "payments",
        "submission_failed",
        "submitting",
        "needs_response",
    )
    jobs = await harness.jobs(dispute_id)
    assert jobs[f"deadline_reminder:{dispute_id}:24"] == "pending"
    assert jobs[f"auto_submit:{dispute_id}"] == "pending"  # staff's failed: the timer stands
    outcome = await harness.pool.fetchval(
        "SELECT outcome FROM disputes.submissions WHERE request_id = $1", request_id
    )
    assert outcome == "failed:processor_refused"


async def test_an_inquiry_escalates_and_its_evidence_submission_is_answered(
    harness: DisputesHarness,
) -> None:
    dispute_id, payment_id = ids()
    await harness.deliver(
        opened(dispute_id, payment_id, status="warning_needs_response", inquiry=True), payment_id
    )
    await harness.deliver(
        updated(dispute_id, payment_id, "needs_response", "warning_needs_response"), payment_id
    )
    async with harness.pool.acquire() as conn, conn.transaction():
        request_id = await harness.handlers.cases.submit(
            harness.handlers.uow(conn), dispute_id, "trust-1"
        )
    submitted = d.DisputeEvidenceSubmittedV1(
        request_id=request_id,
        dispute_id=dispute_id,
        processor_dispute_id="du_x",
        payment_id=payment_id,
        fields=["customer_purchase_ip"],
        file_ids=["file_1"],
        status="under_review",
        submitted_at=NOW,
    )
    await harness.deliver(submitted, payment_id)
    await harness.deliver(
        updated(dispute_id, payment_id, "under_review", "needs_response"), payment_id
    )
    case = await harness.case(dispute_id)
    assert (case["status"], case["inquiry"]) == ("under_review", False)
    assert [h[1] for h in await harness.history(dispute_id)] == [
        "opened",
        "processor_needs_response",
        "submit",
        "processor_under_review",
    ]
    detail = await harness.pool.fetchval(
        "SELECT detail FROM disputes.case_history WHERE dispute_id = $1 ORDER BY id DESC LIMIT 1",
        dispute_id,
    )
    assert detail["file_ids"] == ["file_1"]


async def test_the_history_is_append_only(harness: DisputesHarness) -> None:
    dispute_id, payment_id = ids()
    await harness.deliver(opened(dispute_id, payment_id), payment_id)
    for statement in (
        "UPDATE disputes.case_history SET actor = 'x'",
        "DELETE FROM disputes.case_history",
    ):
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await harness.pool.execute(f"{statement} WHERE dispute_id = $1", dispute_id)
