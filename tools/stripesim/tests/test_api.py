"""Unit tests of the Stripe simulator: form parsing, state machine, idempotency, controls.

The app runs in-process over httpx's ASGI transport (no sockets, no webhooks configured).
"""

from __future__ import annotations

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
from stripesim.testkit import AUTH, event_types, get, ok, post
from stripesim.testkit import error as shared_error
from stripesim.webhooks import sign


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
def error(response: httpx.Response, status: int) -> dict[str, Any]:
    """The error of a ``status`` response, which has a ``type`` and a ``message``."""
    err = shared_error(response, status)
    assert set(err) >= {"type", "message"}
    return err


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


async def test_transfer_group_charge_without_destination(api: httpx.AsyncClient) -> None:
    """Separate charges and transfers: the funds stay on the platform, the transfer group is
    kept on the intent and its charge through capture."""
    pi = await intent(
        api,
        amount=48_000,
        capture_method="manual",
        payment_method="pm_card_visa",
        confirm=True,
        transfer_group="grp_1",
        expand=["latest_charge"],
    )
    assert (pi["status"], pi["transfer_group"]) == ("requires_capture", "grp_1")
    assert (pi["transfer_data"], pi["application_fee_amount"]) == (None, None)
    charge = pi["latest_charge"]
    assert (charge["transfer_group"], charge["transfer_data"]) == ("grp_1", None)
    assert charge["application_fee_amount"] is None
    pi = ok(
        await post(api, f"/v1/payment_intents/{pi['id']}/capture", {"expand": ["latest_charge"]})
    )
    assert (pi["status"], pi["amount_received"], pi["transfer_group"]) == (
        "succeeded",
        48_000,
        "grp_1",
    )
    assert (pi["latest_charge"]["captured"], pi["latest_charge"]["transfer_group"]) == (
        True,
        "grp_1",
    )
    assert ok(await api.get(f"/v1/charges/{charge['id']}", headers=AUTH))["transfer_group"] == (
        "grp_1"
    )
    # Without a destination there is no application fee to take.
    err = error(
        await post(
            api,
            "/v1/payment_intents",
            {"amount": 900, "currency": "usd", "transfer_group": "g", "application_fee_amount": 1},
        ),
        400,
    )
    assert err["param"] == "application_fee_amount"


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


# -- saved cards: SetupIntents, off-session charges, 3D Secure ----------------------------------
async def customer_id(api: httpx.AsyncClient) -> str:
    customer: dict[str, Any] = ok(await post(api, "/v1/customers"))
    return str(customer["id"])


async def setup(api: httpx.AsyncClient, customer: str, pm: str, **params: Any) -> httpx.Response:
    data = {
        "customer": customer,
        "payment_method": pm,
        "confirm": True,
        "usage": "off_session",
        "payment_method_types": ["card"],
        **params,
    }
    return await post(api, "/v1/setup_intents", data)


async def saved_card(api: httpx.AsyncClient, customer: str, pm: str = "pm_card_visa") -> str:
    si = ok(await setup(api, customer, pm))
    if si["status"] == "requires_action":
        si = ok(await api.post(f"/_sim/intents/{si['id']}/authenticate", json={}))
    assert si["status"] == "succeeded"
    return str(si["payment_method"])


async def off_session(
    api: httpx.AsyncClient, customer: str, pm: str, key: str | None = None, **params: Any
) -> httpx.Response:
    data = {
        "amount": 5000,
        "currency": "usd",
        "customer": customer,
        "payment_method": pm,
        "off_session": True,
        "confirm": True,
        **params,
    }
    return await post(api, "/v1/payment_intents", data, key=key)


async def test_setup_intent_saves_the_card_to_the_customer(api: httpx.AsyncClient) -> None:
    customer = await customer_id(api)
    si = ok(await setup(api, customer, "pm_card_visa", metadata={"booking_id": "b1"}))
    assert si["id"].startswith("seti_") and si["object"] == "setup_intent"
    assert (si["status"], si["usage"], si["customer"]) == ("succeeded", "off_session", customer)
    assert si["client_secret"].startswith(f"{si['id']}_secret_")
    assert (si["metadata"], si["last_setup_error"], si["next_action"]) == (
        {"booking_id": "b1"},
        None,
        None,
    )
    pm = ok(await api.get(f"/v1/payment_methods/{si['payment_method']}", headers=AUTH))
    assert (pm["customer"], pm["card"]["last4"]) == (customer, "4242")
    assert ok(await api.get(f"/v1/setup_intents/{si['id']}", headers=AUTH)) == si
    expanded = ok(
        await api.get(
            f"/v1/setup_intents/{si['id']}", params={"expand[]": "payment_method"}, headers=AUTH
        )
    )
    assert expanded["payment_method"]["card"]["brand"] == "visa"
    assert await event_types(api) == [
        "customer.created",
        "setup_intent.created",
        "payment_method.attached",
        "setup_intent.succeeded",
    ]


async def test_setup_intent_state_machine(api: httpx.AsyncClient) -> None:
    customer = await customer_id(api)
    si = ok(
        await post(
            api,
            "/v1/setup_intents",
            {"customer": customer, "automatic_payment_methods": {"enabled": True}},
        )
    )
    assert (si["status"], si["usage"], si["payment_method"]) == (
        "requires_payment_method",
        "off_session",
        None,
    )
    err = error(await post(api, f"/v1/setup_intents/{si['id']}/confirm"), 400)
    assert err["code"] == "setup_intent_unexpected_state"
    assert err["setup_intent"]["id"] == si["id"]

    si = ok(
        await post(
            api, "/v1/setup_intents", {"customer": customer, "payment_method": "pm_card_mastercard"}
        )
    )
    assert si["status"] == "requires_confirmation"
    si = ok(await post(api, f"/v1/setup_intents/{si['id']}/confirm"))
    assert si["status"] == "succeeded"
    err = error(await post(api, f"/v1/setup_intents/{si['id']}/cancel"), 400)
    assert (err["code"], err["setup_intent"]["status"]) == (
        "setup_intent_unexpected_state",
        "succeeded",
    )
    err = error(await post(api, f"/v1/setup_intents/{si['id']}/confirm"), 400)
    assert err["code"] == "setup_intent_unexpected_state"

    open_si = ok(await post(api, "/v1/setup_intents", {"customer": customer}))
    canceled = ok(
        await post(
            api, f"/v1/setup_intents/{open_si['id']}/cancel", {"cancellation_reason": "abandoned"}
        )
    )
    assert (canceled["status"], canceled["cancellation_reason"]) == ("canceled", "abandoned")
    assert (await event_types(api))[-1] == "setup_intent.canceled"

    # Validation, as Stripe: unknown customer / parameter, unsupported types, bad usage.
    err = error(await post(api, "/v1/setup_intents", {"customer": "cus_missing"}), 404)
    assert (err["code"], err["param"]) == ("resource_missing", "customer")
    assert error(await post(api, "/v1/setup_intents", {"bogus": 1}), 400)["code"] == (
        "parameter_unknown"
    )
    assert error(await post(api, "/v1/setup_intents", {"usage": "sometimes"}), 400)["param"] == (
        "usage"
    )
    err = error(await post(api, "/v1/setup_intents", {"payment_method_types": ["sepa_debit"]}), 400)
    assert err["param"] == "payment_method_types"
    assert error(await api.get("/v1/setup_intents/seti_nope", headers=AUTH), 404)["code"] == (
        "resource_missing"
    )


@pytest.mark.parametrize(
    ("pm", "decline_code", "last4"),
    [
        ("pm_card_chargeDeclined", "generic_decline", "0002"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds", "9995"),
    ],
)
async def test_setup_intent_with_a_declining_card_fails(
    api: httpx.AsyncClient, pm: str, decline_code: str, last4: str
) -> None:
    customer = await customer_id(api)
    err = error(await setup(api, customer, pm), 402)
    assert (err["type"], err["code"], err["decline_code"]) == (
        "card_error",
        "card_declined",
        decline_code,
    )
    si = err["setup_intent"]
    assert (si["status"], si["payment_method"]) == ("requires_payment_method", None)
    assert si["last_setup_error"]["decline_code"] == decline_code
    assert si["last_setup_error"]["payment_method"]["id"] == err["payment_method"]["id"]
    assert err["payment_method"]["card"]["last4"] == last4
    pm_obj = ok(await api.get(f"/v1/payment_methods/{err['payment_method']['id']}", headers=AUTH))
    assert pm_obj["customer"] is None  # not saved
    assert (await event_types(api))[-1] == "setup_intent.setup_failed"
    assert "payment_method.attached" not in await event_types(api)

    si = ok(
        await post(api, f"/v1/setup_intents/{si['id']}/confirm", {"payment_method": "pm_card_visa"})
    )
    assert (si["status"], si["last_setup_error"]) == ("succeeded", None)


async def test_attaching_a_declining_card_fails_but_charge_customer_fail_attaches(
    api: httpx.AsyncClient,
) -> None:
    customer = await customer_id(api)
    err = error(
        await post(
            api, "/v1/payment_methods/pm_card_chargeDeclined/attach", {"customer": customer}
        ),
        402,
    )
    assert (err["code"], err["decline_code"]) == ("card_declined", "generic_decline")
    # A customer created with a declining card is not created at all.
    err = error(await post(api, "/v1/customers", {"payment_method": "pm_card_chargeDeclined"}), 402)
    assert err["type"] == "card_error"
    assert (await event_types(api)).count("customer.created") == 1

    pm = ok(
        await post(
            api, "/v1/payment_methods/pm_card_chargeCustomerFail/attach", {"customer": customer}
        )
    )
    assert (pm["customer"], pm["card"]["last4"]) == (customer, "0341")
    # ... but charging it declines, on-session too.
    err = error(
        await post(
            api,
            "/v1/payment_intents",
            {
                "amount": 5000,
                "currency": "usd",
                "customer": customer,
                "payment_method": pm["id"],
                "confirm": True,
            },
        ),
        402,
    )
    assert (err["code"], err["decline_code"]) == ("card_declined", "generic_decline")


async def test_off_session_charge_of_a_saved_card(api: httpx.AsyncClient) -> None:
    customer = await customer_id(api)
    pm = await saved_card(api, customer)
    pi = ok(await off_session(api, customer, pm, expand=["latest_charge"]))
    assert (pi["status"], pi["amount_received"], pi["payment_method"]) == ("succeeded", 5000, pm)
    assert pi["latest_charge"]["captured"] is True
    held = ok(await off_session(api, customer, pm, capture_method="manual"))
    assert (held["status"], held["amount_capturable"]) == ("requires_capture", 5000)
    captured = ok(await post(api, f"/v1/payment_intents/{held['id']}/capture"))
    assert captured["status"] == "succeeded"
    # off_session on the confirm endpoint works the same way.
    pi = await intent(api, customer=customer, payment_method=pm)
    pi = ok(
        await post(api, f"/v1/payment_intents/{pi['id']}/confirm", {"off_session": "recurring"})
    )
    assert pi["status"] == "succeeded"


async def test_off_session_charge_of_a_transfer_group(api: httpx.AsyncClient) -> None:
    customer = await customer_id(api)
    pm = await saved_card(api, customer)
    pi = ok(await off_session(api, customer, pm, transfer_group="grp_2", expand=["latest_charge"]))
    assert (pi["status"], pi["transfer_group"], pi["transfer_data"]) == (
        "succeeded",
        "grp_2",
        None,
    )
    assert (pi["latest_charge"]["transfer_group"], pi["latest_charge"]["captured"]) == (
        "grp_2",
        True,
    )


async def test_off_session_needs_a_payment_method_saved_to_the_customer(
    api: httpx.AsyncClient,
) -> None:
    customer, other = await customer_id(api), await customer_id(api)
    # A test id is a fresh, unattached PaymentMethod.
    err = error(await off_session(api, customer, "pm_card_visa"), 400)
    assert (err["type"], err["param"]) == ("invalid_request_error", "payment_method")
    # Saved to another customer.
    pm = await saved_card(api, other)
    assert error(await off_session(api, customer, pm), 400)["param"] == "payment_method"
    # Without confirm=true, or without a customer.
    err = error(await off_session(api, other, pm, confirm=False), 400)
    assert err["param"] == "off_session"
    pm_plain = ok(
        await post(api, "/v1/payment_methods", {"type": "card", "card": {"token": "tok_visa"}})
    )
    err = error(
        await post(
            api,
            "/v1/payment_intents",
            {
                "amount": 5000,
                "currency": "usd",
                "payment_method": pm_plain["id"],
                "off_session": True,
                "confirm": True,
            },
        ),
        400,
    )
    assert err["param"] == "customer"
    assert error(await off_session(api, other, pm, off_session="sometimes"), 400)["param"] == (
        "off_session"
    )
    assert "payment_intent.created" not in await event_types(api)


async def test_charge_customer_fail_saves_then_declines_off_session(api: httpx.AsyncClient) -> None:
    customer = await customer_id(api)
    pm = await saved_card(api, customer, "pm_card_chargeCustomerFail")
    err = error(await off_session(api, customer, pm, capture_method="manual"), 402)
    assert (err["code"], err["decline_code"]) == ("card_declined", "generic_decline")
    pi = err["payment_intent"]
    assert (pi["status"], pi["last_payment_error"]["code"]) == (
        "requires_payment_method",
        "card_declined",
    )
    charge = ok(await api.get(f"/v1/charges/{err['charge']}", headers=AUTH))
    assert (charge["status"], charge["failure_code"]) == ("failed", "card_declined")
    assert (await event_types(api))[-2:] == ["charge.failed", "payment_intent.payment_failed"]


async def test_always_authenticate_card(api: httpx.AsyncClient) -> None:
    customer = await customer_id(api)
    # Setting it up needs 3D Secure ...
    si = ok(await setup(api, customer, "pm_card_authenticationRequired"))
    assert (si["status"], si["next_action"]["type"]) == ("requires_action", "use_stripe_sdk")
    assert (await event_types(api))[-1] == "setup_intent.requires_action"
    assert (
        ok(await api.get(f"/v1/payment_methods/{si['payment_method']}", headers=AUTH))["customer"]
        is None
    )
    si = ok(await api.post(f"/_sim/intents/{si['id']}/authenticate", json={"outcome": "complete"}))
    assert (si["status"], si["next_action"]) == ("succeeded", None)
    pm = si["payment_method"]
    assert ok(await api.get(f"/v1/payment_methods/{pm}", headers=AUTH))["customer"] == customer

    # ... and so does every charge: off-session that is a decline with authentication_required.
    err = error(await off_session(api, customer, pm), 402)
    assert (err["type"], err["code"], err["decline_code"]) == (
        "card_error",
        "authentication_required",
        "authentication_required",
    )
    pi = err["payment_intent"]
    assert (pi["status"], pi["payment_method"]) == ("requires_payment_method", None)
    assert pi["last_payment_error"]["code"] == "authentication_required"
    assert pi["last_payment_error"]["payment_method"]["id"] == pm  # to bring the guest back

    # On-session, the guest authenticates: requires_action, then the authorization.
    pi = ok(
        await post(
            api,
            f"/v1/payment_intents/{pi['id']}/confirm",
            {"payment_method": pm, "capture_method": "manual"},
        )
    )
    assert (pi["status"], pi["next_action"]["type"]) == ("requires_action", "use_stripe_sdk")
    assert (await event_types(api))[-1] == "payment_intent.requires_action"
    pi = ok(await api.post(f"/_sim/intents/{pi['id']}/authenticate", json={}))
    assert (pi["status"], pi["amount_capturable"]) == ("requires_capture", 5000)

    # error_on_requires_action: fail instead of asking.
    err = error(
        await post(
            api,
            "/v1/payment_intents",
            {
                "amount": 5000,
                "currency": "usd",
                "customer": customer,
                "payment_method": pm,
                "confirm": True,
                "error_on_requires_action": True,
            },
        ),
        402,
    )
    assert err["code"] == "authentication_required"


async def test_failed_authentication(api: httpx.AsyncClient) -> None:
    customer = await customer_id(api)
    si = ok(await setup(api, customer, "pm_card_authenticationRequired"))
    si = ok(await api.post(f"/_sim/intents/{si['id']}/authenticate", json={"outcome": "fail"}))
    assert (si["status"], si["last_setup_error"]["code"]) == (
        "requires_payment_method",
        "setup_intent_authentication_failure",
    )
    assert (await event_types(api))[-1] == "setup_intent.setup_failed"
    pi = await intent(api, payment_method="pm_card_authenticationRequired", confirm=True)
    assert pi["status"] == "requires_action"
    pi = ok(await api.post(f"/_sim/intents/{pi['id']}/authenticate", json={"outcome": "fail"}))
    assert (pi["status"], pi["last_payment_error"]["code"]) == (
        "requires_payment_method",
        "payment_intent_authentication_failure",
    )
    # Only intents awaiting authentication can be authenticated.
    assert (await api.post(f"/_sim/intents/{pi['id']}/authenticate", json={})).status_code == 409
    assert (await api.post("/_sim/intents/pi_nope/authenticate", json={})).status_code == 404


async def test_authenticate_unless_set_up_card(api: httpx.AsyncClient) -> None:
    customer = await customer_id(api)
    # Merely attached (not set up for off-session): an off-session charge needs authentication.
    attached = ok(
        await post(
            api,
            "/v1/payment_methods/pm_card_authenticationRequiredOnSetup/attach",
            {"customer": customer},
        )
    )
    assert error(await off_session(api, customer, attached["id"]), 402)["code"] == (
        "authentication_required"
    )
    # Set up with a SetupIntent (3DS once): later off-session charges need none.
    pm = await saved_card(api, customer, "pm_card_authenticationRequiredOnSetup")
    assert ok(await off_session(api, customer, pm))["status"] == "succeeded"
    # One-time payments still ask for it.
    pi = await intent(api, payment_method="pm_card_authenticationRequiredOnSetup", confirm=True)
    assert pi["status"] == "requires_action"


async def test_setup_future_usage_saves_the_card(api: httpx.AsyncClient) -> None:
    customer = await customer_id(api)
    pi = await intent(
        api,
        customer=customer,
        payment_method="pm_card_authenticationRequiredOnSetup",
        setup_future_usage="off_session",
        confirm=True,
    )
    assert (pi["status"], pi["setup_future_usage"]) == ("requires_action", "off_session")
    pi = ok(await api.post(f"/_sim/intents/{pi['id']}/authenticate", json={}))
    assert pi["status"] == "succeeded"
    pm = ok(await api.get(f"/v1/payment_methods/{pi['payment_method']}", headers=AUTH))
    assert pm["customer"] == customer
    assert ok(await off_session(api, customer, pm["id"]))["status"] == "succeeded"


async def test_an_authorization_with_setup_future_usage_saves_the_card_for_later(
    api: httpx.AsyncClient,
) -> None:
    """A checkout's authorization (manual capture, destination charge) saves the card: later
    off-session charges of that customer with the returned `pm_` work, and forced off-session
    failures apply to them."""
    customer = await customer_id(api)
    authorization = {
        "customer": customer,
        "payment_method": "pm_card_visa",
        "capture_method": "manual",
        "transfer_data": {"destination": "acct_1Host"},
        "application_fee_amount": 750,
        "setup_future_usage": "off_session",
        "confirm": True,
    }
    held = await intent(api, **authorization)
    assert (held["status"], held["setup_future_usage"]) == ("requires_capture", "off_session")
    pm = held["payment_method"]
    assert pm.startswith("pm_") and pm != "pm_card_visa"
    assert ok(await api.get(f"/v1/payment_methods/{pm}", headers=AUTH))["customer"] == customer
    assert "payment_method.attached" in await event_types(api)
    # The hold released: the card stays saved, as on Stripe.
    ok(await post(api, f"/v1/payment_intents/{held['id']}/cancel"))
    charge = {"transfer_data": {"destination": "acct_1Host"}, "application_fee_amount": 300}
    extra = ok(await off_session(api, customer, pm, expand=["latest_charge"], **charge))
    assert (extra["status"], extra["amount_received"]) == ("succeeded", 5000)
    assert extra["latest_charge"]["application_fee_amount"] == 300

    control = f"/_sim/customers/{customer}/fail_next_off_session"
    ok(await api.post(control, json={}))
    err = error(await off_session(api, customer, pm, **charge), 402)
    assert (err["code"], err["decline_code"]) == ("card_declined", "generic_decline")

    # Without setup_future_usage the card is used once and not saved.
    once_only = {k: v for k, v in authorization.items() if k != "setup_future_usage"}
    once = await intent(api, **once_only)
    assert once["status"] == "requires_capture"
    assert (
        ok(await api.get(f"/v1/payment_methods/{once['payment_method']}", headers=AUTH))["customer"]
        is None
    )
    assert error(await off_session(api, customer, once["payment_method"]), 400)["param"] == (
        "payment_method"
    )


async def test_a_declined_authorization_saves_no_card(api: httpx.AsyncClient) -> None:
    customer = await customer_id(api)
    err = error(
        await post(
            api,
            "/v1/payment_intents",
            {
                "amount": 5000,
                "currency": "usd",
                "customer": customer,
                "payment_method": "pm_card_chargeDeclined",
                "capture_method": "manual",
                "setup_future_usage": "off_session",
                "confirm": True,
            },
        ),
        402,
    )
    assert err["payment_intent"]["status"] == "requires_payment_method"
    pm = ok(await api.get(f"/v1/payment_methods/{err['payment_method']['id']}", headers=AUTH))
    assert pm["customer"] is None
    assert "payment_method.attached" not in await event_types(api)


async def test_fail_next_off_session_control(api: httpx.AsyncClient) -> None:
    customer = await customer_id(api)
    pm = await saved_card(api, customer)
    control = f"/_sim/customers/{customer}/fail_next_off_session"
    forced = ok(
        await api.post(
            control, json={"code": "card_declined", "decline_code": "insufficient_funds"}
        )
    )
    assert forced["data"] == [{"code": "card_declined", "decline_code": "insufficient_funds"}]

    # On-session charges do not consume it.
    on_session = await intent(api, customer=customer, payment_method=pm, confirm=True)
    assert on_session["status"] == "succeeded"
    err = error(await off_session(api, customer, pm, key="k-forced"), 402)
    assert (err["code"], err["decline_code"]) == ("card_declined", "insufficient_funds")
    assert err["message"] == "Your card has insufficient funds."
    # A replay answers the stored decline and consumes nothing.
    ok(await api.post(control, json={"code": "authentication_required", "count": 2}))
    replay = await off_session(api, customer, pm, key="k-forced")
    assert (replay.status_code, replay.headers["Idempotent-Replayed"]) == (402, "true")
    assert replay.json() == {"error": err}
    assert len(ok(await api.get(control))["data"]) == 2
    for _ in range(2):
        err = error(await off_session(api, customer, pm), 402)
        assert (err["code"], err["decline_code"]) == (
            "authentication_required",
            "authentication_required",
        )
    assert ok(await off_session(api, customer, pm))["status"] == "succeeded"

    ok(await api.post(control, json={}))  # defaults: card_declined / generic_decline
    assert ok(await api.get(control))["data"] == [
        {"code": "card_declined", "decline_code": "generic_decline"}
    ]
    assert ok(await api.delete(control))["data"] == []
    assert ok(await off_session(api, customer, pm))["status"] == "succeeded"
    assert (await api.post(control, json={"code": "expired"})).status_code == 422
    assert (
        await api.post("/_sim/customers/cus_nope/fail_next_off_session", json={})
    ).status_code == 404
    ok(await api.post(control, json={}))
    ok(await api.post("/_sim/reset"))
    assert (await api.get(control)).status_code == 404


def test_saved_cards_and_forced_failures_survive_a_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "sim.json"
    with TestClient(create_app(state_file=state_file)) as first:
        customer = first.post("/v1/customers", headers=AUTH).json()["id"]
        si = first.post(
            "/v1/setup_intents",
            headers=AUTH,
            data={"customer": customer, "payment_method": "pm_card_visa", "confirm": "true"},
        ).json()
        first.post(f"/_sim/customers/{customer}/fail_next_off_session", json={})
    charge = {
        "amount": "5000",
        "currency": "usd",
        "customer": customer,
        "payment_method": si["payment_method"],
        "off_session": "true",
        "confirm": "true",
    }
    with TestClient(create_app(state_file=state_file)) as second:
        assert second.post("/v1/payment_intents", headers=AUTH, data=charge).status_code == 402
        assert second.post("/v1/payment_intents", headers=AUTH, data=charge).json()["status"] == (
            "succeeded"
        )


# -- refunds ---------------------------------------------------------------------------------
async def destination_charge(
    api: httpx.AsyncClient, amount: int = 10_000, fee: int = 1_500, capture: int | None = None
) -> dict[str, Any]:
    """A captured destination charge's PaymentIntent (``capture``: a partial capture)."""
    pi = await intent(
        api,
        amount=amount,
        capture_method="manual",
        payment_method="pm_card_visa",
        confirm=True,
        application_fee_amount=fee,
        transfer_data={"destination": "acct_1Host"},
    )
    params = {} if capture is None else {"amount_to_capture": capture}
    return ok(await post(api, f"/v1/payment_intents/{pi['id']}/capture", params))


async def refund(api: httpx.AsyncClient, key: str | None = None, **params: Any) -> httpx.Response:
    return await post(api, "/v1/refunds", params, key=key)


async def test_partial_then_full_refund_of_a_payment_intent(api: httpx.AsyncClient) -> None:
    pi = await destination_charge(api)
    first = ok(await refund(api, payment_intent=pi["id"], amount=3_000, metadata={"r": "1"}))
    assert first["id"].startswith("re_") and first["object"] == "refund"
    assert (first["amount"], first["status"], first["currency"]) == (3_000, "succeeded", "usd")
    assert (first["payment_intent"], first["charge"]) == (pi["id"], pi["latest_charge"])
    assert first["metadata"] == {"r": "1"}
    charge = await get(api, f"/v1/charges/{pi['latest_charge']}")
    assert (charge["amount_refunded"], charge["refunded"]) == (3_000, False)

    # Without an amount: whatever is left.
    rest = ok(await refund(api, charge=pi["latest_charge"]))
    assert rest["amount"] == 7_000
    charge = await get(api, f"/v1/charges/{pi['latest_charge']}")
    assert (charge["amount_refunded"], charge["refunded"]) == (10_000, True)

    err = error(await refund(api, payment_intent=pi["id"], amount=1), 400)
    assert (err["type"], err["code"]) == ("invalid_request_error", "charge_already_refunded")
    assert err["message"] == f"Charge {pi['latest_charge']} has already been refunded."

    listed = await get(api, "/v1/refunds", payment_intent=pi["id"])
    assert [r["id"] for r in listed["data"]] == [rest["id"], first["id"]]  # newest first
    assert (listed["object"], listed["has_more"]) == ("list", False)
    assert await get(api, f"/v1/refunds/{first['id']}") == first
    assert (await get(api, "/v1/refunds", charge="ch_other"))["data"] == []
    assert error(await api.get("/v1/refunds/re_nope", headers=AUTH), 404)["code"] == (
        "resource_missing"
    )
    types = await event_types(api)
    assert types.count("refund.created") == 2 and types.count("charge.refunded") == 2
    assert types[-2:] == ["refund.created", "charge.refunded"]


async def test_over_refund_is_refused_like_stripe(api: httpx.AsyncClient) -> None:
    pi = await destination_charge(api)
    ok(await refund(api, payment_intent=pi["id"], amount=9_000))
    err = error(await refund(api, payment_intent=pi["id"], amount=1_001, key="k-over"), 400)
    assert (err["type"], err["code"], err["param"]) == (
        "invalid_request_error",
        "amount_too_large",
        "amount",
    )
    assert err["message"] == (
        "Refund amount ($10.01) is greater than unrefunded amount on charge ($10.00)"
    )
    # The refusal is the request's result: replayed under its key.
    again = await refund(api, payment_intent=pi["id"], amount=1_001, key="k-over")
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == {"error": err}
    charge = await get(api, f"/v1/charges/{pi['latest_charge']}")
    assert charge["amount_refunded"] == 9_000


async def test_a_partly_captured_charge_refunds_only_what_was_captured(
    api: httpx.AsyncClient,
) -> None:
    pi = await destination_charge(api, capture=6_000)
    charge = await get(api, f"/v1/charges/{pi['latest_charge']}")
    assert (charge["amount_captured"], charge["amount_refunded"]) == (6_000, 4_000)
    err = error(await refund(api, payment_intent=pi["id"], amount=6_001), 400)
    assert err["code"] == "amount_too_large"
    assert ok(await refund(api, payment_intent=pi["id"]))["amount"] == 6_000


async def test_an_uncaptured_intent_cannot_be_refunded(api: httpx.AsyncClient) -> None:
    pi = await intent(api, capture_method="manual", payment_method="pm_card_visa", confirm=True)
    err = error(await refund(api, payment_intent=pi["id"]), 400)
    assert (err["type"], err["param"]) == ("invalid_request_error", "payment_intent")
    assert "does not have a successful charge to refund" in err["message"]
    err = error(await refund(api, charge=pi["latest_charge"]), 400)
    assert err["param"] == "charge"
    assert err["message"].startswith("This uncaptured Charge was created by a PaymentIntent")
    assert "cancel the PaymentIntent" in err["message"]
    # Still capturable: nothing was refunded.
    assert (await get(api, f"/v1/payment_intents/{pi['id']}"))["status"] == "requires_capture"

    err = error(await refund(api), 400)
    assert err["param"] == "charge"
    assert error(await refund(api, payment_intent="pi_nope"), 404)["code"] == "resource_missing"
    assert error(await refund(api, payment_intent=pi["id"], amount=0), 400)["param"] == "amount"


async def test_reverse_transfer_and_refund_application_fee(api: httpx.AsyncClient) -> None:
    pi = await destination_charge(api, amount=10_000, fee=1_500)
    charge = await get(api, f"/v1/charges/{pi['latest_charge']}")
    transfer = await get(api, f"/v1/transfers/{charge['transfer']}")
    fee = await get(api, f"/v1/application_fees/{charge['application_fee']}")
    assert (transfer["amount"], transfer["destination"]) == (8_500, "acct_1Host")
    assert (fee["amount"], fee["account"], fee["charge"]) == (1_500, "acct_1Host", charge["id"])

    # A third of the charge: a third of the transfer and of the fee come back.
    partial = ok(
        await refund(
            api,
            payment_intent=pi["id"],
            amount=3_333,
            reverse_transfer=True,
            refund_application_fee=True,
            expand=["transfer_reversal"],
        )
    )
    reversal = partial["transfer_reversal"]
    assert (reversal["object"], reversal["amount"], reversal["transfer"]) == (
        "transfer_reversal",
        2_833,  # 3 333 × 8 500 / 10 000, rounded half up
        transfer["id"],
    )
    fee = await get(api, f"/v1/application_fees/{charge['application_fee']}")
    assert (fee["amount_refunded"], fee["refunded"]) == (500, False)  # 3 333 × 1 500 / 10 000

    # The refund that empties the charge takes back all that is left, to the unit.
    ok(
        await refund(
            api, payment_intent=pi["id"], reverse_transfer=True, refund_application_fee=True
        )
    )
    transfer = await get(api, f"/v1/transfers/{charge['transfer']}")
    fee = await get(api, f"/v1/application_fees/{charge['application_fee']}")
    assert (transfer["amount_reversed"], transfer["reversed"]) == (8_500, True)
    assert (fee["amount_refunded"], fee["refunded"]) == (1_500, True)


async def test_a_refund_without_the_flags_leaves_transfer_and_fee_alone(
    api: httpx.AsyncClient,
) -> None:
    pi = await destination_charge(api)
    assert ok(await refund(api, payment_intent=pi["id"], amount=1_000))["transfer_reversal"] is None
    charge = await get(api, f"/v1/charges/{pi['latest_charge']}")
    assert (await get(api, f"/v1/transfers/{charge['transfer']}"))["amount_reversed"] == 0
    fee = await get(api, f"/v1/application_fees/{charge['application_fee']}")
    assert fee["amount_refunded"] == 0


async def test_a_partial_capture_can_lower_the_application_fee(api: httpx.AsyncClient) -> None:
    pi = await intent(
        api,
        amount=10_000,
        capture_method="manual",
        payment_method="pm_card_visa",
        confirm=True,
        application_fee_amount=1_500,
        transfer_data={"destination": "acct_1Host"},
    )
    captured = ok(
        await post(
            api,
            f"/v1/payment_intents/{pi['id']}/capture",
            {"amount_to_capture": 6_000, "application_fee_amount": 900},
        )
    )
    assert captured["application_fee_amount"] == 900
    charge = await get(api, f"/v1/charges/{pi['latest_charge']}")
    assert charge["application_fee_amount"] == 900
    assert (await get(api, f"/v1/transfers/{charge['transfer']}"))["amount"] == 5_100
    # A fee needs a destination, and cannot exceed what is captured.
    group = await intent(api, capture_method="manual", payment_method="pm_card_visa", confirm=True)
    path = f"/v1/payment_intents/{group['id']}/capture"
    err = error(await post(api, path, {"application_fee_amount": 1}), 400)
    assert err["param"] == "application_fee_amount"
    other = await intent(
        api,
        capture_method="manual",
        payment_method="pm_card_visa",
        confirm=True,
        application_fee_amount=100,
        transfer_data={"destination": "acct_1Host"},
    )
    path = f"/v1/payment_intents/{other['id']}/capture"
    err = error(await post(api, path, {"amount_to_capture": 50, "application_fee_amount": 51}), 400)
    assert err["param"] == "application_fee_amount"


async def test_a_charge_without_destination_has_no_transfer_to_reverse(
    api: httpx.AsyncClient,
) -> None:
    pi = await intent(api, payment_method="pm_card_visa", confirm=True, transfer_group="grp_1")
    charge = await get(api, f"/v1/charges/{pi['latest_charge']}")
    assert (charge["transfer"], charge["application_fee"]) == (None, None)
    assert ok(await refund(api, payment_intent=pi["id"]))["transfer_reversal"] is None


async def test_refunds_are_idempotent(api: httpx.AsyncClient) -> None:
    pi = await destination_charge(api)
    params = {"payment_intent": pi["id"], "amount": 2_000}
    first = await refund(api, key="payments:refund:r1", **params)
    again = await refund(api, key="payments:refund:r1", **params)
    assert again.json() == ok(first) and again.headers["Idempotent-Replayed"] == "true"
    assert len((await get(api, "/v1/refunds", payment_intent=pi["id"]))["data"]) == 1
    other = await refund(api, key="payments:refund:r1", payment_intent=pi["id"], amount=2_001)
    assert error(other, 400)["type"] == "idempotency_error"


async def test_fail_next_control(api: httpx.AsyncClient) -> None:
    pi = await destination_charge(api)
    rule = ok(await api.post("/_sim/fail_next", json={"operation": "refund", "count": 2}))
    assert rule == {
        "operation": "refund",
        "path": "/v1/refunds",
        "remaining": 2,
        "status": 500,
        "method": "POST",
    }
    params = {"payment_intent": pi["id"], "amount": 1_000}
    # Listing refunds is not the operation: it is not failed.
    assert (await get(api, "/v1/refunds"))["data"] == []
    for _ in range(2):
        assert error(await refund(api, key="k-r", **params), 500)["type"] == "api_error"
    # Nothing was refunded, nothing stored under the key: the retry refunds, once.
    assert ok(await refund(api, key="k-r", **params))["amount"] == 1_000
    assert len((await get(api, "/v1/refunds"))["data"]) == 1
    assert ok(await api.get("/_sim/failures"))["data"] == []

    ok(await api.post("/_sim/fail_next", json={"operation": "capture", "status": 429}))
    other = await intent(api, capture_method="manual", payment_method="pm_card_visa", confirm=True)
    err = error(await post(api, f"/v1/payment_intents/{other['id']}/capture"), 429)
    assert err["code"] == "rate_limit"
    for bad in ({"operation": "refund", "status": 400}, {"operation": "teleport"}):
        assert (await api.post("/_sim/fail_next", json=bad)).status_code == 422


async def test_connect_accounts_onboard_through_a_control_that_sends_account_updated(
    api: httpx.AsyncClient,
) -> None:
    created = ok(await post(api, "/v1/accounts", {"type": "express", "country": "US"}))
    assert created["id"].startswith("acct_")
    assert (created["charges_enabled"], created["payouts_enabled"]) == (False, False)
    assert ok(await api.get(f"/v1/accounts/{created['id']}", headers=AUTH)) == created
    error(await api.get("/v1/accounts/acct_missing", headers=AUTH), 404)

    done = await api.post(f"/_sim/accounts/{created['id']}/onboarding", json={})
    assert done.status_code == 200 and done.json()["charges_enabled"] is True
    # A seeded host's account the simulator never saw is created with its id.
    paused = await api.post(
        "/_sim/accounts/acct_1HostLoft01/onboarding",
        json={"charges_enabled": False, "payouts_enabled": False, "details_submitted": True},
    )
    assert paused.json()["id"] == "acct_1HostLoft01"
    events = ok(await api.get("/v1/events", params={"limit": 100}, headers=AUTH))["data"]
    updates = [e["data"]["object"] for e in events if e["type"] == "account.updated"]
    assert [(a["id"], a["charges_enabled"]) for a in updates] == [
        ("acct_1HostLoft01", False),
        (created["id"], True),
    ]  # newest first, as Stripe lists events


async def test_the_api_answers_before_the_router_and_other_methods_still_reach_it(
    api: httpx.AsyncClient,
) -> None:
    """`/v1` requests skip FastAPI's router (`app.DirectApi`): Stripe's answers and headers
    all the same; a method the API does not take is still the router's 405."""
    created = await api.post("/v1/customers", headers=AUTH, data={"email": "a@example.com"})
    assert created.status_code == 200 and created.headers["request-id"].startswith("req_")
    assert created.json()["object"] == "customer"
    unknown = await api.get("/v1/nothing_here", headers=AUTH)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["type"] == "invalid_request_error"
    assert (await api.get("/v1/customers")).status_code == 401  # no key: Stripe's refusal
    put = await api.put("/v1/customers", headers=AUTH)
    assert put.status_code == 405
    assert set(put.headers["allow"].split(", ")) == {"GET", "POST", "DELETE"}
    assert (await api.get("/_sim/openapi.json")).status_code == 200
