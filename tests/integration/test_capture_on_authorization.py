"""An Instant Book checkout's authorization is captured in the same step when booking said it
confirms every authorization of the checkout until a time (`capture_on_authorization_until`):
two hops fewer on the checkout's path, one capture at Stripe whichever asks second."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from marketplace_contracts.events.booking import BookingConfirmedV1, CheckoutRequestedV1
from marketplace_contracts.events.payments import PaymentAuthorizedV1, PaymentCapturedV2
from payments.domain.ids import checkout_payment_id
from tests.support.payments_harness import PaymentsHarness, payments_harness, stripe_get

pytestmark = pytest.mark.integration

START = datetime(2034, 7, 1, 15, tzinfo=UTC)


@pytest.fixture
async def payments(pg_ready: None, sim: httpx.AsyncClient) -> AsyncIterator[PaymentsHarness]:
    async with payments_harness(str(sim.base_url)) as harness:
        yield harness


def checkout(payments: PaymentsHarness, **given: Any) -> CheckoutRequestedV1:
    booking_id = str(uuid.uuid4())
    payments.subjects.append(booking_id)
    fields: dict[str, Any] = {
        "booking_id": booking_id,
        "guest_id": f"guest-{uuid.uuid4().hex[:8]}",
        "listing_id": "lst_instant",
        "host_id": "host-i",
        "host_account_id": "acct_1InstantHost",
        "starts_at": START,
        "ends_at": START + timedelta(hours=2),
        "amount": 12_000,
        "currency": "usd",
        "platform_fee": 1_800,
        "payment_method": "pm_card_visa",
    }
    return CheckoutRequestedV1(**{**fields, **given})


def confirmed(request: CheckoutRequestedV1) -> BookingConfirmedV1:
    return BookingConfirmedV1(
        booking_id=request.booking_id,
        payment_id=checkout_payment_id(request.booking_id),
        amount=request.amount,
        currency="usd",
    )


async def captures_at_stripe(sim: httpx.AsyncClient, intent: str) -> list[dict[str, Any]]:
    events = await stripe_get(sim, "/v1/events", type="payment_intent.succeeded", limit="100")
    return [e for e in events["data"] if e["data"]["object"]["id"] == intent]


async def test_an_instant_checkout_is_authorized_and_captured_in_one_step(
    payments: PaymentsHarness, sim: httpx.AsyncClient
) -> None:
    until = datetime.now(UTC) + timedelta(minutes=7)
    request = checkout(payments, capture_on_authorization_until=until)
    payment_id = checkout_payment_id(request.booking_id)
    assert await payments.consume(request, request.booking_id) == "handled"

    authorized, captured = await payments.emitted(payment_id)
    assert isinstance(authorized, PaymentAuthorizedV1)
    assert isinstance(captured, PaymentCapturedV2)
    assert (captured.amount, captured.purpose, captured.booking_id) == (
        12_000,
        "checkout",
        request.booking_id,
    )
    row = await payments.payment(payment_id)
    assert (row["status"], row["captured_amount"], row["charge_id"]) == (
        "captured",
        12_000,
        captured.charge_id,
    )
    intent = await stripe_get(sim, f"/v1/payment_intents/{row['payment_intent_id']}")
    assert (intent["status"], intent["amount_received"]) == ("succeeded", 12_000)

    # booking_confirmed comes next, as before: nothing more is asked of Stripe or announced.
    assert await payments.consume(confirmed(request), request.booking_id) == "handled"
    assert len(await payments.emitted(payment_id)) == 2
    assert len(await captures_at_stripe(sim, row["payment_intent_id"])) == 1
    # A redelivered checkout request changes nothing either.
    again = payments.envelope(request, request.booking_id)
    assert await payments.consume(again, request.booking_id) == "handled"
    assert len(await payments.emitted(payment_id)) == 2


@pytest.mark.parametrize(
    "given",
    [
        {"capture_on_authorization_until": None},  # Request-to-Book, documents, before
        {"capture_on_authorization_until": datetime(2020, 1, 1, tzinfo=UTC)},  # too late
        {
            "capture_on_authorization_until": datetime(2100, 1, 1, tzinfo=UTC),
            "save_for_later": True,  # nothing authorized to capture
        },
    ],
)
async def test_otherwise_the_authorization_waits_for_booking_confirmed(
    payments: PaymentsHarness, given: dict[str, Any]
) -> None:
    request = checkout(payments, **given)
    payment_id = checkout_payment_id(request.booking_id)
    assert await payments.consume(request, request.booking_id) == "handled"
    assert not [e for e in await payments.emitted(payment_id) if isinstance(e, PaymentCapturedV2)]
    assert (await payments.payment(payment_id))["status"] in ("authorized", "saved")
    assert await payments.consume(confirmed(request), request.booking_id) == "handled"
    [captured] = [e for e in await payments.emitted(payment_id) if isinstance(e, PaymentCapturedV2)]
    assert captured.amount == 12_000


async def test_a_capture_lost_between_stripe_and_the_record_is_stripes_replay(
    payments: PaymentsHarness, sim: httpx.AsyncClient
) -> None:
    """The step repeated after Stripe captured and before payments recorded it (a crash),
    past the time: booking_confirmed's capture carries the same key, and Stripe answers it
    from its idempotency cache: one capture, recorded once."""
    request = checkout(payments, capture_on_authorization_until=datetime.now(UTC) + timedelta(1))
    payment_id = checkout_payment_id(request.booking_id)
    env = payments.envelope(request, request.booking_id)
    await payments.prepare(env)  # Stripe authorized and captured; nothing recorded
    late = request.model_copy(update={"capture_on_authorization_until": datetime.now(UTC)})
    await payments.deliver(
        late, request.booking_id, env=payments.envelope(late, request.booking_id)
    )
    assert (await payments.payment(payment_id))["status"] == "authorized"
    await payments.deliver(confirmed(request), request.booking_id)
    row = await payments.payment(payment_id)
    assert (row["status"], row["captured_amount"]) == ("captured", 12_000)
    assert len(await captures_at_stripe(sim, row["payment_intent_id"])) == 1
    emitted = await payments.emitted(payment_id)
    assert [type(e) for e in emitted] == [PaymentAuthorizedV1, PaymentCapturedV2]
