"""StripeGateway against the stateful simulator (stripesim), both real, over HTTP on 127.0.0.1.

The simulator runs in-process (uvicorn in a background thread, its own event loop); webhooks go
to a small local receiver, served the same way (tests/support/servers.py). Needs neither PostgreSQL nor Kafka.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import pytest
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from payments.adapters.stripe_gateway import (
    SIMULATOR_API_KEY,
    STRIPE_API_VERSION,
    PaymentIntentResult,
    RefundResult,
    SetupIntentResult,
    StripeGateway,
    StripeGatewayError,
    WebhookSignatureError,
    gateway_from_settings,
    parse_webhook,
)
from stripesim import create_app
from stripesim.webhooks import sign
from tests.support.poll import eventually
from tests.support.servers import serve

pytestmark = pytest.mark.filterwarnings(
    # stripe-python's HTTPXClient posts form bodies via `data=`; not our code.
    "ignore:Use 'content=<...>':DeprecationWarning"
)

T = TypeVar("T")
SECRET = "whsec_integration_test"
DESTINATION = "acct_1HostConnected"


# -- webhook receiver ------------------------------------------------------------------------
@dataclass
class Received:
    body: bytes
    signature: str


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    fail_next: int = 0  # answer 503 to this many upcoming deliveries
    lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()
            self.fail_next = 0


def _receiver_app(receiver: Receiver) -> Starlette:
    """Keeps every webhook delivery, or answers 503 to the next `fail_next` of them."""

    async def deliver(request: Request) -> Response:
        body = await request.body()
        with receiver.lock:
            failing = receiver.fail_next > 0
            if failing:
                receiver.fail_next -= 1
            else:
                receiver.requests.append(
                    Received(body, request.headers.get("Stripe-Signature", ""))
                )
        return Response(status_code=503 if failing else 200)

    return Starlette(routes=[Route("/webhooks/stripe", deliver, methods=["POST"])])


async def _eventually(check: Callable[[], Awaitable[T]], timeout: float = 10.0) -> T:
    """Poll ``check`` until it returns something truthy."""
    value: T = await eventually(check, timeout=timeout, interval=0.05)
    return value


# -- fixtures --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    rec = Receiver(url="")
    with serve(_receiver_app(rec), "the webhook receiver") as base_url:
        rec.url = f"{base_url}/webhooks/stripe"
        yield rec


@pytest.fixture(scope="module")
def sim_base(receiver: Receiver) -> Iterator[str]:
    app = create_app(webhook_url=receiver.url, webhook_secret=SECRET, webhook_backoff=0.05)
    with serve(app, "the simulator") as base_url:
        yield base_url


@pytest.fixture
async def sim(sim_base: str, receiver: Receiver) -> AsyncIterator[httpx.AsyncClient]:
    """Control client of the simulator; state and receiver are reset before each test."""
    async with httpx.AsyncClient(base_url=sim_base, timeout=10) as client:
        (await client.post("/_sim/reset")).raise_for_status()
        receiver.clear()
        yield client


@pytest.fixture
async def gateway(sim: httpx.AsyncClient) -> AsyncIterator[StripeGateway]:
    gw = gateway_from_settings("", str(sim.base_url).rstrip("/"))
    yield gw
    await gw.close()


async def _authorize(gw: StripeGateway, key: str, **overrides: Any) -> PaymentIntentResult:
    args: dict[str, Any] = {
        "amount": 12_500,
        "currency": "EUR",
        "payment_method": "pm_card_visa",
        "customer": None,
        "application_fee_amount": 1_875,
        "destination_account": DESTINATION,
        "metadata": {"payment_id": key, "booking_id": "bk_1"},
        "idempotency_key": f"payments:authorize:{key}",
    }
    args.update(overrides)
    return await gw.authorize(**args)


async def _events(sim: httpx.AsyncClient, type_: str) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {SIMULATOR_API_KEY}"}
    response = await sim.get("/v1/events", params={"type": type_, "limit": 100}, headers=headers)
    response.raise_for_status()
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def _deliveries(sim: httpx.AsyncClient, status: str) -> list[dict[str, Any]]:
    response = await sim.get("/_sim/webhooks", params={"status": status})
    response.raise_for_status()
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def _inject(sim: httpx.AsyncClient, path: str, *, count: int, status: int = 500) -> None:
    """Make the next ``count`` requests to ``path`` fail with ``status``."""
    spec = {"path": path, "count": count, "status": status}
    (await sim.post("/_sim/failures", json=spec)).raise_for_status()


# -- payment flows ---------------------------------------------------------------------------
async def test_a_charge_at_checkout_is_captured_at_once(
    gateway: StripeGateway, sim: httpx.AsyncClient
) -> None:
    charged = await _authorize(
        gateway,
        "p-charge",
        capture=True,
        application_fee_amount=0,
        destination_account=None,
        transfer_group="bk_1",
        idempotency_key="payments:charge:p-charge",
    )
    assert (charged.status, charged.amount_capturable, charged.amount_received) == (
        "succeeded",
        0,
        12_500,
    )
    assert charged.charge_id is not None and (charged.card_brand, charged.card_last4) == (
        "visa",
        "4242",
    )
    assert [e["data"]["object"]["id"] for e in await _events(sim, "payment_intent.succeeded")] == [
        charged.id
    ]
    assert await _events(sim, "payment_intent.amount_capturable_updated") == []


async def test_authorize_then_capture(gateway: StripeGateway, sim: httpx.AsyncClient) -> None:
    customer = await gateway.create_customer(guest_id="guest-1", idempotency_key="payments:c:g1")
    assert customer.startswith("cus_")

    auth = await _authorize(gateway, "p1", customer=customer)
    assert auth.status == "requires_capture"
    assert not auth.declined
    assert (auth.amount, auth.amount_capturable, auth.amount_received) == (12_500, 12_500, 0)
    assert auth.currency == "eur"
    assert auth.charge_id is not None and auth.charge_id.startswith("ch_")
    assert (auth.card_brand, auth.card_last4) == ("visa", "4242")
    assert auth.decline_code is None

    captured = await gateway.capture(auth.id, idempotency_key="payments:capture:p1")
    assert captured.status == "succeeded"
    assert (captured.amount_capturable, captured.amount_received) == (0, 12_500)
    assert captured.charge_id == auth.charge_id

    again = await gateway.retrieve(auth.id)
    assert again == captured
    assert [e["data"]["object"]["id"] for e in await _events(sim, "charge.captured")] == [
        auth.charge_id
    ]


async def test_transfer_group_charge_without_destination(
    gateway: StripeGateway, sim: httpx.AsyncClient
) -> None:
    """A Linked Booking Group's payment: no destination, a transfer group for the payouts."""
    auth = await _authorize(
        gateway,
        "g1",
        amount=48_000,
        application_fee_amount=0,
        destination_account=None,
        transfer_group="grp_g1",
        metadata={"payment_id": "g1", "group_id": "grp_g1"},
    )
    assert (auth.status, auth.transfer_group) == ("requires_capture", "grp_g1")
    captured = await gateway.capture(auth.id, idempotency_key="payments:capture:g1")
    assert (captured.status, captured.amount_received, captured.transfer_group) == (
        "succeeded",
        48_000,
        "grp_g1",
    )
    raw = await gateway.client.v1.payment_intents.retrieve_async(
        auth.id, {"expand": ["latest_charge"]}
    )
    assert (raw.transfer_data, raw.application_fee_amount) == (None, None)
    charge = raw.latest_charge
    assert isinstance(charge, stripe.Charge)
    assert (charge.transfer_group, charge.transfer_data) == ("grp_g1", None)

    # An application fee needs a destination: refused before any request.
    with pytest.raises(StripeGatewayError) as excinfo:
        await _authorize(gateway, "g2", destination_account=None, transfer_group="grp_g2")
    assert (excinfo.value.code, excinfo.value.retryable) == (
        "application_fee_requires_destination",
        False,
    )
    assert len(await _events(sim, "payment_intent.created")) == 1


async def test_partial_capture(gateway: StripeGateway) -> None:
    auth = await _authorize(gateway, "p2")
    captured = await gateway.capture(
        auth.id, amount_to_capture=10_000, idempotency_key="payments:capture:p2"
    )
    assert (captured.status, captured.amount_received) == ("succeeded", 10_000)

    with pytest.raises(StripeGatewayError) as excinfo:
        await gateway.capture(auth.id, idempotency_key="payments:capture:p2-again")
    assert excinfo.value.code == "payment_intent_unexpected_state"
    assert excinfo.value.retryable is False
    assert excinfo.value.http_status == 400


async def test_authorize_then_cancel(gateway: StripeGateway) -> None:
    auth = await _authorize(gateway, "p3")
    canceled = await gateway.cancel(
        auth.id, idempotency_key="payments:cancel:p3", cancellation_reason="requested_by_customer"
    )
    assert (canceled.status, canceled.amount_capturable) == ("canceled", 0)
    assert (await gateway.retrieve(auth.id)).status == "canceled"

    with pytest.raises(StripeGatewayError) as excinfo:
        await gateway.capture(auth.id, idempotency_key="payments:capture:p3")
    assert (excinfo.value.code, excinfo.value.retryable) == (
        "payment_intent_unexpected_state",
        False,
    )


async def test_cancel_after_capture_is_rejected(gateway: StripeGateway) -> None:
    auth = await _authorize(gateway, "p4")
    await gateway.capture(auth.id, idempotency_key="payments:capture:p4")
    with pytest.raises(StripeGatewayError) as excinfo:
        await gateway.cancel(auth.id, idempotency_key="payments:cancel:p4")
    assert (excinfo.value.code, excinfo.value.retryable) == (
        "payment_intent_unexpected_state",
        False,
    )


async def test_declined_card_is_a_result_not_an_error(gateway: StripeGateway) -> None:
    result = await _authorize(
        gateway, "p5", payment_method="pm_card_chargeDeclinedInsufficientFunds"
    )
    assert result.declined and result.status == "declined"
    assert result.decline_code == "insufficient_funds"
    assert result.failure_code == "card_declined"
    assert result.failure_message
    assert result.id.startswith("pi_")
    assert result.charge_id is not None and result.charge_id.startswith("ch_")
    assert (result.card_brand, result.card_last4) == ("visa", "9995")
    assert (result.amount_capturable, result.amount_received) == (0, 0)

    # Stripe keeps the intent in requires_payment_method with last_payment_error.
    retrieved = await gateway.retrieve(result.id)
    assert (retrieved.status, retrieved.decline_code) == ("declined", "insufficient_funds")


async def test_declined_card_number(gateway: StripeGateway) -> None:
    pm = await gateway.client.v1.payment_methods.create_async(
        {"type": "card", "card": {"number": "4000000000000002", "exp_month": 12, "exp_year": 2034}}
    )
    result = await _authorize(gateway, "p6", payment_method=pm.id)
    assert (result.status, result.decline_code) == ("declined", "generic_decline")
    assert result.card_last4 == "0002"


async def test_same_idempotency_key_replays(gateway: StripeGateway, sim: httpx.AsyncClient) -> None:
    first = await _authorize(gateway, "p7")
    second = await _authorize(gateway, "p7")
    assert second == first
    assert len(await _events(sim, "payment_intent.created")) == 1

    # Same key, different parameters: Stripe refuses (400 idempotency_error).
    with pytest.raises(StripeGatewayError) as excinfo:
        await _authorize(gateway, "p7", amount=99_900)
    assert (excinfo.value.code, excinfo.value.retryable) == ("stripe_idempotency_error", False)

    # A replayed decline is the same decline, and still one intent.
    declined = await _authorize(gateway, "p8", payment_method="pm_card_chargeDeclined")
    assert await _authorize(gateway, "p8", payment_method="pm_card_chargeDeclined") == declined
    assert len(await _events(sim, "payment_intent.created")) == 2


async def test_authorization_expires_after_seven_days(
    gateway: StripeGateway, sim: httpx.AsyncClient
) -> None:
    auth = await _authorize(gateway, "p9")
    (await sim.post("/_sim/clock/advance", json={"seconds": 8 * 24 * 3600})).raise_for_status()
    assert (await gateway.retrieve(auth.id)).status == "canceled"
    assert await _events(sim, "charge.expired")


# -- webhooks --------------------------------------------------------------------------------
async def _received_of(receiver: Receiver, type_: str, object_id: str) -> Received:
    async def find() -> Received | None:
        with receiver.lock:
            for item in receiver.requests:
                event = parse_webhook(item.body, item.signature, SECRET)
                if event.type == type_ and event.data.object["id"] == object_id:
                    return item
        return None

    found = await _eventually(find)
    assert found is not None
    return found


async def test_signed_webhook_is_delivered_and_verifies(
    gateway: StripeGateway, sim: httpx.AsyncClient, receiver: Receiver
) -> None:
    auth = await _authorize(gateway, "w1")
    item = await _received_of(receiver, "payment_intent.amount_capturable_updated", auth.id)

    event = parse_webhook(item.body, item.signature, SECRET)
    assert event.id.startswith("evt_")
    assert event.api_version == STRIPE_API_VERSION  # the pinned version was sent
    assert event.data.object["status"] == "requires_capture"
    assert event.data.object["amount_capturable"] == 12_500
    assert event.request is not None
    assert event.request.idempotency_key == "payments:authorize:w1"

    async def delivered() -> bool:
        return event.id in {d["event_id"] for d in await _deliveries(sim, "delivered")}

    await _eventually(delivered)
    response = await sim.get(
        f"/v1/events/{event.id}", headers={"Authorization": f"Bearer {SIMULATOR_API_KEY}"}
    )
    retrieved = response.json()
    assert retrieved["type"] == "payment_intent.amount_capturable_updated"


async def test_tampered_or_stale_webhooks_are_rejected(
    gateway: StripeGateway, receiver: Receiver
) -> None:
    auth = await _authorize(gateway, "w2")
    item = await _received_of(receiver, "payment_intent.amount_capturable_updated", auth.id)

    tampered = item.body.replace(b'"amount_capturable": 12500', b'"amount_capturable": 99999')
    assert tampered != item.body
    with pytest.raises(WebhookSignatureError):
        parse_webhook(tampered, item.signature, SECRET)
    with pytest.raises(WebhookSignatureError):
        parse_webhook(item.body, item.signature, "whsec_wrong")
    with pytest.raises(WebhookSignatureError):
        parse_webhook(item.body, "", SECRET)
    stale = sign(item.body, SECRET, int(time.time()) - 3600)
    with pytest.raises(WebhookSignatureError):
        parse_webhook(item.body, stale, SECRET, tolerance=300)


async def test_webhook_delivery_is_retried(
    gateway: StripeGateway, sim: httpx.AsyncClient, receiver: Receiver
) -> None:
    with receiver.lock:
        receiver.fail_next = 2
    customer = await gateway.create_customer(guest_id="guest-w3", idempotency_key="payments:c:w3")
    await _received_of(receiver, "customer.created", customer)
    deliveries = await _eventually(lambda: _deliveries(sim, "delivered"))
    assert [(d["event_type"], d["attempts"]) for d in deliveries] == [("customer.created", 3)]
    assert await _deliveries(sim, "undelivered") == []


# -- transient failures ----------------------------------------------------------------------
async def test_injected_500_raises_retryable_error(
    gateway: StripeGateway, sim: httpx.AsyncClient
) -> None:
    # 1 call + 2 SDK retries (max_network_retries=2) all fail.
    await _inject(sim, "/v1/payment_intents", count=3)
    with pytest.raises(StripeGatewayError) as excinfo:
        await _authorize(gateway, "f1")
    assert excinfo.value.retryable is True
    assert (excinfo.value.code, excinfo.value.http_status) == ("stripe_api_error", 500)
    assert (await sim.get("/_sim/failures")).json()["data"] == []

    # The failed attempts stored nothing under the key: retrying later succeeds, once.
    result = await _authorize(gateway, "f1")
    assert result.status == "requires_capture"
    assert len(await _events(sim, "payment_intent.created")) == 1


async def test_sdk_retries_transient_failures_with_same_key(
    gateway: StripeGateway, sim: httpx.AsyncClient
) -> None:
    await _inject(sim, "/v1/payment_intents/*/capture", count=2)
    auth = await _authorize(gateway, "f2")
    captured = await gateway.capture(auth.id, idempotency_key="payments:capture:f2")
    assert captured.status == "succeeded"
    assert len(await _events(sim, "charge.captured")) == 1


async def test_rate_limit_is_retryable(gateway: StripeGateway, sim: httpx.AsyncClient) -> None:
    await _inject(sim, "/v1/customers", count=3, status=429)
    with pytest.raises(StripeGatewayError) as excinfo:
        await gateway.create_customer(guest_id="g", idempotency_key="payments:c:rl")
    assert (excinfo.value.code, excinfo.value.retryable) == ("stripe_rate_limited", True)


async def test_unreachable_stripe_is_retryable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gw = StripeGateway(SIMULATOR_API_KEY, f"http://127.0.0.1:{port}", max_network_retries=0)
    try:
        with pytest.raises(StripeGatewayError) as excinfo:
            await gw.retrieve("pi_123")
        assert (excinfo.value.code, excinfo.value.retryable) == ("stripe_connection_error", True)
    finally:
        await gw.close()


async def test_unknown_intent_is_not_retryable(gateway: StripeGateway) -> None:
    with pytest.raises(StripeGatewayError) as excinfo:
        await gateway.retrieve("pi_doesnotexist")
    assert (excinfo.value.code, excinfo.value.retryable, excinfo.value.http_status) == (
        "resource_missing",
        False,
        404,
    )


# -- saved cards & off-session charges (Request-to-Book more than 6 days out) ---------------------
async def _customer(gw: StripeGateway, guest: str) -> str:
    return await gw.create_customer(guest_id=guest, idempotency_key=f"payments:customer:{guest}")


async def _save(
    gw: StripeGateway, customer: str, key: str, payment_method: str = "pm_card_visa"
) -> SetupIntentResult:
    return await gw.save_payment_method(
        customer=customer,
        payment_method=payment_method,
        metadata={"booking_id": key},
        idempotency_key=f"payments:save_payment_method:{key}",
    )


async def _charge(
    gw: StripeGateway, customer: str, payment_method: str, key: str, **overrides: Any
) -> PaymentIntentResult:
    args: dict[str, Any] = {
        "amount": 40_000,
        "currency": "EUR",
        "customer": customer,
        "payment_method": payment_method,
        "application_fee_amount": 6_000,
        "destination_account": DESTINATION,
        "metadata": {"payment_id": key, "booking_id": "bk_rtb"},
        "capture": True,
        "idempotency_key": f"payments:charge_off_session:{key}",
    }
    args.update(overrides)
    return await gw.charge_off_session(**args)


async def _authenticate(sim: httpx.AsyncClient, intent_id: str, outcome: str = "complete") -> None:
    response = await sim.post(f"/_sim/intents/{intent_id}/authenticate", json={"outcome": outcome})
    response.raise_for_status()


async def _fail_next_off_session(sim: httpx.AsyncClient, customer: str, **spec: Any) -> None:
    response = await sim.post(f"/_sim/customers/{customer}/fail_next_off_session", json=spec)
    response.raise_for_status()


async def test_save_then_charge_off_session(
    gateway: StripeGateway, sim: httpx.AsyncClient, receiver: Receiver
) -> None:
    customer = await _customer(gateway, "guest-rtb-1")
    saved = await _save(gateway, customer, "s1")
    assert isinstance(saved, SetupIntentResult)
    assert saved.id.startswith("seti_")
    assert (saved.status, saved.declined) == ("succeeded", False)
    # A test id becomes a real PaymentMethod, saved to the customer: charge that one later.
    assert saved.payment_method is not None and saved.payment_method.startswith("pm_")
    assert saved.payment_method != "pm_card_visa"
    assert (saved.card_brand, saved.card_last4) == ("visa", "4242")
    assert (saved.failure_code, saved.decline_code, saved.failure_message) == (None, None, None)
    assert saved.client_secret is not None
    assert await gateway.retrieve_setup_intent(saved.id) == saved

    charged = await _charge(gateway, customer, saved.payment_method, "c1")
    assert (charged.status, charged.declined, charged.authentication_required) == (
        "succeeded",
        False,
        False,
    )
    assert (charged.amount, charged.amount_received, charged.amount_capturable) == (
        40_000,
        40_000,
        0,
    )
    assert charged.charge_id is not None and charged.charge_id.startswith("ch_")
    assert (charged.card_brand, charged.card_last4) == ("visa", "4242")
    assert await gateway.retrieve(charged.id) == charged

    held = await _charge(gateway, customer, saved.payment_method, "c2", capture=False)
    assert (held.status, held.amount_capturable) == ("requires_capture", 40_000)
    captured = await gateway.capture(held.id, idempotency_key="payments:capture:c2")
    assert captured.status == "succeeded"

    item = await _received_of(receiver, "setup_intent.succeeded", saved.id)
    event = parse_webhook(item.body, item.signature, SECRET)
    assert event.data.object["payment_method"] == saved.payment_method
    assert event.data.object["metadata"]["booking_id"] == "s1"


async def test_off_session_charge_of_a_transfer_group(gateway: StripeGateway) -> None:
    customer = await _customer(gateway, "guest-grp-1")
    saved = await _save(gateway, customer, "s-grp-1")
    assert saved.payment_method is not None
    charged = await _charge(
        gateway,
        customer,
        saved.payment_method,
        "c-grp-1",
        application_fee_amount=0,
        destination_account=None,
        transfer_group="grp_c1",
    )
    assert (charged.status, charged.amount_received, charged.transfer_group) == (
        "succeeded",
        40_000,
        "grp_c1",
    )
    raw = await gateway.client.v1.payment_intents.retrieve_async(charged.id)
    assert (raw.transfer_data, raw.transfer_group) == (None, "grp_c1")


async def test_an_authorization_saving_the_card_can_be_charged_off_session_later(
    gateway: StripeGateway, sim: httpx.AsyncClient
) -> None:
    customer = await _customer(gateway, "guest-sfu-1")
    auth = await _authorize(gateway, "sfu1", customer=customer, setup_future_usage="off_session")
    assert auth.status == "requires_capture"
    saved = auth.payment_method
    assert saved is not None and saved.startswith("pm_") and saved != "pm_card_visa"
    await gateway.capture(auth.id, idempotency_key="payments:capture:sfu1")

    charged = await _charge(
        gateway, customer, saved, "sfu1-extra", amount=2_500, application_fee_amount=375
    )
    assert (charged.status, charged.amount_received, charged.payment_method) == (
        "succeeded",
        2_500,
        saved,
    )
    await _fail_next_off_session(sim, customer)
    declined = await _charge(
        gateway, customer, saved, "sfu1-declined", amount=2_500, application_fee_amount=375
    )
    assert (declined.status, declined.failure_code) == ("declined", "card_declined")

    # Without it, the authorization's card is not saved: an off-session charge is refused.
    once = await _authorize(gateway, "sfu2", customer=customer)
    assert once.payment_method is not None
    with pytest.raises(StripeGatewayError) as excinfo:
        await _charge(gateway, customer, once.payment_method, "sfu2-extra")
    assert (excinfo.value.param, excinfo.value.retryable) == ("payment_method", False)


async def test_saving_a_declining_card_is_a_declined_result(gateway: StripeGateway) -> None:
    customer = await _customer(gateway, "guest-rtb-2")
    result = await _save(gateway, customer, "s2", "pm_card_chargeDeclined")
    assert (result.status, result.declined) == ("declined", True)
    assert result.id.startswith("seti_")
    assert (result.failure_code, result.decline_code) == ("card_declined", "generic_decline")
    assert result.failure_message
    assert (result.card_brand, result.card_last4) == ("visa", "0002")
    assert result.payment_method is not None and result.payment_method.startswith("pm_")

    # Stripe keeps the SetupIntent in requires_payment_method with last_setup_error.
    retrieved = await gateway.retrieve_setup_intent(result.id)
    assert (retrieved.status, retrieved.failure_code, retrieved.decline_code) == (
        "declined",
        "card_declined",
        "generic_decline",
    )
    assert retrieved.card_last4 == "0002"


async def test_card_that_saves_but_declines_charges(gateway: StripeGateway) -> None:
    customer = await _customer(gateway, "guest-rtb-3")
    saved = await _save(gateway, customer, "s3", "pm_card_chargeCustomerFail")
    assert (saved.status, saved.card_last4) == ("succeeded", "0341")
    assert saved.payment_method is not None

    result = await _charge(gateway, customer, saved.payment_method, "c3")
    assert (result.status, result.declined, result.authentication_required) == (
        "declined",
        True,
        False,
    )
    assert (result.failure_code, result.decline_code) == ("card_declined", "generic_decline")
    assert result.id.startswith("pi_") and result.charge_id is not None
    assert (result.amount_received, result.card_last4) == (0, "0341")
    assert (await gateway.retrieve(result.id)).decline_code == "generic_decline"


async def test_authentication_required(gateway: StripeGateway, sim: httpx.AsyncClient) -> None:
    customer = await _customer(gateway, "guest-rtb-4")
    # Saving a 3DS card needs the guest to authenticate once ...
    saved = await _save(gateway, customer, "s4", "pm_card_authenticationRequired")
    assert (saved.status, saved.declined) == ("requires_action", False)
    assert saved.client_secret is not None and saved.payment_method is not None
    await _authenticate(sim, saved.id)
    saved = await gateway.retrieve_setup_intent(saved.id)
    assert saved.status == "succeeded"
    assert saved.payment_method is not None

    # ... and this card asks again for every charge: off-session that is a decline.
    result = await _charge(gateway, customer, saved.payment_method, "c4", capture=False)
    assert (result.status, result.declined, result.authentication_required) == (
        "declined",
        True,
        True,
    )
    assert (result.failure_code, result.decline_code) == (
        "authentication_required",
        "authentication_required",
    )
    retrieved = await gateway.retrieve(result.id)
    assert (retrieved.status, retrieved.failure_code) == ("declined", "authentication_required")
    assert retrieved.authentication_required

    # A failed authentication while saving leaves nothing saved.
    again = await _save(gateway, customer, "s4b", "pm_card_authenticationRequired")
    await _authenticate(sim, again.id, "fail")
    failed = await gateway.retrieve_setup_intent(again.id)
    assert (failed.status, failed.failure_code) == (
        "declined",
        "setup_intent_authentication_failure",
    )


async def test_fail_next_off_session_control(
    gateway: StripeGateway, sim: httpx.AsyncClient
) -> None:
    customer = await _customer(gateway, "guest-rtb-5")
    saved = await _save(gateway, customer, "s5")
    assert saved.payment_method is not None

    await _fail_next_off_session(
        sim, customer, code="card_declined", decline_code="insufficient_funds"
    )
    declined = await _charge(gateway, customer, saved.payment_method, "c5")
    assert (declined.status, declined.failure_code, declined.decline_code) == (
        "declined",
        "card_declined",
        "insufficient_funds",
    )
    assert not declined.authentication_required

    await _fail_next_off_session(sim, customer, code="authentication_required")
    auth = await _charge(gateway, customer, saved.payment_method, "c5b")
    assert auth.authentication_required
    assert (auth.failure_code, auth.decline_code) == (
        "authentication_required",
        "authentication_required",
    )

    # Only the next charge fails: the retry (a new payment attempt, new key) goes through.
    ok = await _charge(gateway, customer, saved.payment_method, "c5c")
    assert ok.status == "succeeded"


async def test_saved_card_idempotent_replays(
    gateway: StripeGateway, sim: httpx.AsyncClient
) -> None:
    customer = await _customer(gateway, "guest-rtb-6")
    first = await _save(gateway, customer, "s6")
    assert await _save(gateway, customer, "s6") == first
    assert len(await _events(sim, "setup_intent.created")) == 1
    assert len(await _events(sim, "payment_method.attached")) == 1
    assert first.payment_method is not None

    declined = await _save(gateway, customer, "s6-declined", "pm_card_chargeDeclined")
    assert await _save(gateway, customer, "s6-declined", "pm_card_chargeDeclined") == declined
    assert len(await _events(sim, "setup_intent.created")) == 2

    charged = await _charge(gateway, customer, first.payment_method, "c6")
    assert await _charge(gateway, customer, first.payment_method, "c6") == charged
    assert len(await _events(sim, "payment_intent.created")) == 1

    # A replayed decline is the same decline and does not consume another forced failure.
    await _fail_next_off_session(sim, customer, count=2)
    failed = await _charge(gateway, customer, first.payment_method, "c6-failed")
    assert failed.declined
    assert await _charge(gateway, customer, first.payment_method, "c6-failed") == failed
    pending = (await sim.get(f"/_sim/customers/{customer}/fail_next_off_session")).json()["data"]
    assert len(pending) == 1

    # Same key, other parameters: refused.
    with pytest.raises(StripeGatewayError) as excinfo:
        await _charge(gateway, customer, first.payment_method, "c6", amount=1_000)
    assert (excinfo.value.code, excinfo.value.retryable) == ("stripe_idempotency_error", False)
    with pytest.raises(StripeGatewayError) as excinfo:
        await _save(gateway, customer, "s6", "pm_card_mastercard")
    assert excinfo.value.code == "stripe_idempotency_error"


async def test_off_session_charge_needs_a_saved_card(gateway: StripeGateway) -> None:
    customer = await _customer(gateway, "guest-rtb-7")
    with pytest.raises(StripeGatewayError) as excinfo:
        await _charge(gateway, customer, "pm_card_visa", "c7")  # never saved to the customer
    assert (excinfo.value.retryable, excinfo.value.http_status, excinfo.value.param) == (
        False,
        400,
        "payment_method",
    )

    with pytest.raises(StripeGatewayError) as excinfo:
        await _save(gateway, "cus_unknown", "s7")
    assert (excinfo.value.code, excinfo.value.param, excinfo.value.retryable) == (
        "resource_missing",
        "customer",
        False,
    )


async def test_save_payment_method_transient_failure_is_retryable(
    gateway: StripeGateway, sim: httpx.AsyncClient
) -> None:
    customer = await _customer(gateway, "guest-rtb-8")
    await _inject(sim, "/v1/setup_intents", count=3)
    with pytest.raises(StripeGatewayError) as excinfo:
        await _save(gateway, customer, "s8")
    assert (excinfo.value.code, excinfo.value.retryable) == ("stripe_api_error", True)
    assert (await _save(gateway, customer, "s8")).status == "succeeded"
    assert len(await _events(sim, "setup_intent.created")) == 1


# -- refunds ---------------------------------------------------------------------------------
async def _captured(gw: StripeGateway, key: str, **overrides: Any) -> PaymentIntentResult:
    auth = await _authorize(gw, key, **overrides)
    return await gw.capture(auth.id, idempotency_key=f"payments:capture:{key}")


async def _refund(
    gw: StripeGateway, intent: PaymentIntentResult, refund_id: str, amount: int, **flags: bool
) -> RefundResult:
    return await gw.refund(
        payment_intent_id=intent.id,
        amount=amount,
        metadata={"refund_id": refund_id, "payment_id": "p"},
        idempotency_key=f"payments:refund:{refund_id}",
        **flags,
    )


async def _stripe(sim: httpx.AsyncClient, path: str, **params: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {SIMULATOR_API_KEY}"}
    response = await sim.get(path, params=params, headers=headers)
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


async def test_refund_of_a_destination_charge_reverses_the_transfer_and_the_fee(
    gateway: StripeGateway, sim: httpx.AsyncClient
) -> None:
    captured = await _captured(gateway, "r1")  # 12 500, fee 1 875, to DESTINATION
    first = await _refund(
        gateway, captured, "r1-a", 5_000, reverse_transfer=True, refund_application_fee=True
    )
    assert first.id.startswith("re_") and first.accepted
    assert (first.status, first.amount, first.currency) == ("succeeded", 5_000, "eur")
    assert (first.payment_intent_id, first.charge_id) == (captured.id, captured.charge_id)
    assert first.transfer_reversal_id is not None

    charge = await _stripe(sim, f"/v1/charges/{captured.charge_id}")
    assert (charge["amount_refunded"], charge["refunded"]) == (5_000, False)
    transfer = await _stripe(sim, f"/v1/transfers/{charge['transfer']}")
    fee = await _stripe(sim, f"/v1/application_fees/{charge['application_fee']}")
    assert (transfer["amount_reversed"], fee["amount_refunded"]) == (4_250, 750)  # 40 %
    stored = await _stripe(sim, f"/v1/refunds/{first.id}")
    assert stored["metadata"] == {"refund_id": "r1-a", "payment_id": "p"}

    rest = await _refund(
        gateway, captured, "r1-b", 7_500, reverse_transfer=True, refund_application_fee=True
    )
    assert rest.amount == 7_500
    charge = await _stripe(sim, f"/v1/charges/{captured.charge_id}")
    assert charge["refunded"] is True
    assert (await _stripe(sim, f"/v1/transfers/{charge['transfer']}"))["reversed"] is True


async def test_refund_of_a_group_charge_takes_it_from_the_platform(
    gateway: StripeGateway, sim: httpx.AsyncClient
) -> None:
    captured = await _captured(
        gateway,
        "r2",
        amount=48_000,
        application_fee_amount=0,
        destination_account=None,
        transfer_group="grp_r2",
        metadata={"payment_id": "r2", "group_id": "grp_r2"},
    )
    result = await _refund(gateway, captured, "r2-leg1", 20_000)
    assert (result.amount, result.transfer_reversal_id) == (20_000, None)
    charge = await _stripe(sim, f"/v1/charges/{captured.charge_id}")
    assert (charge["amount_refunded"], charge["transfer"]) == (20_000, None)


async def test_a_refund_is_idempotent(gateway: StripeGateway, sim: httpx.AsyncClient) -> None:
    captured = await _captured(gateway, "r3")
    first = await _refund(gateway, captured, "r3-a", 1_000)
    again = await _refund(gateway, captured, "r3-a", 1_000)
    assert again == first
    listed = await _stripe(sim, "/v1/refunds", payment_intent=captured.id)
    assert [r["id"] for r in listed["data"]] == [first.id]


async def test_over_refund_and_uncaptured_refund_are_refused_for_good(
    gateway: StripeGateway,
) -> None:
    captured = await _captured(gateway, "r4")
    with pytest.raises(StripeGatewayError) as excinfo:
        await _refund(gateway, captured, "r4-a", 12_501)
    assert (excinfo.value.code, excinfo.value.retryable, excinfo.value.http_status) == (
        "amount_too_large",
        False,
        400,
    )
    assert excinfo.value.param == "amount"
    await _refund(gateway, captured, "r4-b", 12_500)
    with pytest.raises(StripeGatewayError) as excinfo:
        await _refund(gateway, captured, "r4-c", 1)
    assert (excinfo.value.code, excinfo.value.retryable) == ("charge_already_refunded", False)

    authorized = await _authorize(gateway, "r5")
    with pytest.raises(StripeGatewayError) as excinfo:
        await _refund(gateway, authorized, "r5-a", 100)
    assert (excinfo.value.retryable, excinfo.value.param) == (False, "payment_intent")
    with pytest.raises(ValueError):
        await _refund(gateway, captured, "r4-d", 0)


async def test_refund_failures_are_retryable_and_retried_with_the_same_key(
    gateway: StripeGateway, sim: httpx.AsyncClient
) -> None:
    captured = await _captured(gateway, "r6")
    spec = {"operation": "refund", "count": 3, "status": 503}
    (await sim.post("/_sim/fail_next", json=spec)).raise_for_status()
    with pytest.raises(StripeGatewayError) as excinfo:  # 1 call + 2 SDK retries
        await _refund(gateway, captured, "r6-a", 2_000)
    assert (excinfo.value.code, excinfo.value.retryable) == ("stripe_api_error", True)

    spec = {"operation": "refund", "count": 2, "status": 500}
    (await sim.post("/_sim/fail_next", json=spec)).raise_for_status()
    result = await _refund(gateway, captured, "r6-a", 2_000)  # the SDK's retries get through
    assert result.amount == 2_000
    listed = await _stripe(sim, "/v1/refunds", payment_intent=captured.id)
    assert [r["id"] for r in listed["data"]] == [result.id]
    assert len(await _events(sim, "charge.refunded")) == 1


async def test_partial_capture_with_a_smaller_application_fee(
    gateway: StripeGateway, sim: httpx.AsyncClient
) -> None:
    auth = await _authorize(gateway, "r7")  # 12 500, fee 1 875
    captured = await gateway.capture(
        auth.id,
        amount_to_capture=10_000,
        application_fee_amount=1_500,
        idempotency_key="payments:capture:r7",
    )
    assert (captured.status, captured.amount_received) == ("succeeded", 10_000)
    charge = await _stripe(sim, f"/v1/charges/{captured.charge_id}")
    assert charge["application_fee_amount"] == 1_500
    assert (await _stripe(sim, f"/v1/transfers/{charge['transfer']}"))["amount"] == 8_500


async def test_a_capture_tells_whether_the_charge_passed_3d_secure(
    gateway: StripeGateway, sim: httpx.AsyncClient
) -> None:
    """What a dispute's liability needs: 3-D Secure shifts fraud liability to the issuer."""
    challenged = await gateway.authorize(
        amount=6_000,
        currency="usd",
        payment_method="pm_card_authenticationRequired",
        customer=None,
        application_fee_amount=0,
        destination_account=None,
        metadata={},
        idempotency_key="payments:authorize:3ds1",
    )
    assert challenged.status == "requires_action"
    await _authenticate(sim, challenged.id)
    captured = await gateway.capture(challenged.id, idempotency_key="payments:capture:3ds1")
    assert (captured.status, captured.three_d_secure) == ("succeeded", True)
    plain = await _authorize(gateway, "3ds2")
    captured = await gateway.capture(plain.id, idempotency_key="payments:capture:3ds2")
    assert (captured.status, captured.three_d_secure) == ("succeeded", False)
