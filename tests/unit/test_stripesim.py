"""Unit tests of the Stripe simulator: form parsing, state machine, idempotency, controls.

The app runs in-process over httpx's ASGI transport (no sockets, no webhooks configured).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi.testclient import TestClient
from stripe import WebhookSignature
from stripe._encode import _api_encode

from stripesim import create_app
from stripesim.errors import StripeAPIError
from stripesim.forms import parse_form, split_key
from stripesim.webhooks import sign

KEY = "sk_test_unit"
AUTH = {"Authorization": f"Bearer {KEY}"}


# -- forms -----------------------------------------------------------------------------------
def test_split_key() -> None:
    assert split_key("amount") == ["amount"]
    assert split_key("metadata[booking_id]") == ["metadata", "booking_id"]
    assert split_key("expand[]") == ["expand", ""]
    assert split_key("items[0][price]") == ["items", "0", "price"]


def test_parse_bracket_notation() -> None:
    body = (
        "amount=1000&currency=usd&confirm=true"
        "&metadata[booking_id]=bk_1&metadata[note]=a%20b%26c"
        "&transfer_data[destination]=acct_1"
        "&expand[0]=latest_charge&expand[1]=customer"
        "&items[0][price]=p1&items[0][quantity]=2&items[1][price]=p2"
        "&tags[]=x&tags[]=y&description="
    )
    assert parse_form(body) == {
        "amount": "1000",
        "currency": "usd",
        "confirm": "true",
        "metadata": {"booking_id": "bk_1", "note": "a b&c"},
        "transfer_data": {"destination": "acct_1"},
        "expand": ["latest_charge", "customer"],
        "items": [{"price": "p1", "quantity": "2"}, {"price": "p2"}],
        "tags": ["x", "y"],
        "description": "",
    }


def test_parse_percent_encoded_brackets_and_bytes() -> None:
    assert parse_form(b"metadata%5Bk%5D=v&expand%5B%5D=a") == {
        "metadata": {"k": "v"},
        "expand": ["a"],
    }


def test_parse_what_the_stripe_sdk_encodes() -> None:
    params: dict[str, Any] = {
        "amount": 12_500,
        "confirm": True,
        "metadata": {"payment_id": "p1", "booking_id": "b1"},
        "transfer_data": {"destination": "acct_1"},
        "expand": ["latest_charge"],
        "allowed_payment_method_types": ["card"],
    }
    encoded = urlencode(list(_api_encode(params))).replace("%5B", "[").replace("%5D", "]")
    assert parse_form(encoded) == {
        "amount": "12500",
        "confirm": "true",
        "metadata": {"payment_id": "p1", "booking_id": "b1"},
        "transfer_data": {"destination": "acct_1"},
        "expand": ["latest_charge"],
        "allowed_payment_method_types": ["card"],
    }


@pytest.mark.parametrize("body", ["a=1&a[b]=2", "a[b]=2&a=1"])
def test_parse_rejects_scalar_hash_conflicts(body: str) -> None:
    with pytest.raises(StripeAPIError) as excinfo:
        parse_form(body)
    assert excinfo.value.status == 400
    assert excinfo.value.type == "invalid_request_error"


# -- fixtures & helpers ----------------------------------------------------------------------
@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    """The app in-process over ASGI (no lifespan: no webhook endpoint is configured)."""
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


async def post(
    api: httpx.AsyncClient, path: str, data: dict[str, Any] | None = None, key: str | None = None
) -> httpx.Response:
    headers = dict(AUTH)
    if key is not None:
        headers["Idempotency-Key"] = key
    body = urlencode(list(_api_encode(data or {})))
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return await api.post(path, content=body, headers=headers)


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    err: dict[str, Any] = response.json()["error"]
    assert set(err) >= {"type", "message"}
    return err


async def event_types(api: httpx.AsyncClient) -> list[str]:
    events = ok(await api.get("/v1/events", params={"limit": 100}, headers=AUTH))["data"]
    return [e["type"] for e in reversed(events)]


async def intent(api: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    return ok(await post(api, "/v1/payment_intents", {"amount": 5000, "currency": "usd", **params}))


# -- objects ---------------------------------------------------------------------------------
async def test_objects_carry_stripe_fields(api: httpx.AsyncClient) -> None:
    customer = ok(await post(api, "/v1/customers", {"metadata": {"guest_id": "g1"}}))
    pm = ok(await post(api, "/v1/payment_methods", {"type": "card", "card": {"token": "tok_visa"}}))
    pi = await intent(api, customer=customer["id"], payment_method=pm["id"])
    for obj, kind, prefix in (
        (customer, "customer", "cus_"),
        (pm, "payment_method", "pm_"),
        (pi, "payment_intent", "pi_"),
    ):
        assert obj["object"] == kind and obj["id"].startswith(prefix)
        assert obj["livemode"] is False and isinstance(obj["created"], int)
        assert isinstance(obj["metadata"], dict)
    assert customer["metadata"] == {"guest_id": "g1"}
    assert pm["card"]["last4"] == "4242" and pm["card"]["brand"] == "visa"
    assert ok(await api.get(f"/v1/customers/{customer['id']}", headers=AUTH)) == customer


async def test_magic_payment_method_ids_and_attach(api: httpx.AsyncClient) -> None:
    customer = ok(await post(api, "/v1/customers"))
    pm = ok(
        await post(
            api, "/v1/payment_methods/pm_card_mastercard/attach", {"customer": customer["id"]}
        )
    )
    assert pm["id"].startswith("pm_") and pm["id"] != "pm_card_mastercard"
    assert (pm["customer"], pm["card"]["brand"]) == (customer["id"], "mastercard")
    # Attached to a customer: using it without that customer is refused.
    err = error(
        await post(
            api,
            "/v1/payment_intents",
            {"amount": 900, "currency": "usd", "payment_method": pm["id"]},
        ),
        400,
    )
    assert err["param"] == "payment_method"


# -- state machine ---------------------------------------------------------------------------
async def test_manual_capture_flow(api: httpx.AsyncClient) -> None:
    pi = await intent(api, capture_method="manual")
    assert pi["status"] == "requires_payment_method"
    err = error(await post(api, f"/v1/payment_intents/{pi['id']}/confirm"), 400)
    assert err["code"] == "payment_intent_unexpected_state"

    pi = ok(
        await post(
            api,
            f"/v1/payment_intents/{pi['id']}/confirm",
            {"payment_method": "pm_card_visa", "expand": ["latest_charge"]},
        )
    )
    assert (pi["status"], pi["amount_capturable"], pi["amount_received"]) == (
        "requires_capture",
        5000,
        0,
    )
    charge = pi["latest_charge"]
    assert charge["id"].startswith("ch_") and charge["captured"] is False
    assert charge["payment_method_details"]["card"]["last4"] == "4242"

    err = error(
        await post(api, f"/v1/payment_intents/{pi['id']}/capture", {"amount_to_capture": 6000}), 400
    )
    assert err["param"] == "amount_to_capture"
    pi = ok(await post(api, f"/v1/payment_intents/{pi['id']}/capture", {"amount_to_capture": 4000}))
    assert (pi["status"], pi["amount_capturable"], pi["amount_received"]) == ("succeeded", 0, 4000)

    err = error(await post(api, f"/v1/payment_intents/{pi['id']}/capture"), 400)
    assert err["code"] == "payment_intent_unexpected_state"
    assert err["payment_intent"]["status"] == "succeeded"
    err = error(await post(api, f"/v1/payment_intents/{pi['id']}/cancel"), 400)
    assert err["code"] == "payment_intent_unexpected_state"
    assert await event_types(api) == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.amount_capturable_updated",
        "charge.captured",
        "payment_intent.succeeded",
    ]


async def test_requires_confirmation_then_automatic_capture(api: httpx.AsyncClient) -> None:
    pi = await intent(api, payment_method="pm_card_visa")
    assert pi["status"] == "requires_confirmation"
    pi = ok(await post(api, f"/v1/payment_intents/{pi['id']}/confirm"))
    assert (pi["status"], pi["amount_received"]) == ("succeeded", 5000)
    assert (await event_types(api))[-1] == "payment_intent.succeeded"


async def test_cancel_authorized_intent_releases_charge(api: httpx.AsyncClient) -> None:
    pi = await intent(api, capture_method="manual", payment_method="pm_card_visa", confirm=True)
    pi = ok(
        await post(
            api, f"/v1/payment_intents/{pi['id']}/cancel", {"cancellation_reason": "abandoned"}
        )
    )
    assert (pi["status"], pi["cancellation_reason"], pi["amount_capturable"]) == (
        "canceled",
        "abandoned",
        0,
    )
    charge = ok(await api.get(f"/v1/charges/{pi['latest_charge']}", headers=AUTH))
    assert charge["refunded"] is True
    assert (await event_types(api))[-2:] == ["charge.refunded", "payment_intent.canceled"]
    err = error(await post(api, f"/v1/payment_intents/{pi['id']}/cancel"), 400)
    assert err["code"] == "payment_intent_unexpected_state"


@pytest.mark.parametrize(
    ("card", "decline_code", "last4"),
    [
        ({"number": "4000000000000002"}, "generic_decline", "0002"),
        ({"number": "4000000000009995"}, "insufficient_funds", "9995"),
        ({"token": "tok_chargeDeclined"}, "generic_decline", "0002"),
    ],
)
async def test_decline_then_retry_with_another_card(
    api: httpx.AsyncClient, card: dict[str, str], decline_code: str, last4: str
) -> None:
    pm = ok(await post(api, "/v1/payment_methods", {"type": "card", "card": card}))
    response = await post(
        api,
        "/v1/payment_intents",
        {
            "amount": 5000,
            "currency": "usd",
            "capture_method": "manual",
            "confirm": True,
            "payment_method": pm["id"],
        },
    )
    err = error(response, 402)
    assert (err["type"], err["code"], err["decline_code"]) == (
        "card_error",
        "card_declined",
        decline_code,
    )
    assert err["payment_method"]["card"]["last4"] == last4
    pi = err["payment_intent"]
    assert (pi["status"], pi["payment_method"]) == ("requires_payment_method", None)
    assert pi["last_payment_error"]["decline_code"] == decline_code
    assert err["charge"] == pi["latest_charge"]
    assert (await event_types(api))[-2:] == ["charge.failed", "payment_intent.payment_failed"]

    pi = ok(
        await post(
            api, f"/v1/payment_intents/{pi['id']}/confirm", {"payment_method": "pm_card_visa"}
        )
    )
    assert (pi["status"], pi["last_payment_error"]) == ("requires_capture", None)


async def test_magic_declined_payment_method(api: httpx.AsyncClient) -> None:
    response = await post(
        api,
        "/v1/payment_intents",
        {
            "amount": 5000,
            "currency": "usd",
            "confirm": True,
            "payment_method": "pm_card_chargeDeclined",
        },
    )
    assert error(response, 402)["decline_code"] == "generic_decline"


async def test_create_validation(api: httpx.AsyncClient) -> None:
    assert error(await post(api, "/v1/payment_intents", {"currency": "usd"}), 400)["code"] == (
        "parameter_missing"
    )
    assert (
        error(await post(api, "/v1/payment_intents", {"amount": "x", "currency": "usd"}), 400)[
            "param"
        ]
        == "amount"
    )
    assert (
        error(await post(api, "/v1/payment_intents", {"amount": 10, "currency": "usd"}), 400)[
            "code"
        ]
        == "amount_too_small"
    )
    err = error(
        await post(api, "/v1/payment_intents", {"amount": 900, "currency": "usd", "bogus": 1}), 400
    )
    assert (err["code"], err["param"]) == ("parameter_unknown", "bogus")
    err = error(
        await post(
            api,
            "/v1/payment_intents",
            {"amount": 900, "currency": "usd", "application_fee_amount": 100},
        ),
        400,
    )
    assert err["param"] == "application_fee_amount"
    err = error(
        await post(
            api,
            "/v1/payment_intents",
            {"amount": 900, "currency": "usd", "customer": "cus_missing"},
        ),
        404,
    )
    assert (err["code"], err["param"]) == ("resource_missing", "customer")
    pi = await intent(
        api,
        application_fee_amount=100,
        transfer_data={"destination": "acct_1"},
        on_behalf_of="acct_1",
    )
    assert pi["transfer_data"] == {"destination": "acct_1"}
    assert pi["application_fee_amount"] == 100


async def test_errors_have_stripe_shape(api: httpx.AsyncClient) -> None:
    err = error(await api.get("/v1/payment_intents/pi_nope", headers=AUTH), 404)
    assert (err["type"], err["code"]) == ("invalid_request_error", "resource_missing")
    assert error(await api.get("/v1/nothing_here", headers=AUTH), 404)["type"] == (
        "invalid_request_error"
    )
    assert error(await api.get("/v1/customers/cus_x"), 401)["type"] == "invalid_request_error"
    bad_key = {"Authorization": "Bearer pk_test_123"}
    assert (
        "Invalid API Key"
        in error(await api.get("/v1/customers/cus_x", headers=bad_key), 401)["message"]
    )


# -- idempotency -----------------------------------------------------------------------------
async def test_idempotent_replay_and_conflict(api: httpx.AsyncClient) -> None:
    params = {"amount": 5000, "currency": "usd", "metadata": {"a": "1"}}
    first = await post(api, "/v1/payment_intents", params, key="k-1")
    again = await post(api, "/v1/payment_intents", params, key="k-1")
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert await event_types(api) == ["payment_intent.created"]

    conflict = await post(api, "/v1/payment_intents", {**params, "amount": 6000}, key="k-1")
    assert error(conflict, 400)["type"] == "idempotency_error"
    other_endpoint = await post(api, "/v1/customers", {}, key="k-1")
    assert error(other_endpoint, 400)["type"] == "idempotency_error"


async def test_declines_are_replayed_validation_errors_are_not(api: httpx.AsyncClient) -> None:
    params = {
        "amount": 5000,
        "currency": "usd",
        "confirm": True,
        "payment_method": "pm_card_chargeDeclined",
    }
    first = await post(api, "/v1/payment_intents", params, key="k-decline")
    replay = await post(api, "/v1/payment_intents", params, key="k-decline")
    assert (first.status_code, replay.status_code) == (402, 402)
    assert replay.json() == first.json()

    # Validation errors are not stored: reusing the key with other params is no conflict.
    invalid = await post(api, "/v1/customers", {"bogus": 1}, key="k-invalid")
    assert error(invalid, 400)["code"] == "parameter_unknown"
    other = await post(
        api, "/v1/customers", {"bogus": 2, "email": "x@example.com"}, key="k-invalid"
    )
    assert error(other, 400)["code"] == "parameter_unknown"
    valid = await post(api, "/v1/customers", {"email": "x@example.com"}, key="k-invalid")
    assert ok(valid)["email"] == "x@example.com"


async def test_idempotency_keys_expire_after_24h(api: httpx.AsyncClient) -> None:
    first = ok(await post(api, "/v1/customers", {}, key="k-old"))
    ok(await api.post("/_sim/clock/advance", json={"seconds": 24 * 3600 + 1}))
    second = ok(await post(api, "/v1/customers", {}, key="k-old"))
    assert second["id"] != first["id"]
    assert second["created"] >= first["created"] + 24 * 3600


# -- test controls ---------------------------------------------------------------------------
async def test_injected_failures_are_counted_and_not_stored(api: httpx.AsyncClient) -> None:
    rule = ok(await api.post("/_sim/failures", json={"path": "/v1/customers", "count": 2}))
    assert rule == {"path": "/v1/customers", "remaining": 2, "status": 500, "method": None}
    for _ in range(2):
        assert error(await post(api, "/v1/customers", {}, key="k-f"), 500)["type"] == "api_error"
    assert ok(await api.get("/_sim/failures"))["data"] == []
    customer = ok(await post(api, "/v1/customers", {}, key="k-f"))
    assert customer["id"].startswith("cus_")


async def test_reset_clears_everything(api: httpx.AsyncClient) -> None:
    customer = ok(await post(api, "/v1/customers"))
    ok(await api.post("/_sim/clock/advance", json={"seconds": 60}))
    ok(await api.post("/_sim/reset"))
    assert error(await api.get(f"/v1/customers/{customer['id']}", headers=AUTH), 404)
    assert await event_types(api) == []
    assert ok(await api.get("/_sim/clock"))["offset"] == 0


async def test_clock_expires_uncaptured_authorizations(api: httpx.AsyncClient) -> None:
    pi = await intent(api, capture_method="manual", payment_method="pm_card_visa", confirm=True)
    advanced = ok(await api.post("/_sim/clock/advance", json={"seconds": 7 * 24 * 3600}))
    assert advanced["expired"] == [pi["id"]]
    pi = ok(await api.get(f"/v1/payment_intents/{pi['id']}", headers=AUTH))
    assert (pi["status"], pi["cancellation_reason"]) == ("canceled", "automatic")
    assert (await event_types(api))[-2:] == ["charge.expired", "payment_intent.canceled"]


async def test_events_listing_and_pagination(api: httpx.AsyncClient) -> None:
    for _ in range(3):
        await post(api, "/v1/customers")
    page = ok(await api.get("/v1/events", params={"limit": 2}, headers=AUTH))
    assert (len(page["data"]), page["has_more"], page["object"]) == (2, True, "list")
    rest = ok(
        await api.get("/v1/events", params={"starting_after": page["data"][-1]["id"]}, headers=AUTH)
    )
    assert len(rest["data"]) == 1 and rest["has_more"] is False
    event = ok(await api.get(f"/v1/events/{rest['data'][0]['id']}", headers=AUTH))
    assert event["type"] == "customer.created"
    assert event["data"]["object"]["object"] == "customer"


def test_webhook_signature_matches_stripe_sdk() -> None:
    payload = b'{"id": "evt_1", "object": "event"}'
    header = sign(payload, "whsec_x", 1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert WebhookSignature.verify_header(payload.decode(), header, "whsec_x", tolerance=None)


def test_state_survives_a_restart_through_the_state_file(tmp_path: Path) -> None:
    state_file = tmp_path / "sim.json"
    with TestClient(create_app(state_file=state_file)) as first:
        customer = first.post(
            "/v1/customers",
            headers=AUTH | {"Idempotency-Key": "c-1"},
            data={"email": "g@example.test"},
        ).json()
    assert state_file.exists()
    with TestClient(create_app(state_file=state_file)) as second:
        assert second.get(f"/v1/customers/{customer['id']}", headers=AUTH).status_code == 200
        replay = second.post(
            "/v1/customers",
            headers=AUTH | {"Idempotency-Key": "c-1"},
            data={"email": "g@example.test"},
        )
        assert replay.json()["id"] == customer["id"]
