"""A case's deadlines on the real database: reminders before due_by, and the auto-submit that
fires once, with the evidence assembled from the booking facts, even across a restart."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest

from disputes.domain.errors import DisputeError
from domainkit.transitions import IllegalTransition
from eventkit.db import create_pool
from marketplace_contracts.events import booking as b
from marketplace_contracts.events import disputes as out
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


async def _of(harness: DisputesHarness, dispute_id: str, kind: type) -> list:  # type: ignore[type-arg]
    return [e for e in await harness.emitted(dispute_id) if isinstance(e, kind)]


async def signed_booking(harness: DisputesHarness, booking_id: str, payment_id: str) -> None:
    """A single booking with signed documents, its facts delivered signatures first."""
    signatures = b.SignaturesCompletedV1(
        booking_id=booking_id,
        guest_id="guest-1",
        provider="builtin",
        documents=[
            b.SignedDocument(
                document_id="doc_1",
                title="Rental agreement",
                sha256="c" * 64,
                signer_id="guest-1",
                signed_at=NOW - timedelta(days=9),
                ip_address="198.51.100.4",
                user_agent="Safari/17",
            )
        ],
    )
    checkout = b.CheckoutRequestedV1(
        booking_id=booking_id,
        guest_id="guest-1",
        listing_id="lst_boat_05",
        host_id="host-5",
        host_account_id="acct_H",
        starts_at=NOW - timedelta(days=5),
        ends_at=NOW - timedelta(days=5, hours=-3),
        amount=30_000,
        currency="usd",
        platform_fee=4_500,
        payment_method="pm_card_visa",
        client_ip="203.0.113.9",
        user_agent="Firefox/120",
        quote_lines=[b.QuoteLine(code="base", amount=30_000)],
    )
    confirmed = b.BookingConfirmedV1(
        booking_id=booking_id, payment_id=payment_id, amount=30_000, currency="usd"
    )
    completed = b.BookingCompletedV1(
        booking_id=booking_id, host_id="host-5", ended_at=NOW - timedelta(days=4)
    )
    for fact in (signatures, completed, confirmed, checkout, checkout):
        assert await harness.deliver(fact, booking_id) == "handled"


async def test_reminders_fire_once_each_before_due_by_while_nobody_acts(pool: asyncpg.Pool) -> None:
    harness = DisputesHarness(pool, auto_submit_margin_seconds=3600)
    dispute_id, payment_id = ids()
    await harness.deliver(opened(dispute_id, payment_id), payment_id)

    await harness.fire(timedelta(days=7) - timedelta(hours=72, seconds=1))
    assert await _of(harness, dispute_id, out.DeadlineApproachingV1) == []
    await harness.fire(timedelta(seconds=2))
    await harness.fire(timedelta(hours=1))
    [first] = await _of(harness, dispute_id, out.DeadlineApproachingV1)
    assert (first.hours_before, first.due_by, first.evidence_submitted) == (
        72,
        NOW + timedelta(days=7),
        False,
    )
    await harness.fire(timedelta(hours=48))
    reminders = await _of(harness, dispute_id, out.DeadlineApproachingV1)
    assert [r.hours_before for r in reminders] == [72, 24]


async def test_auto_submit_fires_once_with_the_assembled_evidence(pool: asyncpg.Pool) -> None:
    harness = DisputesHarness(pool)
    dispute_id, payment_id = ids()
    booking_id = f"bk_{payment_id}"
    await signed_booking(harness, booking_id, payment_id)
    await harness.deliver(
        opened(
            dispute_id, payment_id, booking_id=booking_id, legs=[], reason="product_not_received"
        ),
        payment_id,
    )

    await harness.fire(timedelta(days=6) - timedelta(seconds=1))  # the margin is 24 h
    assert await _of(harness, dispute_id, out.EvidenceSubmissionRequestedV1) == []
    await harness.fire(timedelta(seconds=1))
    await harness.fire(timedelta(hours=1))
    [request] = await _of(harness, dispute_id, out.EvidenceSubmissionRequestedV1)
    assert (request.request_id, request.auto, request.actor) == (
        f"dsr_auto_{dispute_id}",
        True,
        "system:auto_submit",
    )
    log = request.text["access_activity_log"]
    assert "Rental agreement" in log and "198.51.100.4" in log and "c" * 64 in log
    assert request.text["customer_purchase_ip"] == "203.0.113.9"
    assert request.text["service_date"] == (NOW - timedelta(days=5)).date().isoformat()
    [pdf] = request.files
    assert (pdf.field, pdf.content_type) == ("service_documentation", "application/pdf")
    assert base64.b64decode(pdf.content_b64).startswith(b"%PDF-")
    case = await harness.case(dispute_id)
    assert case["status"] == "submitting"
    assert (await harness.history(dispute_id))[-1] == (
        "system:auto_submit",
        "submit",
        "needs_response",
        "submitting",
    )


async def test_a_restart_neither_loses_nor_repeats_the_auto_submit(pool: asyncpg.Pool) -> None:
    before = DisputesHarness(pool)
    dispute_id, payment_id = ids()
    await before.deliver(opened(dispute_id, payment_id), payment_id)
    await before.fire(timedelta(days=1))  # nothing due yet; then the service stops

    after = DisputesHarness(pool)  # a new process: new handlers, scheduler and clock
    after.clock.at = before.clock.at + timedelta(days=5)
    await after.fire()
    again = DisputesHarness(pool)  # and another restart once it fired
    again.clock.at = after.clock.at + timedelta(days=1)
    await again.fire()
    await after.fire(timedelta(hours=2))  # the old process polls again: nothing more
    requests = await _of(again, dispute_id, out.EvidenceSubmissionRequestedV1)
    assert [r.request_id for r in requests] == [f"dsr_auto_{dispute_id}"]
    jobs = await again.jobs(dispute_id)
    assert jobs[f"auto_submit:{dispute_id}"] == "done"


async def test_no_auto_submit_after_staff_submitted(pool: asyncpg.Pool) -> None:
    harness = DisputesHarness(pool)
    dispute_id, payment_id = ids()
    await harness.deliver(opened(dispute_id, payment_id), payment_id)
    async with pool.acquire() as conn, conn.transaction():
        await harness.handlers.cases.submit(harness.handlers.uow(conn), dispute_id, "trust-7")
    await harness.fire(timedelta(days=7) - timedelta(hours=1))  # both reminders, before due_by
    requests = await _of(harness, dispute_id, out.EvidenceSubmissionRequestedV1)
    assert [(r.actor, r.auto) for r in requests] == [("trust-7", False)]
    reminders = await _of(harness, dispute_id, out.DeadlineApproachingV1)
    assert [(r.hours_before, r.status, r.evidence_submitted) for r in reminders] == [
        (72, "submitting", True),
        (24, "submitting", True),
    ]


async def test_a_moved_deadline_moves_the_timers(pool: asyncpg.Pool) -> None:
    harness = DisputesHarness(pool)
    dispute_id, payment_id = ids()
    await harness.deliver(opened(dispute_id, payment_id), payment_id)
    later = NOW + timedelta(days=14)
    moved = d.DisputeUpdatedV1(
        dispute_id=dispute_id,
        processor_dispute_id="du_x",
        payment_id=payment_id,
        booking_id="x",
        status="needs_response",
        previous_status="needs_response",
        due_by=later,
    )
    await harness.deliver(moved, payment_id)
    await harness.fire(timedelta(days=7))
    assert await _of(harness, dispute_id, out.EvidenceSubmissionRequestedV1) == []
    due = await pool.fetchval(
        "SELECT due_at FROM disputes.scheduled_jobs WHERE kind = 'auto_submit' AND subject_id = $1",
        dispute_id,
    )
    assert due == later - timedelta(days=1)


async def test_the_guests_earlier_undisputed_bookings_are_evidence(pool: asyncpg.Pool) -> None:
    harness = DisputesHarness(pool)
    dispute_id, payment_id = ids()
    guest = f"guest-{payment_id}"
    earlier = f"bk_prior_{payment_id}"
    for booking_id, starts in (
        (earlier, NOW - timedelta(days=60)),
        (f"bk_a_{payment_id}", NOW - timedelta(days=3)),
    ):
        checkout = b.CheckoutRequestedV1(
            booking_id=booking_id,
            guest_id=guest,
            listing_id="lst_loft_01",
            host_id="h",
            host_account_id="acct_A",
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            amount=9_000,
            currency="usd",
            platform_fee=900,
            payment_method="pm_card_visa",
            client_ip="203.0.113.77",
        )
        await harness.deliver(checkout, booking_id)
        await harness.deliver(
            b.BookingConfirmedV1(
                booking_id=booking_id, payment_id=f"pay_{booking_id}", amount=9_000, currency="usd"
            ),
            booking_id,
        )
    capture = p.PaymentCapturedV1(
        payment_id=payment_id,
        booking_id=f"bk_a_{payment_id}",
        payment_intent_id="pi_1",
        charge_id="ch_1",
        amount=9_000,
        currency="usd",
        platform_fee=900,
        host_amount=8_100,
        host_account_id="acct_A",
    )
    await harness.deliver(capture, payment_id)
    # payments did not name the guest: the disputed booking's checkout does
    await harness.deliver(
        opened(dispute_id, payment_id, guest_id=None, legs=[], amount=9_000), payment_id
    )
    async with pool.acquire() as conn, conn.transaction():
        await harness.handlers.cases.submit(harness.handlers.uow(conn), dispute_id, "trust-1")
    [request] = await _of(harness, dispute_id, out.EvidenceSubmissionRequestedV1)
    assert earlier in request.text["uncategorized_text"]
    assert request.text["customer_purchase_ip"] == "203.0.113.77"
    legs = await pool.fetch("SELECT * FROM disputes.case_legs WHERE dispute_id = $1", dispute_id)
    assert [(leg["booking_id"], leg["host_amount"]) for leg in legs] == [
        (f"bk_a_{payment_id}", 8_100)
    ]
    [hold] = await _of(harness, dispute_id, out.PayoutHoldChangedV1)
    assert hold.charge_id == "ch_1"


async def test_staff_and_the_auto_submit_at_the_same_moment_submit_once(pool: asyncpg.Pool) -> None:
    harness = DisputesHarness(pool)
    dispute_id, payment_id = ids()
    await harness.deliver(opened(dispute_id, payment_id), payment_id)
    harness.clock.advance(timedelta(days=6))

    async def staff() -> str:
        try:
            async with pool.acquire() as conn, conn.transaction():
                return await harness.handlers.cases.submit(
                    harness.handlers.uow(conn), dispute_id, "trust-1"
                )
        except (IllegalTransition, DisputeError) as refused:
            return type(refused).__name__

    outcomes = await asyncio.gather(staff(), harness.timers.run_due(pool))
    requests = await _of(harness, dispute_id, out.EvidenceSubmissionRequestedV1)
    assert len(requests) == 1
    jobs = await harness.jobs(dispute_id)
    assert jobs[f"auto_submit:{dispute_id}"] in ("done", "cancelled")
    assert outcomes[0] in ("IllegalTransition", requests[0].request_id)


async def test_a_failed_auto_submit_is_not_armed_again(pool: asyncpg.Pool) -> None:
    harness = DisputesHarness(pool)
    dispute_id, payment_id = ids()
    await harness.deliver(opened(dispute_id, payment_id), payment_id)
    await harness.fire(timedelta(days=6))
    failed = d.DisputeActionFailedV1(
        request_id=f"dsr_auto_{dispute_id}",
        dispute_id=dispute_id,
        payment_id=payment_id,
        action="submit",
        code="processor_refused",
        message="unreadable file",
    )
    await harness.deliver(failed, payment_id)
    await harness.fire(timedelta(hours=1))
    requests = await _of(harness, dispute_id, out.EvidenceSubmissionRequestedV1)
    assert [r.request_id for r in requests] == [f"dsr_auto_{dispute_id}"]
    case = await harness.case(dispute_id)
    assert case["status"] == "needs_response"  # for staff, first in the queue
    assert (await harness.jobs(dispute_id))[f"auto_submit:{dispute_id}"] == "done"
