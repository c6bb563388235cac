"""An Instant Book's card charged at checkout (`capture_at_checkout`): payments' own routing
table and handlers against the real test database and the Stripe simulator (in-process), each
event delivered as the consumer does (`prepare`, then `apply` in one transaction; the inbox
left out, so a redelivery is the handlers' own idempotency). One automatic-capture
PaymentIntent, payment_captured naming the card, nothing more at booking_confirmed, and a
charge whose booking had ended refunded in full, once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from marketplace_contracts.events.booking import (
    BookingConfirmedV1,
    BookingFailedV1,
    CheckoutRequestedV1,
)
from marketplace_contracts.events.payments import (
    PaymentActionRequiredV1,
    PaymentCapturedV2,
    RefundSucceededV1,
)
from payments.domain.ids import checkout_payment_id
from payments.service_layer import card_actions
from payments.service_layer.unit_of_work import UnitOfWork
from tests.support.payments_harness import PaymentsHarness, payments_harness, stripe_get

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning"),
]

START = datetime(2034, 6, 1, 15, tzinfo=UTC)
AMOUNT, FEE, TAX = 24_000, 3_600, 400
HOST = "acct_1ChargedAtCheckout"


@pytest.fixture
async def payments(pg_ready: None, sim: httpx.AsyncClient) -> AsyncIterator[PaymentsHarness]:
    async with payments_harness(str(sim.base_url)) as harness:
        yield harness


async def charged(
    payments: PaymentsHarness, payment_method: str = "pm_card_visa"
) -> CheckoutRequestedV1:
    booking_id = str(uuid.uuid4())
    payments.subjects.append(booking_id)
    request = CheckoutRequestedV1(
        booking_id=booking_id,
        guest_id=f"guest-{uuid.uuid4().hex[:8]}",
        listing_id="lst_charged",
        host_id="host-c",
        host_account_id=HOST,
        starts_at=START,
        ends_at=START + timedelta(hours=2),
        amount=AMOUNT,
        currency="usd",
        platform_fee=FEE,
        tax=TAX,
        payment_method=payment_method,
        capture_at_checkout=True,
    )
    await payments.deliver(request, booking_id)
    await payments.deliver(request, booking_id)  # redelivered: answered, not charged again
    return request


async def test_the_card_is_charged_once_and_the_capture_names_it(
    payments: PaymentsHarness, sim: httpx.AsyncClient
) -> None:
    request = await charged(payments)
    payment_id = checkout_payment_id(request.booking_id)
    [captured] = await payments.emitted(payment_id)
    assert isinstance(captured, PaymentCapturedV2)
    assert (captured.amount, captured.platform_fee, captured.purpose) == (AMOUNT, FEE, "checkout")
    assert (captured.card_brand, captured.card_last4) == ("visa", "4242")
    [split] = captured.splits
    assert (split.host_account_id, split.host_amount, split.tax) == (HOST, AMOUNT - FEE, TAX)
    payment = await payments.payment(payment_id)
    assert (payment["status"], payment["captured_amount"]) == ("captured", AMOUNT)

    intent = await stripe_get(sim, f"/v1/payment_intents/{captured.payment_intent_id}")
    assert (intent["capture_method"], intent["status"], intent["amount_received"]) == (
        "automatic",
        "succeeded",
        AMOUNT,
    )
    created = await stripe_get(sim, "/v1/events", type="payment_intent.created", limit="100")
    mine = [
        e
        for e in created["data"]
        if e["data"]["object"]["metadata"].get("booking_id") == request.booking_id
    ]
    assert len(mine) == 1  # the redelivered request was answered from the idempotency cache

    # The booking confirmed on the capture: its booking_confirmed takes nothing more.
    confirmed = BookingConfirmedV1(
        booking_id=request.booking_id, payment_id=payment_id, amount=AMOUNT, currency="usd"
    )
    await payments.deliver(confirmed, request.booking_id)
    assert len(await payments.emitted(payment_id)) == 1
    assert (await stripe_get(sim, f"/v1/payment_intents/{intent['id']}")) == intent


async def test_a_charge_that_reached_an_ended_booking_is_refunded_in_full_once(
    payments: PaymentsHarness, sim: httpx.AsyncClient
) -> None:
    request = await charged(payments)
    payment_id = checkout_payment_id(request.booking_id)
    failed = BookingFailedV1(
        booking_id=request.booking_id, payment_id=payment_id, reason="booking_not_pending"
    )
    await payments.deliver(failed, request.booking_id)
    await payments.deliver(failed, request.booking_id)  # told again (a second late fact)

    refunds = [e for e in await payments.emitted(payment_id) if isinstance(e, RefundSucceededV1)]
    [refund] = refunds
    assert (refund.cause, refund.method, refund.amount) == ("checkout_failed", "refund", AMOUNT)
    assert (refund.platform_fee, refund.tax, refund.host_amount) == (FEE, TAX, AMOUNT - FEE)
    assert refund.host_account_id == HOST
    payment = await payments.payment(payment_id)
    assert (payment["status"], payment["refunded_amount"]) == ("captured", AMOUNT)
    intent = await stripe_get(sim, f"/v1/payment_intents/{payment['payment_intent_id']}")
    charge = await stripe_get(sim, f"/v1/charges/{intent['latest_charge']}")
    assert (charge["amount_refunded"], charge["refunded"]) == (AMOUNT, True)


async def test_a_failure_before_the_charge_reached_its_booking_refunds_nothing(
    payments: PaymentsHarness, sim: httpx.AsyncClient
) -> None:
    """A booking fails with its own reason only before its confirmation (its hold ran out
    while it knew no payment): that failure is not about this charge."""
    request = await charged(payments)
    payment_id = checkout_payment_id(request.booking_id)
    failed = BookingFailedV1(
        booking_id=request.booking_id, payment_id=payment_id, reason="hold_expired"
    )
    await payments.deliver(failed, request.booking_id)
    assert len(await payments.emitted(payment_id)) == 1
    assert (await payments.payment(payment_id))["refunded_amount"] == 0


async def test_a_3ds_charge_finished_as_the_booking_ended_is_captured_then_refunded(
    payments: PaymentsHarness, sim: httpx.AsyncClient
) -> None:
    """The guest completes the bank's step as the hold runs out: the void of the booking's
    booking_failed finds the intent charged and leaves it (no dead letter); the intent's webhook
    records the capture, and the booking, ended, has it refunded."""
    request = await charged(payments, "pm_card_authenticationRequired")
    payment_id = checkout_payment_id(request.booking_id)
    [action] = await payments.emitted(payment_id)
    assert isinstance(action, PaymentActionRequiredV1)
    done = await sim.post(
        f"/_sim/intents/{action.payment_intent_id}/authenticate", json={"outcome": "complete"}
    )
    done.raise_for_status()

    expired = BookingFailedV1(
        booking_id=request.booking_id, payment_id=payment_id, reason="hold_expired"
    )
    await payments.deliver(expired, request.booking_id)  # does not raise: nothing to void
    assert (await payments.payment(payment_id))["status"] == "requires_action"

    # As the webhook has it: its charge and its payment method ids only (the card comes from
    # the payment as recorded at checkout).
    intent = await stripe_get(sim, f"/v1/payment_intents/{action.payment_intent_id}")
    assert isinstance(intent["latest_charge"], str)
    assert (await payments.payment(payment_id))["card_last4"] == "3184"
    webhook = {"id": "evt_3ds", "type": "payment_intent.succeeded", "data": {"object": intent}}
    async with payments.pool.acquire() as conn, conn.transaction():
        uow = UnitOfWork(conn, payments.handlers.outbox)
        locked = await uow.payments.lock_by_intent(action.payment_intent_id)
        await card_actions.apply_intent_event(uow, webhook, locked)
    captured = (await payments.emitted(payment_id))[-1]
    assert isinstance(captured, PaymentCapturedV2)
    assert (captured.amount, captured.card_last4) == (AMOUNT, "3184")

    late = BookingFailedV1(
        booking_id=request.booking_id, payment_id=payment_id, reason="booking_not_pending"
    )
    await payments.deliver(late, request.booking_id)
    refund = (await payments.emitted(payment_id))[-1]
    assert isinstance(refund, RefundSucceededV1)
    assert (refund.amount, refund.cause) == (AMOUNT, "checkout_failed")
