"""Money of amendments and overtime, payments' and finance's side: `booking.charge_requested`
→ an off-session charge of the card saved at checkout (the in-process Stripe simulator) →
`payments.payment_captured` v2 / `payments.payment_failed` with the `charge_request_id`; and
`booking.amendment_decided` applied with a refund → the refund saga → `payments.refund_succeeded`
/ `refund_failed`; finance's journals of both.

Payments runs with its own routing table and handlers against the real test database. Events are
delivered as the consumer delivers them (`prepare` outside any transaction, `apply` in one), and
where retries or the inbox matter through eventkit's MessageProcessor itself, with a private
inbox and a dead-letter sink that records instead of producing. Events go to a private outbox
table, so no relay ever publishes them. Finance applies events in a transaction that is rolled
back (ledger rows are append-only), after checking its deferred balance constraint.

The Stripe gateway makes no retries of its own here (`max_network_retries=0`), so every injected
failure is one attempt.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from domainkit.money import STRIPE_MAX_AMOUNT
from marketplace_contracts.events.booking import (
    AmendmentDecidedV1,
    BookingConfirmedV1,
    ChargeRequestedV1,
    CheckoutRequestedV1,
    GroupCheckoutRequestedV1,
    PaymentRetryRequestedV1,
    RefundLine,
    RefundRequest,
)
from marketplace_contracts.events.payments import (
    PaymentCapturedV2,
    PaymentFailedV1,
    PaymentSplit,
    RefundFailedV1,
    RefundSucceededV1,
)
from payments.domain.ids import charge_payment_id, checkout_payment_id
from tests.support.finance_harness import balances, finance_applies
from tests.support.payments_harness import (
    PaymentsHarness,
    captured_group,
    only,
    payments_harness,
    stripe_get,
)

Payments = PaymentsHarness

pytestmark = [
    pytest.mark.integration,
    # stripe-python's HTTPXClient posts form bodies via `data=`; not our code.
    pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning"),
]

START = datetime(2034, 7, 1, 15, tzinfo=UTC)
HOST = "acct_1AmendHost"
# A single booking: 13 500 paid, 2 025 of platform fee of which 300 is tax.
AMOUNT, FEE, TAX = 13_500, 2_025, 300
# An amendment that costs 4 500 more: 675 of platform fee, of which 100 is tax.
EXTRA, EXTRA_FEE, EXTRA_TAX = 4_500, 675, 100
# A group: two legs of two hosts.
LEGS = (("acct_1AmendLegA", 20_000, 3_000, 400), ("acct_1AmendLegB", 16_000, 2_400, 0))
MAX_ATTEMPTS = 4


# -- fixtures --------------------------------------------------------------------------------
@pytest.fixture
async def payments(pg_ready: None, sim: httpx.AsyncClient) -> AsyncIterator[Payments]:
    async with payments_harness(
        str(sim.base_url), refund_max_attempts=MAX_ATTEMPTS, refund_retry_backoff=0.01
    ) as harness:
        yield harness


# -- helpers ---------------------------------------------------------------------------------
async def booked(
    payments: Payments, *, capture: bool = True, save_for_later: bool = False
) -> CheckoutRequestedV1:
    """A single booking checked out (and, with `capture`, confirmed and charged)."""
    booking_id = str(uuid.uuid4())
    payments.subjects.append(booking_id)
    request = CheckoutRequestedV1(
        booking_id=booking_id,
        guest_id=f"guest-{uuid.uuid4().hex[:8]}",
        listing_id="lst_amend",
        host_id="host-a",
        host_account_id=HOST,
        starts_at=START,
        ends_at=START + timedelta(hours=3),
        amount=AMOUNT,
        currency="usd",
        platform_fee=FEE,
        tax=TAX,
        payment_method="pm_card_visa",
        save_for_later=save_for_later,
    )
    await payments.deliver(request, booking_id)
    if capture:
        confirmed = BookingConfirmedV1(
            booking_id=booking_id,
            payment_id=checkout_payment_id(booking_id),
            amount=AMOUNT,
            currency="usd",
        )
        await payments.deliver(confirmed, booking_id)
    return request


async def group_booked(payments: Payments) -> GroupCheckoutRequestedV1:
    """A Linked Booking Group checked out and captured (every leg confirmed)."""
    return await captured_group(payments, LEGS, START)


def charge_requested(
    booking_id: str,
    *,
    payment_id: str | None = None,
    group_id: str | None = None,
    host_account_id: str = HOST,
    amount: int = EXTRA,
    platform_fee: int = EXTRA_FEE,
    tax: int = EXTRA_TAX,
    reason: str = "amendment",
) -> ChargeRequestedV1:
    amendment_id = str(uuid.uuid4())
    return ChargeRequestedV1(
        charge_request_id=f"chg_{amendment_id}",
        subject_id=amendment_id,
        booking_id=booking_id,
        group_id=group_id,
        payment_id=payment_id or checkout_payment_id(group_id or booking_id),
        amount=amount,
        currency="usd",
        platform_fee=platform_fee,
        tax=tax,
        host_account_id=host_account_id,
        reason=reason,
    )


def amendment_decided(
    booking_id: str,
    *,
    amount: int,
    platform_fee: int,
    tax: int = 0,
    outcome: str = "applied",
    host_account_id: str = HOST,
    payment_id: str | None = None,
    with_refund: bool = True,
) -> AmendmentDecidedV1:
    amendment_id = str(uuid.uuid4())
    refund = RefundRequest(
        refund_id=f"rf_{amendment_id}",
        payment_id=payment_id or checkout_payment_id(booking_id),
        amount=amount,
        currency="usd",
        platform_fee=platform_fee,
        host_amount=amount - platform_fee,
        tax=tax,
        host_account_id=host_account_id,
        lines=[RefundLine(code="base", amount=amount - platform_fee)],
    )
    return AmendmentDecidedV1(
        amendment_id=amendment_id,
        booking_id=booking_id,
        outcome=outcome,
        delta=-amount,
        currency="usd",
        refund=refund if with_refund else None,
    )


async def intents_created(sim: httpx.AsyncClient, **metadata: str) -> list[dict[str, Any]]:
    """`payment_intent.created` events whose intent carries this metadata, oldest first (with
    the idempotency key of the request that made it)."""
    data = (await stripe_get(sim, "/v1/events", type="payment_intent.created", limit="100"))["data"]
    return [
        e
        for e in reversed(data)
        if all(e["data"]["object"]["metadata"].get(k) == v for k, v in metadata.items())
    ]


async def stripe_refunds(sim: httpx.AsyncClient, payment: asyncpg.Record) -> list[dict[str, Any]]:
    listed = await stripe_get(
        sim, "/v1/refunds", payment_intent=payment["payment_intent_id"], limit="100"
    )
    return list(reversed(listed["data"]))


async def fail_next_off_session(sim: httpx.AsyncClient, customer: str, **spec: Any) -> None:
    response = await sim.post(f"/_sim/customers/{customer}/fail_next_off_session", json=spec)
    response.raise_for_status()


async def fail_next(sim: httpx.AsyncClient, operation: str, count: int, status: int = 500) -> None:
    spec = {"operation": operation, "count": count, "status": status}
    (await sim.post("/_sim/fail_next", json=spec)).raise_for_status()


# -- the card saved at checkout -----------------------------------------------------------------
async def test_a_checkout_saves_the_card_for_off_session_charges(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    checkout = await booked(payments, capture=False)
    row = await payments.payment(checkout_payment_id(checkout.booking_id))
    assert row["status"] == "authorized"
    intent = await stripe_get(sim, f"/v1/payment_intents/{row['payment_intent_id']}")
    assert (intent["setup_future_usage"], intent["capture_method"]) == ("off_session", "manual")
    assert (row["customer_id"], row["saved_payment_method"]) == (
        intent["customer"],
        intent["payment_method"],
    )
    card = await stripe_get(sim, f"/v1/payment_methods/{row['saved_payment_method']}")
    assert card["customer"] == row["customer_id"] is not None


# -- the processor's limit -------------------------------------------------------------------
async def test_a_charge_beyond_the_processors_limit_is_refused_before_stripe_is_asked(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    checkout = await booked(payments)
    booking_id = checkout.booking_id
    request = charge_requested(booking_id, amount=STRIPE_MAX_AMOUNT + 1)
    payment_id = charge_payment_id(request.charge_request_id)
    await payments.deliver(request, booking_id)

    [failed] = await payments.emitted(payment_id)
    assert isinstance(failed, PaymentFailedV1)
    assert (failed.code, failed.purpose, failed.charge_request_id) == (
        "amount_too_large",
        "extra_charge",
        request.charge_request_id,
    )
    assert failed.subject_id == request.subject_id is not None  # the amendment, as asked
    assert await intents_created(sim, charge_request_id=request.charge_request_id) == []
    row = await payments.payment(payment_id)
    assert (row["status"], row["failure_code"], row["payment_intent_id"]) == (
        "failed",
        "amount_too_large",
        None,
    )
    # The largest amount the processor takes is still charged.
    largest = charge_requested(booking_id, amount=STRIPE_MAX_AMOUNT)
    await payments.deliver(largest, booking_id)
    [captured] = await payments.emitted(charge_payment_id(largest.charge_request_id))
    assert isinstance(captured, PaymentCapturedV2) and captured.amount == STRIPE_MAX_AMOUNT


# -- extra charges ---------------------------------------------------------------------------
async def test_an_amendment_increase_is_charged_off_session(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    checkout = await booked(payments)
    booking_id = checkout.booking_id
    source = await payments.payment(checkout_payment_id(booking_id))
    request = charge_requested(booking_id)
    payment_id = charge_payment_id(request.charge_request_id)
    await payments.deliver(request, booking_id)

    [captured] = await payments.emitted(payment_id)
    assert isinstance(captured, PaymentCapturedV2)
    assert (captured.payment_id, captured.booking_id, captured.charge_request_id) == (
        payment_id,
        booking_id,
        request.charge_request_id,
    )
    assert (captured.group_id, captured.transfer_group, captured.purpose) == (
        None,
        booking_id,
        "extra_charge",
    )
    assert captured.subject_id == request.subject_id is not None  # the amendment, as asked
    assert (captured.amount, captured.currency, captured.platform_fee) == (
        EXTRA,
        "usd",
        EXTRA_FEE,
    )
    assert captured.splits == [
        PaymentSplit(
            booking_id=booking_id,
            host_account_id=HOST,
            amount=EXTRA,
            platform_fee=EXTRA_FEE,
            host_amount=EXTRA - EXTRA_FEE,
            tax=EXTRA_TAX,
        )
    ]

    # Off-session, automatic capture, with the checkout's customer and saved card; a separate
    # charge of the booking's transfer group (finance releases the host's share).
    [created] = await intents_created(sim, charge_request_id=request.charge_request_id)
    assert created["request"]["idempotency_key"] == (
        f"payments:charge-request:{request.charge_request_id}"
    )
    intent = await stripe_get(
        sim, f"/v1/payment_intents/{captured.payment_intent_id}", **{"expand[]": "latest_charge"}
    )
    assert (intent["status"], intent["amount_received"], intent["capture_method"]) == (
        "succeeded",
        EXTRA,
        "automatic",
    )
    assert (intent["customer"], intent["payment_method"]) == (
        source["customer_id"],
        source["saved_payment_method"],
    )
    assert (intent.get("transfer_data"), intent["application_fee_amount"]) == (None, None)
    assert intent["transfer_group"] == booking_id
    assert intent["metadata"] == {
        "booking_id": booking_id,
        "payment_id": payment_id,
        "charge_request_id": request.charge_request_id,
        "reason": "amendment",
    }
    assert intent["latest_charge"]["id"] == captured.charge_id

    # Its own payment, captured; the checkout's payment is untouched.
    row = await payments.payment(payment_id)
    assert (row["booking_id"], row["purpose"], row["charge_request_id"], row["status"]) == (
        booking_id,
        f"charge:{request.charge_request_id}",
        request.charge_request_id,
        "captured",
    )
    assert (row["amount"], row["platform_fee"], row["tax"], row["captured_amount"]) == (
        EXTRA,
        EXTRA_FEE,
        EXTRA_TAX,
        EXTRA,
    )
    assert (row["host_account_id"], row["group_id"], row["guest_id"]) == (
        HOST,
        None,
        checkout.guest_id,
    )
    after = await payments.payment(checkout_payment_id(booking_id))
    assert (after["status"], after["captured_amount"], after["amount"]) == (
        "captured",
        AMOUNT,
        AMOUNT,
    )


async def test_overtime_is_charged_the_same_way(payments: Payments, sim: httpx.AsyncClient) -> None:
    checkout = await booked(payments)
    first = charge_requested(checkout.booking_id, reason="overtime", amount=3_000, platform_fee=450)
    second = charge_requested(checkout.booking_id, amount=1_000, platform_fee=150, tax=20)
    await payments.deliver(first, checkout.booking_id)
    await payments.deliver(second, checkout.booking_id)
    # Two requests of one booking: two payments of their own, each answered.
    rows = await payments.charges_of(checkout.booking_id)
    assert sorted((r["amount"], r["status"]) for r in rows) == [
        (1_000, "captured"),
        (3_000, "captured"),
    ]
    [overtime] = await payments.emitted(charge_payment_id(first.charge_request_id))
    assert isinstance(overtime, PaymentCapturedV2)
    assert (overtime.charge_request_id, overtime.amount) == (first.charge_request_id, 3_000)
    [intent] = await intents_created(sim, charge_request_id=first.charge_request_id)
    assert intent["data"]["object"]["metadata"]["reason"] == "overtime"


async def test_a_redelivered_charge_request_charges_and_emits_once(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    checkout = await booked(payments)
    request = charge_requested(checkout.booking_id)
    payment_id = charge_payment_id(request.charge_request_id)
    env = payments.envelope(request, checkout.booking_id)
    # A crash after the Stripe call, before the commit: the call runs again ...
    first = await payments.prepare(env)
    second = await payments.prepare(env)
    assert first[1].result.id == second[1].result.id  # Stripe's idempotent replay
    await payments.apply(env, *first)
    await payments.apply(env, *second)
    # ... the consumer sees the same event again, and booking asks again (another event id).
    assert await payments.consume(env, checkout.booking_id) == "handled"
    assert await payments.consume(env, checkout.booking_id) == "duplicate"
    again = payments.envelope(request, checkout.booking_id)
    assert await payments.consume(again, checkout.booking_id) == "handled"

    assert [type(e) for e in await payments.emitted(payment_id)] == [PaymentCapturedV2]
    assert len(await intents_created(sim, charge_request_id=request.charge_request_id)) == 1
    [row] = await payments.charges_of(checkout.booking_id)
    assert (row["payment_id"], row["captured_amount"]) == (payment_id, EXTRA)
    assert payments.dead_letters.sent == []


@pytest.mark.parametrize(
    ("spec", "code", "decline_code"),
    [
        ({"decline_code": "insufficient_funds"}, "card_declined", "insufficient_funds"),
        ({"code": "authentication_required"}, "authentication_required", "authentication_required"),
    ],
    ids=["declined", "authentication_required"],
)
async def test_a_declined_off_session_charge_answers_payment_failed(
    payments: Payments,
    sim: httpx.AsyncClient,
    spec: dict[str, str],
    code: str,
    decline_code: str,
) -> None:
    checkout = await booked(payments)
    source = await payments.payment(checkout_payment_id(checkout.booking_id))
    # The simulator's control: the customer's next two off-session charges decline.
    await fail_next_off_session(sim, source["customer_id"], count=2, **spec)
    request = charge_requested(checkout.booking_id)
    payment_id = charge_payment_id(request.charge_request_id)
    env = await payments.deliver(request, checkout.booking_id)
    await payments.deliver(request, checkout.booking_id, env)  # redelivered: replayed, not retried

    [failed] = await payments.emitted(payment_id)
    assert isinstance(failed, PaymentFailedV1)
    assert (failed.payment_id, failed.booking_id, failed.charge_request_id) == (
        payment_id,
        checkout.booking_id,
        request.charge_request_id,
    )
    assert (failed.code, failed.decline_code, failed.group_id) == (code, decline_code, None)
    assert failed.message
    row = await payments.payment(payment_id)
    assert (row["status"], row["failure_code"], row["decline_code"], row["captured_amount"]) == (
        "failed",
        code,
        decline_code,
        0,
    )
    assert row["stripe_status"] == "requires_payment_method"
    # One attempt was made: one forced failure is left for the next off-session charge.
    pending = await sim.get(f"/_sim/customers/{source['customer_id']}/fail_next_off_session")
    assert len(pending.json()["data"]) == 1
    assert len(await intents_created(sim, charge_request_id=request.charge_request_id)) == 1
    # The booking's own payment is untouched.
    assert (await payments.payment(checkout_payment_id(checkout.booking_id)))["status"] == (
        "captured"
    )


async def test_a_group_legs_charge_uses_the_groups_customer_and_transfer_group(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    group = await group_booked(payments)
    leg = group.legs[1]
    source = await payments.payment(checkout_payment_id(group.group_id))
    request = charge_requested(
        leg.booking_id,
        group_id=group.group_id,
        host_account_id=leg.host_account_id,
        amount=2_000,
        platform_fee=300,
        tax=0,
    )
    payment_id = charge_payment_id(request.charge_request_id)
    await payments.deliver(request, leg.booking_id)

    [captured] = await payments.emitted(payment_id)
    assert isinstance(captured, PaymentCapturedV2)
    # The leg's, not the group's payment: the leg is the booking, the group's transfers pay it.
    assert (captured.booking_id, captured.group_id, captured.transfer_group) == (
        leg.booking_id,
        None,
        group.group_id,
    )
    assert captured.charge_request_id == request.charge_request_id
    assert [
        (s.booking_id, s.host_account_id, s.amount, s.platform_fee) for s in captured.splits
    ] == [(leg.booking_id, leg.host_account_id, 2_000, 300)]
    intent = await stripe_get(sim, f"/v1/payment_intents/{captured.payment_intent_id}")
    assert (intent["customer"], intent["payment_method"]) == (
        source["customer_id"],
        source["saved_payment_method"],
    )
    assert (intent["transfer_group"], intent["transfer_data"]) == (group.group_id, None)
    assert intent["application_fee_amount"] is None
    assert intent["metadata"]["group_id"] == group.group_id
    row = await payments.payment(payment_id)
    assert (row["booking_id"], row["group_id"], row["transfer_group"], row["status"]) == (
        leg.booking_id,
        group.group_id,
        group.group_id,
        "captured",
    )


async def test_a_charge_request_payments_cannot_charge_fails_without_a_stripe_call(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    checkout = await booked(payments)
    other = await booked(payments)
    # A payment whose card was not saved (checked out before cards were saved at checkout).
    legacy = await booked(payments)
    await payments.pool.execute(
        "UPDATE payments.payments SET saved_payment_method = NULL WHERE payment_id = $1",
        checkout_payment_id(legacy.booking_id),
    )
    missing = str(uuid.uuid4())
    payments.subjects.append(missing)
    cases = [
        (charge_requested(legacy.booking_id), "no_saved_payment_method"),
        (charge_requested(missing), "payment_not_found"),
        (  # not the booking's payment
            charge_requested(checkout.booking_id, payment_id=checkout_payment_id(other.booking_id)),
            "invalid_charge_request",
        ),
        (  # not a group's payment
            charge_requested(checkout.booking_id, group_id=str(uuid.uuid4())).model_copy(
                update={"payment_id": checkout_payment_id(checkout.booking_id)}
            ),
            "invalid_charge_request",
        ),
        (  # a fee larger than the charge
            charge_requested(checkout.booking_id, amount=1_000, platform_fee=1_001, tax=0),
            "invalid_charge_request",
        ),
    ]
    for request, code in cases:
        assert await payments.consume(
            payments.envelope(request, request.booking_id), request.booking_id
        ) == ("handled")
        [failed] = await payments.emitted(charge_payment_id(request.charge_request_id))
        assert isinstance(failed, PaymentFailedV1)
        assert (failed.code, failed.charge_request_id, failed.booking_id) == (
            code,
            request.charge_request_id,
            request.booking_id,
        )
        assert await intents_created(sim, charge_request_id=request.charge_request_id) == []
    # Recorded failed (but the impossible amounts, which cannot be a payment).
    assert [r["failure_code"] for r in await payments.charges_of(legacy.booking_id)] == [
        "no_saved_payment_method"
    ]
    assert len(await payments.charges_of(checkout.booking_id)) == 2
    assert payments.dead_letters.sent == []


async def test_transient_stripe_failures_are_retried_and_charge_once(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    checkout = await booked(payments)
    await fail_next(sim, "create_payment_intent", 2, status=503)
    request = charge_requested(checkout.booking_id)
    env = payments.envelope(request, checkout.booking_id)
    assert await payments.consume(env, checkout.booking_id) == "handled"
    [captured] = await payments.emitted(charge_payment_id(request.charge_request_id))
    assert isinstance(captured, PaymentCapturedV2)
    assert len(await intents_created(sim, charge_request_id=request.charge_request_id)) == 1
    assert payments.dead_letters.sent == []


# -- amendment refunds ---------------------------------------------------------------------------
async def test_an_amendment_decrease_refunds_exactly_that_amount(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    checkout = await booked(payments)
    booking_id = checkout.booking_id
    payment_id = checkout_payment_id(booking_id)
    decided = amendment_decided(booking_id, amount=3_000, platform_fee=450, tax=60)
    assert decided.refund is not None
    refund_id = decided.refund.refund_id
    env = await payments.deliver(decided, booking_id)
    await payments.deliver(decided, booking_id, env)  # redelivered
    assert await payments.consume(payments.envelope(decided, booking_id), booking_id) == "handled"

    [succeeded] = only(await payments.emitted(payment_id), RefundSucceededV1)
    assert (succeeded.refund_id, succeeded.payment_id, succeeded.booking_id) == (
        refund_id,
        payment_id,
        booking_id,
    )
    assert (succeeded.cause, succeeded.subject_id) == ("amendment", decided.amendment_id)
    row = await payments.refund(refund_id)
    assert row is not None and (row["cause"], row["subject_id"]) == (
        "amendment",
        decided.amendment_id,
    )
    assert (succeeded.amount, succeeded.platform_fee, succeeded.host_amount, succeeded.tax) == (
        3_000,
        450,
        2_550,
        60,
    )
    assert (succeeded.method, succeeded.host_account_id, succeeded.group_id) == (
        "refund",
        HOST,
        None,
    )
    payment = await payments.payment(payment_id)
    [refund] = await stripe_refunds(sim, payment)
    assert (refund["id"], refund["amount"], refund["status"]) == (
        succeeded.stripe_refund_id,
        3_000,
        "succeeded",
    )
    assert refund["metadata"]["refund_id"] == refund_id
    refunded = (await stripe_get(sim, "/v1/events", type="refund.created", limit="100"))["data"]
    assert [e["request"]["idempotency_key"] for e in refunded] == [f"payments:refund:{refund_id}"]
    assert (payment["status"], payment["captured_amount"], payment["refunded_amount"]) == (
        "captured",
        AMOUNT,
        3_000,
    )
    row = await payments.refund(refund_id)
    assert row is not None
    assert (row["status"], row["method"], row["cause"], row["attempts"]) == (
        "succeeded",
        "refund",
        "amendment",
        1,
    )


@pytest.mark.parametrize(
    ("outcome", "with_refund"),
    [("rejected", False), ("applied", False), ("rejected", True), ("failed", True)],
    ids=["rejected", "applied_without_refund", "rejected_with_refund", "failed_with_refund"],
)
async def test_an_amendment_without_a_refund_to_give_moves_nothing(
    payments: Payments, sim: httpx.AsyncClient, outcome: str, with_refund: bool
) -> None:
    checkout = await booked(payments)
    payment_id = checkout_payment_id(checkout.booking_id)
    decided = amendment_decided(
        checkout.booking_id,
        amount=3_000,
        platform_fee=450,
        outcome=outcome,
        with_refund=with_refund,
    )
    env = payments.envelope(decided, checkout.booking_id)
    event, prepared = await payments.prepare(env)
    assert prepared is None
    await payments.apply(env, event, prepared)
    assert only(await payments.emitted(payment_id), RefundSucceededV1) == []
    assert only(await payments.emitted(payment_id), RefundFailedV1) == []
    assert await stripe_refunds(sim, await payments.payment(payment_id)) == []
    assert await payments.refund(f"rf_{decided.amendment_id}") is None


async def test_an_amendment_refund_is_retried_then_recorded_failed(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    checkout = await booked(payments)
    payment_id = checkout_payment_id(checkout.booking_id)
    await fail_next(sim, "refund", 10, status=503)
    decided = amendment_decided(checkout.booking_id, amount=2_000, platform_fee=300)
    assert decided.refund is not None
    env = payments.envelope(decided, checkout.booking_id)
    assert await payments.consume(env, checkout.booking_id) == "handled"
    [failed] = only(await payments.emitted(payment_id), RefundFailedV1)
    assert (failed.refund_id, failed.booking_id, failed.code, failed.attempts) == (
        decided.refund.refund_id,
        checkout.booking_id,
        "stripe_api_error",
        MAX_ATTEMPTS,
    )
    assert payments.dead_letters.sent == []
    # Ops retry it (python -m payments retry-refund) once Stripe is back.
    (await sim.delete("/_sim/failures")).raise_for_status()
    final = await payments.handlers.refunds.retry(decided.refund.refund_id)
    assert (final["status"], final["cause"]) == ("succeeded", "amendment")
    [succeeded] = only(await payments.emitted(payment_id), RefundSucceededV1)
    assert (succeeded.booking_id, succeeded.amount) == (checkout.booking_id, 2_000)
    assert [r["amount"] for r in await stripe_refunds(sim, await payments.payment(payment_id))] == [
        2_000
    ]


async def test_more_than_the_booking_paid_is_refused(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    checkout = await booked(payments)
    payment_id = checkout_payment_id(checkout.booking_id)
    decided = amendment_decided(checkout.booking_id, amount=AMOUNT + 1, platform_fee=FEE)
    await payments.deliver(decided, checkout.booking_id)
    [failed] = only(await payments.emitted(payment_id), RefundFailedV1)
    assert (failed.code, failed.attempts) == ("amount_too_large", 1)
    assert await stripe_refunds(sim, await payments.payment(payment_id)) == []


async def test_a_group_legs_amendment_refund_is_its_groups(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    group = await group_booked(payments)
    leg = group.legs[0]
    payment_id = checkout_payment_id(group.group_id)
    decided = amendment_decided(
        leg.booking_id,
        amount=5_000,
        platform_fee=750,
        tax=100,
        host_account_id=leg.host_account_id,
        payment_id=payment_id,
    )
    await payments.deliver(decided, leg.booking_id)
    [succeeded] = only(await payments.emitted(payment_id), RefundSucceededV1)
    assert (succeeded.booking_id, succeeded.group_id, succeeded.amount, succeeded.method) == (
        leg.booking_id,
        group.group_id,
        5_000,
        "refund",
    )
    refunds = await stripe_refunds(sim, await payments.payment(payment_id))
    assert [(r["amount"], r["transfer_reversal"]) for r in refunds] == [(5_000, None)]


async def test_an_amendment_of_a_saved_card_not_charged_yet_lowers_its_charge(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    """The booking's off-session charge failed (the guest is asked to pay) when an amendment
    lowers its price: nothing is given back, the guest pays the lower price."""
    checkout = await booked(payments, capture=False, save_for_later=True)
    booking_id = checkout.booking_id
    payment_id = checkout_payment_id(booking_id)
    saved = await payments.payment(payment_id)
    await fail_next_off_session(sim, saved["customer_id"])
    confirmed = BookingConfirmedV1(
        booking_id=booking_id, payment_id=payment_id, amount=AMOUNT, currency="usd"
    )
    await payments.deliver(confirmed, booking_id)
    assert (await payments.payment(payment_id))["status"] == "charge_failed"

    decided = amendment_decided(booking_id, amount=3_000, platform_fee=450, tax=60)
    await payments.deliver(decided, booking_id)
    [succeeded] = only(await payments.emitted(payment_id), RefundSucceededV1)
    assert (succeeded.method, succeeded.amount, succeeded.stripe_refund_id) == ("none", 3_000, None)
    lowered = await payments.payment(payment_id)
    assert (lowered["status"], lowered["amount"], lowered["platform_fee"], lowered["tax"]) == (
        "charge_failed",
        AMOUNT - 3_000,
        FEE - 450,
        TAX - 60,
    )
    # The guest pays on-session: the lower price.
    retry = PaymentRetryRequestedV1(
        booking_id=booking_id, payment_id=payment_id, payment_method="pm_card_visa", attempt=1
    )
    await payments.deliver(retry, booking_id)
    [captured] = only(await payments.emitted(payment_id), PaymentCapturedV2)
    assert (captured.amount, captured.platform_fee, captured.splits[0].tax) == (
        AMOUNT - 3_000,
        FEE - 450,
        TAX - 60,
    )


# -- finance -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Posted:
    postings: list[dict[str, Any]]

    def balances(self, kind: str | None = None) -> dict[str, int]:
        return balances(self.postings, kind)


async def test_finance_books_an_extra_charge_and_an_amendment_refund(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    checkout = await booked(payments)
    booking_id = checkout.booking_id
    request = charge_requested(booking_id)
    await payments.deliver(request, booking_id)
    [charge] = await payments.envelopes(charge_payment_id(request.charge_request_id))
    await payments.deliver(
        amendment_decided(booking_id, amount=3_000, platform_fee=450, tax=60), booking_id
    )
    *before, refund = await payments.envelopes(checkout_payment_id(booking_id))
    assert (charge.type, refund.type) == ("payments.payment_captured", "payments.refund_succeeded")
    # the refund takes back part of the checkout's capture, which finance booked before
    captured = [env for env in before if env.type == "payments.payment_captured"]
    assert len(captured) == 1

    posted = Posted(await finance_applies([charge, refund], after=captured))
    payable = f"liability:host_payable:{HOST}"
    assert posted.balances("guest_payment_captured") == {
        "asset:stripe_balance:pending": EXTRA,
        "revenue:platform_fees": -(EXTRA_FEE - EXTRA_TAX),
        "liability:tax_payable": -EXTRA_TAX,
        payable: -(EXTRA - EXTRA_FEE),
    }
    assert posted.balances("guest_refund") == {
        "asset:stripe_balance:pending": -3_000,
        "revenue:platform_fees": 450 - 60,
        "liability:tax_payable": 60,
        payable: 2_550,
    }
    assert {p["booking_id"] for p in posted.postings} == {booking_id}
    assert sum(p["amount"] for p in posted.postings) == 0


async def test_finance_books_a_group_legs_extra_charge_to_its_host(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    group = await group_booked(payments)
    leg = group.legs[0]
    request = charge_requested(
        leg.booking_id,
        group_id=group.group_id,
        host_account_id=leg.host_account_id,
        amount=2_000,
        platform_fee=300,
        tax=40,
    )
    await payments.deliver(request, leg.booking_id)
    [charge] = await payments.envelopes(charge_payment_id(request.charge_request_id))
    posted = Posted(await finance_applies([charge]))
    assert posted.balances() == {
        "asset:stripe_balance:pending": 2_000,
        "revenue:platform_fees": -260,
        "liability:tax_payable": -40,
        f"liability:host_payable:{leg.host_account_id}": -1_700,
    }
    assert {p["booking_id"] for p in posted.postings} == {leg.booking_id}
