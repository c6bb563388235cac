"""stripesim: ACH Direct Debit (``us_bank_account``): PaymentMethods, mandates, processing
intents settled by sim time or a control, returns as disputes, off-session debits."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from stripesim import create_app
from stripesim.testing import WebhookRecorder
from stripesim.testkit import AUTH, error, event_types, get, ok, post, signed_events

DAYS = 24 * 60 * 60
MANDATE = {
    "customer_acceptance": {
        "type": "online",
        "online": {"ip_address": "203.0.113.7", "user_agent": "Mozilla/5.0"},
    }
}


async def customer(api: httpx.AsyncClient) -> str:
    return str(ok(await post(api, "/v1/customers"))["id"])


async def bank_pm(api: httpx.AsyncClient, account_number: str = "000123456789") -> str:
    pm = ok(
        await post(
            api,
            "/v1/payment_methods",
            {
                "type": "us_bank_account",
                "us_bank_account": {
                    "account_number": account_number,
                    "routing_number": "110000000",
                    "account_holder_type": "individual",
                },
                "billing_details": {"name": "Jenny Rosen"},
            },
        )
    )
    return str(pm["id"])


async def debit(api: httpx.AsyncClient, pm: str, **params: Any) -> httpx.Response:
    """Create and confirm an ACH PaymentIntent of $100 (mandate accepted online)."""
    data = {
        "amount": 10_000,
        "currency": "usd",
        "customer": params.pop("customer", None) or await customer(api),
        "payment_method": pm,
        "payment_method_types": ["us_bank_account"],
        "confirm": True,
        "mandate_data": MANDATE,
        **params,
    }
    return await post(api, "/v1/payment_intents", data)


async def advance(api: httpx.AsyncClient, seconds: int) -> dict[str, Any]:
    return ok(await api.post("/_sim/clock/advance", json={"seconds": seconds}))


# -- PaymentMethods --------------------------------------------------------------------------
async def test_a_us_bank_account_payment_method(api: httpx.AsyncClient) -> None:
    pm = await get(api, f"/v1/payment_methods/{await bank_pm(api)}")
    assert pm["type"] == "us_bank_account" and pm["billing_details"]["name"] == "Jenny Rosen"
    bank = pm["us_bank_account"]
    assert (bank["bank_name"], bank["last4"], bank["routing_number"]) == (
        "STRIPE TEST BANK",
        "6789",
        "110000000",
    )
    assert (bank["account_holder_type"], bank["account_type"]) == ("individual", "checking")
    magic = await get(api, "/v1/payment_methods/pm_usBankAccount_insufficientFunds")
    assert magic["id"] != "pm_usBankAccount_insufficientFunds"
    assert magic["us_bank_account"]["last4"] == "2227"


async def test_payment_method_validation(api: httpx.AsyncClient) -> None:
    bank = {"account_number": "000123456789", "routing_number": "110000000"}
    err = error(
        await post(
            api, "/v1/payment_methods", {"type": "us_bank_account", "us_bank_account": bank}
        ),
        400,
    )
    assert (err["code"], err["param"]) == ("parameter_missing", "billing_details[name]")
    named = {"billing_details": {"name": "J"}, "type": "us_bank_account"}
    err = error(await post(api, "/v1/payment_methods", named), 400)
    assert err["param"] == "us_bank_account"
    bad = {**bank, "routing_number": "110000001"}
    err = error(await post(api, "/v1/payment_methods", {**named, "us_bank_account": bad}), 400)
    assert err["param"] == "us_bank_account[routing_number]"
    extra = {**bank, "iban": "x"}
    err = error(await post(api, "/v1/payment_methods", {**named, "us_bank_account": extra}), 400)
    assert err["code"] == "parameter_unknown"


# -- PaymentIntents --------------------------------------------------------------------------
async def test_ach_intent_rules(api: httpx.AsyncClient) -> None:
    base = {"amount": 10_000, "currency": "usd", "payment_method_types": ["us_bank_account"]}
    err = error(await post(api, "/v1/payment_intents", {**base, "capture_method": "manual"}), 400)
    assert (err["type"], err["param"]) == ("invalid_request_error", "capture_method")
    err = error(await post(api, "/v1/payment_intents", {**base, "currency": "eur"}), 400)
    assert err["param"] == "currency"
    # A card intent does not take a bank account, nor a bank-debit intent a card.
    card_only = ok(await post(api, "/v1/payment_intents", {"amount": 900, "currency": "usd"}))
    err = error(
        await post(
            api,
            f"/v1/payment_intents/{card_only['id']}/confirm",
            {"payment_method": await bank_pm(api), "mandate_data": MANDATE},
        ),
        400,
    )
    assert err["param"] == "payment_method"
    bank_only = ok(await post(api, "/v1/payment_intents", base))
    assert bank_only["payment_method_types"] == ["us_bank_account"]
    path = f"/v1/payment_intents/{bank_only['id']}/confirm"
    assert error(await post(api, path, {"payment_method": "pm_card_visa"}), 400)["param"] == (
        "payment_method"
    )


async def test_confirm_needs_a_mandate(api: httpx.AsyncClient) -> None:
    pm = await bank_pm(api)
    pi = ok(
        await post(
            api,
            "/v1/payment_intents",
            {
                "amount": 10_000,
                "currency": "usd",
                "customer": await customer(api),
                "payment_method_types": ["us_bank_account"],
            },
        )
    )
    path = f"/v1/payment_intents/{pi['id']}/confirm"
    err = error(await post(api, path, {"payment_method": pm}), 400)
    assert err["type"] == "invalid_request_error"
    assert err["message"].startswith("This PaymentIntent requires a mandate, but no existing")
    assert (err["payment_intent"]["status"], err["payment_intent"]["payment_method"]) == (
        "requires_confirmation",
        pm,
    )
    online = {"customer_acceptance": {"type": "online", "online": {"ip_address": "1.2.3.4"}}}
    err = error(await post(api, path, {"mandate_data": online}), 400)
    assert (err["code"], err["param"]) == (
        "parameter_missing",
        "mandate_data[customer_acceptance][online][user_agent]",
    )
    pi = ok(await post(api, path, {"mandate_data": MANDATE, "expand": ["latest_charge"]}))
    assert pi["status"] == "processing"
    charge = pi["latest_charge"]
    assert (charge["status"], charge["paid"], charge["captured"]) == ("pending", False, True)
    details = charge["payment_method_details"]
    assert details["type"] == "us_bank_account"
    assert (details["us_bank_account"]["bank_name"], details["us_bank_account"]["last4"]) == (
        "STRIPE TEST BANK",
        "6789",
    )
    mandate = await get(api, f"/v1/mandates/{details['us_bank_account']['mandate']}")
    assert (mandate["object"], mandate["status"], mandate["type"], mandate["payment_method"]) == (
        "mandate",
        "active",
        "multi_use",
        pm,
    )
    assert mandate["customer_acceptance"]["online"] == MANDATE["customer_acceptance"]["online"]
    assert (await event_types(api))[-2:] == ["charge.pending", "payment_intent.processing"]
    assert error(await api.get("/v1/mandates/mandate_nope", headers=AUTH), 404)


async def test_sim_time_settles_a_debit(api: httpx.AsyncClient) -> None:
    pi = ok(await debit(api, await bank_pm(api)))
    assert pi["status"] == "processing" and pi["latest_charge"].startswith("ch_")
    # Not refundable while processing, by intent or by charge.
    err = error(await post(api, "/v1/refunds", {"payment_intent": pi["id"]}), 400)
    assert err["param"] == "payment_intent"
    err = error(await post(api, "/v1/refunds", {"charge": pi["latest_charge"]}), 400)
    assert "pending" in err["message"]

    # The sim clock runs on with the wall clock: on a loaded machine seconds pass between these
    # calls, so the debit is looked at a minute either side of its settlement time.
    left = pi["created"] + 4 * DAYS - ok(await api.get("/_sim/clock"))["now"]
    assert (await advance(api, left - 60))["settled"] == []
    advanced = await advance(api, 120)
    assert (advanced["settled"], advanced["expired"]) == ([pi["id"]], [])
    pi = await get(api, f"/v1/payment_intents/{pi['id']}", expand=["latest_charge"])
    assert (pi["status"], pi["amount_received"]) == ("succeeded", 10_000)
    assert (pi["latest_charge"]["status"], pi["latest_charge"]["paid"]) == ("succeeded", True)
    assert (await event_types(api))[-2:] == ["charge.succeeded", "payment_intent.succeeded"]
    refund = ok(await post(api, "/v1/refunds", {"payment_intent": pi["id"], "amount": 2_500}))
    assert refund["status"] == "succeeded"


@pytest.mark.parametrize(
    ("pm", "code"),
    [
        ("000222222227", "insufficient_funds"),
        ("000111111113", "account_closed"),
        ("000111111116", "no_account"),
        ("000333333335", "debit_not_authorized"),
        ("pm_usBankAccount_insufficientFunds", "insufficient_funds"),
        ("pm_usBankAccount_accountClosed", "account_closed"),
        ("pm_usBankAccount_debitNotAuthorized", "debit_not_authorized"),
        ("pm_usBankAccount_invalidCurrency", "invalid_currency"),
    ],
)
async def test_failing_test_accounts_are_returned_when_they_settle(
    api: httpx.AsyncClient, pm: str, code: str
) -> None:
    pm_id = pm if pm.startswith("pm_") else await bank_pm(api, pm)
    pi = ok(await debit(api, pm_id))
    assert pi["status"] == "processing"
    assert (await advance(api, 4 * DAYS))["settled"] == [pi["id"]]
    pi = await get(api, f"/v1/payment_intents/{pi['id']}", expand=["latest_charge"])
    assert (pi["status"], pi["payment_method"]) == ("requires_payment_method", None)
    assert pi["last_payment_error"]["code"] == code
    assert pi["last_payment_error"]["payment_method"]["type"] == "us_bank_account"
    charge = pi["latest_charge"]
    assert (charge["status"], charge["failure_code"]) == ("failed", code)
    assert charge["failure_message"]
    assert (await event_types(api))[-2:] == ["charge.failed", "payment_intent.payment_failed"]


async def test_settlement_time_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPESIM_ACH_SETTLEMENT_SECONDS", "60")
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as api:
        pi = ok(await debit(api, "pm_usBankAccount_success"))
        # The simulator's clock runs on with the wall clock too: half the time, not 59 s of 60,
        # so that a slow machine between the calls does not settle it early.
        assert (await advance(api, 30))["settled"] == []
        assert (await advance(api, 30))["settled"] == [pi["id"]]
    transport = httpx.ASGITransport(app=create_app(ach_settlement_seconds=10))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as api:
        pi = ok(await debit(api, "pm_usBankAccount_success"))
        assert (await advance(api, 10))["settled"] == [pi["id"]]


async def test_the_control_settles_a_debit_now(api: httpx.AsyncClient) -> None:
    pi = ok(await debit(api, await bank_pm(api)))
    done = ok(await api.post(f"/_sim/intents/{pi['id']}/ach", json={"outcome": "succeed"}))
    assert done["status"] == "succeeded"
    assert (await api.post(f"/_sim/intents/{pi['id']}/ach", json={})).status_code == 409
    assert (await advance(api, 5 * DAYS))["settled"] == []  # settled once only

    pi = ok(await debit(api, await bank_pm(api)))
    spec = {"outcome": "fail", "failure_code": "account_closed"}
    failed = ok(await api.post(f"/_sim/intents/{pi['id']}/ach", json=spec))
    assert (failed["status"], failed["last_payment_error"]["code"]) == (
        "requires_payment_method",
        "account_closed",
    )
    charge = await get(api, f"/v1/charges/{failed['latest_charge']}")
    assert (charge["status"], charge["failure_code"]) == ("failed", "account_closed")
    assert (await api.post("/_sim/intents/pi_nope/ach", json={})).status_code == 404
    card = ok(await post(api, "/v1/payment_intents", {"amount": 900, "currency": "usd"}))
    assert (await api.post(f"/_sim/intents/{card['id']}/ach", json={})).status_code == 409


async def test_a_processing_debit_can_be_canceled(api: httpx.AsyncClient) -> None:
    pi = ok(await debit(api, "pm_usBankAccount_processing"))
    assert (await advance(api, 30 * DAYS))["settled"] == []  # stays processing
    pi = ok(await post(api, f"/v1/payment_intents/{pi['id']}/cancel"))
    assert pi["status"] == "canceled"
    assert (await get(api, f"/v1/charges/{pi['latest_charge']}"))["status"] == "failed"


async def test_the_dispute_test_account_succeeds_then_is_disputed(api: httpx.AsyncClient) -> None:
    pi = ok(await debit(api, "pm_usBankAccount_dispute"))
    assert (await advance(api, 4 * DAYS))["settled"] == [pi["id"]]
    pi = await get(api, f"/v1/payment_intents/{pi['id']}")
    assert pi["status"] == "succeeded"
    [dispute] = (await get(api, "/v1/disputes", payment_intent=pi["id"]))["data"]
    assert (dispute["charge"], dispute["amount"], dispute["reason"]) == (
        pi["latest_charge"],
        10_000,
        "debit_not_authorized",
    )
    assert dispute["status"] == "lost"  # a bank debit dispute cannot be contested
    assert (await event_types(api))[-5:] == [
        "charge.succeeded",
        "payment_intent.succeeded",
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.closed",
    ]


async def test_the_dispute_test_account_settled_by_the_control_is_disputed_too(
    api: httpx.AsyncClient,
) -> None:
    pi = ok(await debit(api, "pm_usBankAccount_dispute"))
    ok(await api.post(f"/_sim/intents/{pi['id']}/ach", json={"outcome": "succeed"}))
    [dispute] = (await get(api, "/v1/disputes", payment_intent=pi["id"]))["data"]
    assert (dispute["reason"], dispute["status"]) == ("debit_not_authorized", "lost")


async def test_a_return_after_success_is_a_dispute(api: httpx.AsyncClient) -> None:
    cus = await customer(api)
    pi = ok(await debit(api, await bank_pm(api), customer=cus, setup_future_usage="off_session"))
    ok(await api.post(f"/_sim/intents/{pi['id']}/ach", json={}))
    charge = pi["latest_charge"]
    returned = await api.post(
        f"/_sim/charges/{charge}/ach_return", json={"reason": "insufficient_funds"}
    )
    dispute = ok(returned)
    assert (dispute["object"], dispute["reason"], dispute["status"]) == (
        "dispute",
        "insufficient_funds",
        "lost",
    )
    assert (await get(api, f"/v1/charges/{charge}"))["disputed"] is True
    assert (await api.post(f"/_sim/charges/{charge}/ach_return", json={})).status_code == 409
    err = error(await post(api, "/v1/refunds", {"charge": charge}), 400)
    assert (err["type"], err["code"]) == ("invalid_request_error", "charge_disputed")
    # The mandate is revoked: the saved bank account needs a new one.
    again = await post(
        api,
        "/v1/payment_intents",
        {
            "amount": 5_000,
            "currency": "usd",
            "customer": cus,
            "payment_method": pi["payment_method"],
            "payment_method_types": ["us_bank_account"],
            "off_session": True,
            "confirm": True,
        },
    )
    assert "requires a mandate" in error(again, 400)["message"]
    card = ok(
        await post(
            api,
            "/v1/payment_intents",
            {"amount": 900, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True},
        )
    )
    assert (
        await api.post(f"/_sim/charges/{card['latest_charge']}/ach_return", json={})
    ).status_code == 409


async def test_off_session_debits_of_a_saved_bank_account(api: httpx.AsyncClient) -> None:
    cus = await customer(api)
    first = ok(await debit(api, await bank_pm(api), customer=cus, setup_future_usage="off_session"))
    pm = first["payment_method"]
    assert (await get(api, f"/v1/payment_methods/{pm}"))["customer"] == cus
    assert "payment_method.attached" in await event_types(api)
    pi = ok(
        await post(
            api,
            "/v1/payment_intents",
            {
                "amount": 7_000,
                "currency": "usd",
                "customer": cus,
                "payment_method": pm,
                "payment_method_types": ["us_bank_account"],
                "off_session": True,
                "confirm": True,
                "expand": ["latest_charge"],
            },
        )
    )
    assert pi["status"] == "processing"
    assert pi["latest_charge"]["payment_method_details"]["us_bank_account"]["mandate"]
    assert set((await advance(api, 4 * DAYS))["settled"]) == {first["id"], pi["id"]}


async def test_a_setup_intent_saves_a_bank_account_with_its_mandate(api: httpx.AsyncClient) -> None:
    cus = await customer(api)
    pm = await bank_pm(api)
    si = ok(
        await post(
            api,
            "/v1/setup_intents",
            {
                "customer": cus,
                "payment_method": pm,
                "payment_method_types": ["us_bank_account"],
                "confirm": True,
                "mandate_data": MANDATE,
            },
        )
    )
    assert (si["status"], si["payment_method"]) == ("succeeded", pm)
    assert (await get(api, f"/v1/mandates/{si['mandate']}"))["payment_method"] == pm
    pi = ok(
        await post(
            api,
            "/v1/payment_intents",
            {
                "amount": 7_000,
                "currency": "usd",
                "customer": cus,
                "payment_method": pm,
                "payment_method_types": ["us_bank_account"],
                "off_session": True,
                "confirm": True,
            },
        )
    )
    assert pi["status"] == "processing"
    # Without a mandate the SetupIntent waits for one.
    err = error(
        await post(
            api,
            "/v1/setup_intents",
            {
                "customer": cus,
                "payment_method": await bank_pm(api),
                "payment_method_types": ["us_bank_account"],
                "confirm": True,
            },
        ),
        400,
    )
    assert err["setup_intent"]["status"] == "requires_confirmation"


async def test_a_destination_debit_transfers_once_it_settles(api: httpx.AsyncClient) -> None:
    pi = ok(
        await debit(
            api,
            "pm_usBankAccount_success",
            application_fee_amount=1_000,
            transfer_data={"destination": "acct_1Host"},
        )
    )
    charge = await get(api, f"/v1/charges/{pi['latest_charge']}")
    assert charge["transfer"] is None
    await advance(api, 4 * DAYS)
    charge = await get(api, f"/v1/charges/{pi['latest_charge']}")
    transfer = await get(api, f"/v1/transfers/{charge['transfer']}")
    assert (transfer["amount"], transfer["destination"]) == (9_000, "acct_1Host")


async def test_reset_forgets_debits_and_mandates(api: httpx.AsyncClient) -> None:
    pi = ok(await debit(api, await bank_pm(api), expand=["latest_charge"]))
    mandate = pi["latest_charge"]["payment_method_details"]["us_bank_account"]["mandate"]
    ok(await api.post("/_sim/reset"))
    assert error(await api.get(f"/v1/mandates/{mandate}", headers=AUTH), 404)
    assert (await advance(api, 5 * DAYS))["settled"] == []


# -- the official SDK, signed webhooks -------------------------------------------------------
def test_an_ach_payment_through_the_stripe_sdk(sdk: tuple[str, WebhookRecorder]) -> None:
    base_url, recorder = sdk
    cus = stripe.Customer.create(email="guest@example.test")
    pm = stripe.PaymentMethod.create(
        type="us_bank_account",
        us_bank_account={
            "account_number": "000123456789",
            "routing_number": "110000000",
            "account_holder_type": "individual",
        },
        billing_details={"name": "Jenny Rosen"},
    )
    pi = stripe.PaymentIntent.create(
        amount=25_000,
        currency="usd",
        customer=cus.id,
        payment_method=pm.id,
        allowed_payment_method_types=["us_bank_account"],
        confirm=True,
        mandate_data={
            "customer_acceptance": {
                "type": "online",
                "online": {"ip_address": "203.0.113.7", "user_agent": "Mozilla/5.0"},
            }
        },
        expand=["latest_charge"],
    )
    assert pi.status == "processing"
    charge = pi.latest_charge
    assert isinstance(charge, stripe.Charge) and charge.status == "pending"
    assert charge.payment_method_details is not None
    assert charge.payment_method_details.us_bank_account is not None
    assert charge.payment_method_details.us_bank_account.last4 == "6789"
    mandate = stripe.Mandate.retrieve(str(charge.payment_method_details.us_bank_account.mandate))
    assert mandate.status == "active"
    with pytest.raises(stripe.InvalidRequestError):
        stripe.PaymentIntent.create(
            amount=1_000,
            currency="usd",
            allowed_payment_method_types=["us_bank_account"],
            capture_method="manual",
        )
    httpx.post(f"{base_url}/_sim/clock/advance", json={"seconds": 4 * DAYS}).raise_for_status()
    assert stripe.PaymentIntent.retrieve(pi.id).status == "succeeded"
    expected = [
        "customer.created",
        "payment_intent.created",
        "charge.pending",
        "payment_intent.processing",
        "charge.succeeded",
        "payment_intent.succeeded",
    ]
    events = signed_events(recorder, len(expected))
    assert sorted(e.type for e in events) == sorted(expected)  # delivered concurrently
    by_type = {e.type: e.data.object for e in events}
    assert by_type["payment_intent.processing"]["status"] == "processing"
    assert by_type["charge.pending"]["status"] == "pending"
    assert by_type["payment_intent.succeeded"]["status"] == "succeeded"
