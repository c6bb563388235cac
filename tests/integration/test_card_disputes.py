"""Card disputes in payments, on the real database against the in-process Stripe simulator.

Intake: the simulator's dispute webhooks (opened by its control, decided by its resolve control)
are stored and applied as the webhook endpoint and worker do (`webhooks.store_event`,
`apply_pending`), duplicated, in reverse order and replayed by ops; each `payments.dispute_*`
fact must come out once. Requests from disputes (`evidence_submission_requested`,
`dispute_acceptance_requested`) and finance (`transfer_reversal_requested`) go through the
consumer's MessageProcessor with a private inbox and outbox (`payments_harness`).
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from disputes.domain import liability
from marketplace_contracts import Envelope, EventModel, decode_data, make_envelope
from marketplace_contracts.events.booking import (
    BookingCancelledV1,
    BookingConfirmedV1,
    CheckoutRequestedV1,
    RefundLine,
    RefundRequest,
)
from marketplace_contracts.events.disputes import (
    DisputeAcceptanceRequestedV1,
    EvidenceFile,
    EvidenceSubmissionRequestedV1,
)
from marketplace_contracts.events.finance import PayoutReleasedV1, TransferReversalRequestedV1
from marketplace_contracts.events.payments import (
    RefundFailedV1,
    TransferReversalFailedV1,
    TransferReversedV1,
)
from marketplace_contracts.events.payments_disputes import (
    DisputeAcceptedV1,
    DisputeActionFailedV1,
    DisputeClosedV1,
    DisputeEvidenceSubmittedV1,
    DisputeFundsReinstatedV1,
    DisputeFundsWithdrawnV1,
    DisputeOpenedV1,
    DisputeUpdatedV1,
    EarlyFraudWarningReceivedV1,
)
from payments.domain.ids import checkout_payment_id
from payments.service_layer import webhooks
from tests.integration.test_refunds import leg_cancelled
from tests.support.payments_harness import (
    PaymentsHarness,
    captured_group,
    payments_harness,
    stripe_get,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning"),
]

START = datetime(2034, 7, 1, 15, tzinfo=UTC)
HOST = "acct_1DisputeHost"
AMOUNT, FEE, TAX = 12_000, 1_800, 0
PDF = b"%PDF-1.4\n% evidence summary\n%%EOF\n"
DISPUTE_FACTS = (
    DisputeOpenedV1,
    DisputeUpdatedV1,
    DisputeFundsWithdrawnV1,
    DisputeFundsReinstatedV1,
    DisputeClosedV1,
)


@pytest.fixture
async def payments(pg_ready: None, sim: httpx.AsyncClient) -> AsyncIterator[PaymentsHarness]:
    async with payments_harness(str(sim.base_url)) as harness:
        yield harness


async def booked(payments: PaymentsHarness) -> str:
    """A card booking checked out, confirmed and captured; its payment id."""
    booking_id = str(uuid.uuid4())
    payments.subjects.append(booking_id)
    request = CheckoutRequestedV1(
        booking_id=booking_id,
        guest_id=f"guest-{uuid.uuid4().hex[:8]}",
        listing_id="lst_dispute",
        host_id="host-d",
        host_account_id=HOST,
        starts_at=START,
        ends_at=START + timedelta(hours=2),
        amount=AMOUNT,
        currency="usd",
        platform_fee=FEE,
        tax=TAX,
        payment_method="pm_card_visa",
    )
    await payments.deliver(request, booking_id)
    payment_id = checkout_payment_id(booking_id)
    confirmed = BookingConfirmedV1(
        booking_id=booking_id, payment_id=payment_id, amount=AMOUNT, currency="usd"
    )
    await payments.deliver(confirmed, booking_id)
    assert (await payments.payment(payment_id))["status"] == "captured"
    return payment_id


async def stripe_events(sim: httpx.AsyncClient, dispute_id: str) -> list[dict[str, Any]]:
    """Every webhook of the dispute so far, oldest first."""
    listed = await stripe_get(sim, "/v1/events", limit="100")
    return [e for e in reversed(listed["data"]) if e["data"]["object"].get("id") == dispute_id]


async def deliver(pool: asyncpg.Pool, events: list[dict[str, Any]]) -> None:
    """What the webhook endpoint and the worker do: store each event once, apply the new."""
    async with pool.acquire() as conn:
        for event in events:
            await webhooks.store_event(conn, event)
        while await webhooks.apply_pending(conn):
            pass


async def replay_all(pool: asyncpg.Pool, events: list[dict[str, Any]]) -> None:
    """Ops have every event applied again (`python -m payments webhook-replay`)."""
    async with pool.acquire() as conn:
        for event in events:
            assert await webhooks.replay(conn, event["id"])
        while await webhooks.apply_pending(conn):
            pass


async def published(pool: asyncpg.Pool, payment_id: str) -> list[EventModel]:
    """What the webhook worker wrote to payments' own outbox for the payment."""
    rows = await pool.fetch(
        "SELECT payload FROM payments.outbox WHERE key = $1 ORDER BY id", payment_id
    )
    return [decode_data(Envelope.from_bytes(r["payload"])) for r in rows]


def of(events: list[EventModel], *kinds: type[EventModel]) -> list[Any]:
    return [e for e in events if isinstance(e, kinds)]


async def open_dispute(
    sim: httpx.AsyncClient, payments: PaymentsHarness, payment_id: str, **spec: Any
) -> dict[str, Any]:
    charge = (await payments.payment(payment_id))["charge_id"]
    response = await sim.post(f"/_sim/charges/{charge}/dispute", json=spec)
    response.raise_for_status()
    opened: dict[str, Any] = response.json()
    return opened


def envelope(event: EventModel, key: str, producer: str) -> Envelope:
    env = make_envelope(event, key=key, producer=producer, correlation_id=uuid.uuid4())
    return Envelope.from_bytes(env.to_bytes())


# -- intake ---------------------------------------------------------------------------------
async def test_webhooks_duplicated_reversed_and_replayed_emit_each_fact_once(
    payments: PaymentsHarness, sim: httpx.AsyncClient
) -> None:
    payment_id = await booked(payments)
    du = await open_dispute(sim, payments, payment_id, reason="fraudulent")
    (await sim.post(f"/_sim/disputes/{du['id']}/resolve", json={"won": True})).raise_for_status()
    events = await stripe_events(sim, du["id"])
    assert [e["type"] for e in events] == [
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.closed",
        "charge.dispute.funds_reinstated",
    ]
    await deliver(payments.pool, list(reversed(events)) + events)  # newest first, then again
    await replay_all(payments.pool, events)

    facts = of(await published(payments.pool, payment_id), *DISPUTE_FACTS)
    assert [type(f) for f in facts] == [
        DisputeOpenedV1,
        DisputeFundsWithdrawnV1,
        DisputeFundsReinstatedV1,
        DisputeClosedV1,
    ]
    opened, withdrawn, reinstated, closed = facts
    dispute_id = "dsp_" + du["id"].removeprefix("du_")
    assert {f.dispute_id for f in facts} == {dispute_id}
    assert (opened.status, opened.reason, opened.amount, opened.inquiry) == (
        "needs_response",
        "fraudulent",
        AMOUNT,
        False,
    )
    assert opened.due_by == datetime.fromtimestamp(du["evidence_details"]["due_by"], UTC)
    assert opened.purpose == "checkout" and opened.three_d_secure is False
    [leg] = opened.legs
    assert (leg.host_account_id, leg.amount, leg.platform_fee, leg.host_amount) == (
        HOST,
        AMOUNT,
        FEE,
        AMOUNT - FEE,
    )
    assert (withdrawn.amount, withdrawn.fee) == (AMOUNT, 1_500)
    assert (reinstated.amount, reinstated.fee) == (AMOUNT, 0)  # the fee is kept when won
    assert withdrawn.balance_transaction_id != reinstated.balance_transaction_id
    assert (closed.status, closed.accepted) == ("won", False)


async def test_an_inquiry_escalates_and_statuses_only_move_forward(
    payments: PaymentsHarness, sim: httpx.AsyncClient
) -> None:
    payment_id = await booked(payments)
    du = await open_dispute(sim, payments, payment_id, reason="general", inquiry=True)
    await sim.post(f"/_sim/disputes/{du['id']}/escalate")
    await sim.post(f"/_sim/disputes/{du['id']}/resolve", json={"won": False})
    events = await stripe_events(sim, du["id"])
    assert [e["type"].removeprefix("charge.dispute.") for e in events] == [
        "created",
        "updated",
        "funds_withdrawn",
        "closed",
    ]
    await deliver(payments.pool, events)
    facts = of(await published(payments.pool, payment_id), *DISPUTE_FACTS)
    assert [type(f) for f in facts] == [
        DisputeOpenedV1,
        DisputeUpdatedV1,
        DisputeFundsWithdrawnV1,
        DisputeClosedV1,
    ]
    opened, escalated, _withdrawn, closed = facts
    assert (opened.status, opened.inquiry) == ("warning_needs_response", True)
    assert (escalated.previous_status, escalated.status) == (
        "warning_needs_response",
        "needs_response",
    )
    assert escalated.due_by is not None and opened.due_by is not None
    assert closed.status == "lost"

    # Newest first: the case opens as the first webhook applied tells it; older ones add nothing.
    other = await booked(payments)
    du = await open_dispute(sim, payments, other, reason="general", inquiry=True)
    await sim.post(f"/_sim/disputes/{du['id']}/resolve", json={"won": False})
    await deliver(payments.pool, list(reversed(await stripe_events(sim, du["id"]))))
    facts = of(await published(payments.pool, other), *DISPUTE_FACTS)
    assert [type(f) for f in facts] == [DisputeOpenedV1, DisputeFundsWithdrawnV1, DisputeClosedV1]
    assert (facts[0].status, facts[0].inquiry, facts[-1].status) == (
        "needs_response",
        False,
        "lost",
    )


async def test_evidence_is_uploaded_submitted_once_and_a_late_one_is_refused(
    payments: PaymentsHarness, sim: httpx.AsyncClient
) -> None:
    payment_id = await booked(payments)
    du = await open_dispute(sim, payments, payment_id, reason="product_not_received")
    await deliver(payments.pool, await stripe_events(sim, du["id"]))
    dispute_id = "dsp_" + du["id"].removeprefix("du_")
    request = EvidenceSubmissionRequestedV1(
        request_id=f"dsr_{uuid.uuid4().hex}",
        dispute_id=dispute_id,
        processor_dispute_id=du["id"],
        payment_id=payment_id,
        text={"service_date": "2034-07-01", "customer_purchase_ip": "203.0.113.9"},
        files=[
            EvidenceFile(
                field="uncategorized_file",
                filename="evidence-summary.pdf",
                content_type="application/pdf",
                sha256=hashlib.sha256(PDF).hexdigest(),
                content_b64=base64.b64encode(PDF).decode(),
            )
        ],
        auto=False,
        actor="trust@example.com",
    )
    env = envelope(request, dispute_id, "disputes")
    assert await payments.consume(env, dispute_id) == "handled"
    assert await payments.consume(env, dispute_id) == "duplicate"
    [submitted] = of(await payments.emitted(payment_id), DisputeEvidenceSubmittedV1)
    assert submitted.status == "under_review" and submitted.request_id == request.request_id
    [file_id] = submitted.file_ids
    assert set(submitted.fields) == {"service_date", "customer_purchase_ip", "uncategorized_file"}
    stripe_dispute = await stripe_get(sim, f"/v1/disputes/{du['id']}")
    assert stripe_dispute["evidence"]["uncategorized_file"] == file_id
    assert (await sim.get(f"/_sim/files/{file_id}/contents")).content == PDF

    await deliver(payments.pool, await stripe_events(sim, du["id"]))
    [updated] = of(await published(payments.pool, payment_id), DisputeUpdatedV1)
    assert (updated.previous_status, updated.status, updated.submission_count) == (
        "needs_response",
        "under_review",
        1,
    )
    # Another submission (an auto-submit racing staff): Stripe refuses, reported, not retried.
    late = request.model_copy(update={"request_id": f"dsr_auto_{dispute_id}"})
    assert await payments.consume(late, dispute_id) == "handled"
    [failed] = of(await payments.emitted(payment_id), DisputeActionFailedV1)
    assert (failed.action, failed.code, failed.request_id) == (
        "submit",
        "dispute_closed",
        late.request_id,
    )
    assert not payments.dead_letters.sent


async def test_a_transient_failure_is_retried_with_the_same_keys(
    payments: PaymentsHarness, sim: httpx.AsyncClient
) -> None:
    payment_id = await booked(payments)
    du = await open_dispute(sim, payments, payment_id)
    await deliver(payments.pool, await stripe_events(sim, du["id"]))
    spec = {"path": "/v1/disputes/*", "method": "POST", "count": 2, "status": 503}
    (await sim.post("/_sim/failures", json=spec)).raise_for_status()
    request = EvidenceSubmissionRequestedV1(
        request_id=f"dsr_{uuid.uuid4().hex}",
        dispute_id="dsp_" + du["id"].removeprefix("du_"),
        processor_dispute_id=du["id"],
        payment_id=payment_id,
        text={"uncategorized_text": "the guest stayed"},
        auto=True,
        actor="system:auto_submit",
    )
    assert await payments.consume(request, request.dispute_id) == "handled"
    [submitted] = of(await payments.emitted(payment_id), DisputeEvidenceSubmittedV1)
    assert submitted.status == "under_review"
    dispute = await stripe_get(sim, f"/v1/disputes/{du['id']}")
    assert dispute["evidence_details"]["submission_count"] == 1


async def test_an_accepted_dispute_is_closed_as_accepted(
    payments: PaymentsHarness, sim: httpx.AsyncClient
) -> None:
    payment_id = await booked(payments)
    du = await open_dispute(sim, payments, payment_id, reason="credit_not_processed")
    await deliver(payments.pool, await stripe_events(sim, du["id"]))
    dispute_id = "dsp_" + du["id"].removeprefix("du_")
    accept = DisputeAcceptanceRequestedV1(
        request_id=f"dsa_{uuid.uuid4().hex}",
        dispute_id=dispute_id,
        processor_dispute_id=du["id"],
        payment_id=payment_id,
        actor="trust@example.com",
    )
    assert await payments.consume(accept, dispute_id) == "handled"
    [accepted] = of(await payments.emitted(payment_id), DisputeAcceptedV1)
    assert (accepted.status, accepted.request_id) == ("lost", accept.request_id)
    await deliver(payments.pool, await stripe_events(sim, du["id"]))
    [closed] = of(await published(payments.pool, payment_id), DisputeClosedV1)
    assert (closed.status, closed.accepted) == ("lost", True)
    again = accept.model_copy(update={"request_id": f"dsa_{uuid.uuid4().hex}"})
    assert await payments.consume(again, dispute_id) == "handled"
    [failed] = of(await payments.emitted(payment_id), DisputeActionFailedV1)
    assert (failed.action, failed.code) == ("accept", "dispute_closed")


async def test_a_refund_of_a_disputed_charge_is_refused_before_stripe(
    payments: PaymentsHarness, sim: httpx.AsyncClient
) -> None:
    payment_id = await booked(payments)
    booking_id = (await payments.payment(payment_id))["booking_id"]
    du = await open_dispute(sim, payments, payment_id)
    await deliver(payments.pool, (await stripe_events(sim, du["id"]))[:1])
    refund = RefundRequest(
        refund_id=f"ref_{uuid.uuid4().hex}",
        payment_id=payment_id,
        amount=AMOUNT,
        currency="usd",
        platform_fee=FEE,
        host_amount=AMOUNT - FEE,
        tax=TAX,
        host_account_id=HOST,
        lines=[RefundLine(code="base", amount=AMOUNT - FEE)],
    )
    cancelled = BookingCancelledV1(
        booking_id=booking_id,
        cancelled_by="guest",
        reason="plans_changed",
        policy="flexible@1",
        refund=refund,
        host_account_id=HOST,
    )
    assert await payments.consume(cancelled, booking_id) == "handled"
    [failed] = of(await payments.emitted(payment_id), RefundFailedV1)
    assert failed.code == "charge_disputed"
    intent = (await payments.payment(payment_id))["payment_intent_id"]
    assert (await stripe_get(sim, "/v1/refunds", payment_intent=intent))["data"] == []


async def test_an_early_fraud_warning_is_reported_once(
    payments: PaymentsHarness, sim: httpx.AsyncClient
) -> None:
    payment_id = await booked(payments)
    charge = (await payments.payment(payment_id))["charge_id"]
    response = await sim.post(
        f"/_sim/charges/{charge}/early_fraud_warning", json={"fraud_type": "made_with_stolen_card"}
    )
    warning = response.json()
    events = await stripe_events(sim, warning["id"])
    await deliver(payments.pool, events + events)
    await replay_all(payments.pool, events)
    [reported] = of(await published(payments.pool, payment_id), EarlyFraudWarningReceivedV1)
    assert (reported.warning_id, reported.fraud_type, reported.actionable) == (
        warning["id"],
        "made_with_stolen_card",
        True,
    )


@pytest.mark.parametrize("cause", ["dispute_lost", "debit_returned"])
async def test_finance_reversal_requests_are_made_once_or_refused(
    payments: PaymentsHarness, sim: httpx.AsyncClient, cause: str
) -> None:
    """A lost dispute's host share, or a bank debit's returned after its host was paid."""
    payment_id = await booked(payments)
    booking_id = (await payments.payment(payment_id))["booking_id"]
    release = PayoutReleasedV1(
        release_id=f"rel_{payment_id}_1",
        payment_id=payment_id,
        booking_id=booking_id,
        host_account_id=HOST,
        amount=AMOUNT - FEE,
        currency="usd",
    )
    await payments.deliver(release, release.release_id)
    transfer_id = await payments.pool.fetchval(
        "SELECT transfer_id FROM payments.transfers WHERE release_id = $1", release.release_id
    )
    assert transfer_id is not None
    request = TransferReversalRequestedV1(
        request_id=f"dsp_x:{booking_id}",
        transfer_id=transfer_id,
        payment_id=payment_id,
        booking_id=booking_id,
        host_account_id=HOST,
        amount=4_000,
        currency="usd",
        cause=cause,
        dispute_id="dsp_x" if cause == "dispute_lost" else None,
    )
    env = envelope(request, request.request_id, "finance")
    assert await payments.consume(env, request.request_id) == "handled"
    assert await payments.consume(env, request.request_id) == "duplicate"
    assert await payments.handlers.reversals.reverse_pending() == 1
    assert await payments.handlers.reversals.reverse_pending() == 0
    [reversed_] = of(await payments.emitted(payment_id), TransferReversedV1)
    assert (reversed_.request_id, reversed_.cause, reversed_.amount) == (
        request.request_id,
        cause,
        4_000,
    )
    [made] = (await stripe_get(sim, f"/v1/transfers/{transfer_id}/reversals"))["data"]
    assert (made["amount"], made["metadata"]["request_id"]) == (4_000, request.request_id)

    too_much = request.model_copy(
        update={"request_id": f"dsp_y:{booking_id}", "amount": AMOUNT - FEE}
    )
    assert await payments.consume(too_much, too_much.request_id) == "handled"
    [failed] = of(await payments.emitted(payment_id), TransferReversalFailedV1)
    assert (failed.request_id, failed.code, failed.cause) == (
        too_much.request_id,
        "amount_exceeds_transfer",
        cause,
    )


async def test_a_crash_between_the_stripe_calls_and_the_record_submits_once(
    payments: PaymentsHarness, sim: httpx.AsyncClient
) -> None:
    """Payments restarted after Stripe answered, before the outcome was written: the request is
    made again with the same keys (Stripe answers from its cache) and recorded once."""
    payment_id = await booked(payments)
    du = await open_dispute(sim, payments, payment_id, reason="duplicate")
    await deliver(payments.pool, await stripe_events(sim, du["id"]))
    request = EvidenceSubmissionRequestedV1(
        request_id=f"dsr_{uuid.uuid4().hex}",
        dispute_id="dsp_" + du["id"].removeprefix("du_"),
        processor_dispute_id=du["id"],
        payment_id=payment_id,
        text={"duplicate_charge_explanation": "two different nights"},
        files=[
            EvidenceFile(
                field="duplicate_charge_documentation",
                filename="receipts.pdf",
                content_type="application/pdf",
                sha256=hashlib.sha256(PDF).hexdigest(),
                content_b64=base64.b64encode(PDF).decode(),
            )
        ],
        auto=False,
        actor="trust@example.com",
    )
    env = envelope(request, request.dispute_id, "disputes")
    _event, first = await payments.prepare(env)  # ... and the process died here
    event, second = await payments.prepare(env)  # redelivered after the restart
    assert first == second  # the same file, the same submission
    await payments.apply(env, event, second)
    await payments.apply(env, event, first)  # even applied twice: recorded once
    [submitted] = of(await payments.emitted(payment_id), DisputeEvidenceSubmittedV1)
    assert submitted.file_ids == first.file_ids
    dispute = await stripe_get(sim, f"/v1/disputes/{du['id']}")
    assert dispute["evidence_details"]["submission_count"] == 1
    [file_id] = first.file_ids
    assert dispute["evidence"]["duplicate_charge_documentation"] == file_id


async def test_a_group_payment_dispute_names_every_leg(
    payments: PaymentsHarness, sim: httpx.AsyncClient
) -> None:
    legs = (("acct_1DisputeLegA", 20_000, 3_000, 400), ("acct_1DisputeLegB", 16_000, 2_400, 0))
    group = await captured_group(payments, legs, START)
    payment_id = checkout_payment_id(group.group_id)
    du = await open_dispute(sim, payments, payment_id, reason="fraudulent")
    await deliver(payments.pool, await stripe_events(sim, du["id"]))
    [opened] = of(await published(payments.pool, payment_id), DisputeOpenedV1)
    assert (opened.booking_id, opened.group_id, opened.purpose) == (
        group.group_id,
        group.group_id,
        "group_checkout",
    )
    assert opened.amount == 36_000 and sum(leg.amount for leg in opened.legs) == 36_000
    assert [(leg.booking_id, leg.host_account_id) for leg in opened.legs] == [
        (g.booking_id, g.host_account_id) for g in group.legs
    ]
    assert opened.guest_id == group.guest_id


async def test_a_group_dispute_after_a_refunded_leg_names_what_each_leg_still_holds(
    payments: PaymentsHarness, sim: httpx.AsyncClient
) -> None:
    """A leg cancelled and refunded in full before the dispute holds nothing of the disputed
    money: its host bears no share of a loss (disputes spreads the loss over the legs)."""
    legs = (("acct_1DisputeLegA", 20_000, 3_000, 0), ("acct_1DisputeLegB", 16_000, 2_400, 0))
    group = await captured_group(payments, legs, START)
    payment_id = checkout_payment_id(group.group_id)
    kept, refunded = group.legs
    await payments.deliver(leg_cancelled(group, refunded), refunded.booking_id)
    du = await open_dispute(sim, payments, payment_id, reason="fraudulent")
    await deliver(payments.pool, await stripe_events(sim, du["id"]))
    [opened] = of(await published(payments.pool, payment_id), DisputeOpenedV1)
    assert opened.amount == 20_000
    assert [(leg.booking_id, leg.amount, leg.host_amount) for leg in opened.legs] == [
        (kept.booking_id, 20_000, 17_000),
        (refunded.booking_id, 0, 0),
    ]
    decision = liability.decide(
        "fraudulent",
        opened.amount,
        [
            liability.Leg(g.booking_id, g.host_account_id, g.amount, g.host_amount)
            for g in opened.legs
        ],
        three_d_secure=False,
        host_at_fault=False,
    )
    assert {s.host_account_id: s.amount for s in decision.shares if s.party == "host"} == {
        "acct_1DisputeLegA": 17_000
    }


async def test_a_request_for_an_unknown_dispute_is_refused_not_dead_lettered(
    payments: PaymentsHarness, sim: httpx.AsyncClient
) -> None:
    payment_id = await booked(payments)
    accept = DisputeAcceptanceRequestedV1(
        request_id=f"dsa_{uuid.uuid4().hex}",
        dispute_id="dsp_nope",
        processor_dispute_id="du_nope",
        payment_id=payment_id,
        actor="trust@example.com",
    )
    assert await payments.consume(accept, accept.dispute_id) == "handled"
    [failed] = of(await payments.emitted(payment_id), DisputeActionFailedV1)
    assert (failed.action, failed.code) == ("accept", "processor_refused")
    assert "du_nope" in failed.message and not payments.dead_letters.sent
