"""stripesim: balance transactions (Stripe's US fees), pending → available on the sim clock,
the balance, the list and its filters, and the refund made in the dashboard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from stripesim import create_app
from stripesim.resources import fees
from stripesim.testkit import AUTH, error, event_types, get, ok, paid_intent, post

DAYS = 24 * 60 * 60


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    """The app in-process, without automatic payouts (``test_stripesim_payouts`` has them)."""
    transport = httpx.ASGITransport(app=create_app(automatic_payouts=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


async def advance(api: httpx.AsyncClient, seconds: int) -> dict[str, Any]:
    return ok(await api.post("/_sim/clock/advance", json={"seconds": seconds}))


async def txn(api: httpx.AsyncClient, txn_id: str) -> dict[str, Any]:
    return await get(api, f"/v1/balance_transactions/{txn_id}")


async def all_transactions(api: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    """Every balance transaction matching ``params``, newest first, 3 a page."""
    found: list[dict[str, Any]] = []
    while True:
        after = {"starting_after": found[-1]["id"]} if found else {}
        page = await get(api, "/v1/balance_transactions", limit=3, **params, **after)
        found += page["data"]
        if not page["has_more"]:
            return found


async def balance_by_status(api: httpx.AsyncClient, currency: str = "usd") -> dict[str, int]:
    balance = await get(api, "/v1/balance")
    return {
        status: sum(a["amount"] for a in balance[status] if a["currency"] == currency)
        for status in ("available", "pending")
    }


@pytest.mark.parametrize(
    ("amount", "fee"),
    [
        (10_000, 320),  # 290 + 30
        (1_500, 74),  # 43.5 rounds half up to 44, + 30
        (1_050, 60),  # 30.45 rounds down to 30, + 30
        (50, 31),  # 1.45 → 1
        (1, 30),
    ],
)
def test_card_fee_is_2_9_percent_plus_30_cents_rounded_half_up(amount: int, fee: int) -> None:
    assert fees.card_fee(amount) == fee
    assert fees.processing_fee(amount, "card") == fee


@pytest.mark.parametrize(
    ("amount", "fee"),
    [(10_000, 80), (62_499, 500), (62_500, 500), (100_000, 500), (10, 1), (1, 1), (190, 2)],
)
def test_bank_debit_fee_is_0_8_percent_capped_at_5_dollars_with_a_1_cent_floor(
    amount: int, fee: int
) -> None:
    assert fees.ach_fee(amount) == fee
    assert fees.processing_fee(amount, "us_bank_account") == fee


async def test_a_captured_card_charge_has_a_pending_balance_transaction(
    api: httpx.AsyncClient,
) -> None:
    pi = await paid_intent(api, 10_000)
    expanded = await get(
        api, f"/v1/payment_intents/{pi['id']}", expand=["latest_charge.balance_transaction"]
    )
    bt = expanded["latest_charge"]["balance_transaction"]
    assert bt["id"].startswith("txn_") and bt["object"] == "balance_transaction"
    assert (bt["amount"], bt["fee"], bt["net"], bt["currency"]) == (10_000, 320, 9_680, "usd")
    assert bt["fee_details"] == [
        {
            "amount": 320,
            "application": None,
            "currency": "usd",
            "description": "Stripe processing fees",
            "type": "stripe_fee",
        }
    ]
    assert (bt["type"], bt["reporting_category"], bt["status"]) == ("charge", "charge", "pending")
    assert bt["source"] == pi["latest_charge"] == expanded["latest_charge"]["id"]
    assert bt["available_on"] == bt["created"] + 2 * DAYS
    charge = await get(api, f"/v1/charges/{pi['latest_charge']}", expand=["balance_transaction"])
    assert charge["balance_transaction"] == bt == await txn(api, bt["id"])
    assert await balance_by_status(api) == {"available": 0, "pending": 9_680}


async def test_a_manual_capture_books_the_captured_amount_only_at_capture(
    api: httpx.AsyncClient,
) -> None:
    pi = await paid_intent(api, 20_000, capture_method="manual")
    charge = await get(api, f"/v1/charges/{pi['latest_charge']}")
    assert charge["balance_transaction"] is None  # an authorization moves no money
    ok(await post(api, f"/v1/payment_intents/{pi['id']}/capture", {"amount_to_capture": 15_000}))
    charge = await get(api, f"/v1/charges/{pi['latest_charge']}", expand=["balance_transaction"])
    bt = charge["balance_transaction"]
    assert (bt["amount"], bt["fee"]) == (15_000, fees.card_fee(15_000))


async def test_funds_become_available_when_the_sim_clock_passes_available_on(
    api: httpx.AsyncClient,
) -> None:
    pi = await paid_intent(api, 10_000)
    [bt] = await all_transactions(api)
    done = await advance(api, 2 * DAYS - 60)
    assert done["available"] == [] and (await txn(api, bt["id"]))["status"] == "pending"
    done = await advance(api, 60)
    assert done["available"] == [bt["id"]]
    assert (await txn(api, bt["id"]))["status"] == "available"
    assert await balance_by_status(api) == {"available": 9_680, "pending": 0}
    assert (await event_types(api, balance=True))[-1] == "balance.available"
    assert pi["latest_charge"] == bt["source"]


async def test_the_delay_to_available_is_configurable() -> None:
    transport = httpx.ASGITransport(
        app=create_app(available_delay_seconds=3_600, automatic_payouts=False)
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as api:
        await paid_intent(api, 5_000)
        [bt] = await all_transactions(api)
        assert bt["available_on"] == bt["created"] + 3_600
        await advance(api, 3_600)
        assert (await txn(api, bt["id"]))["status"] == "available"


async def test_refunds_transfers_reversals_and_disputes_each_have_their_own(
    api: httpx.AsyncClient,
) -> None:
    pi = await paid_intent(api, 10_000)
    charge = pi["latest_charge"]
    refund = ok(await post(api, "/v1/refunds", {"payment_intent": pi["id"], "amount": 2_500}))
    transfer = ok(
        await post(
            api,
            "/v1/transfers",
            {
                "amount": 5_000,
                "currency": "usd",
                "destination": "acct_1Host",
                "source_transaction": charge,
            },
        )
    )
    reversal = ok(await post(api, f"/v1/transfers/{transfer['id']}/reversals", {"amount": 1_000}))
    other = await paid_intent(api, 4_000)
    dispute = ok(await api.post(f"/_sim/charges/{other['latest_charge']}/dispute", json={}))
    ok(await api.post(f"/_sim/disputes/{dispute['id']}/resolve", json={"status": "won"}))
    rows = {
        (bt["source"], bt["reporting_category"]): (
            bt["type"],
            bt["amount"],
            bt["fee"],
            bt["net"],
            bt["status"],
        )
        for bt in await all_transactions(api)
    }
    assert rows == {
        (charge, "charge"): ("charge", 10_000, 320, 9_680, "pending"),
        (refund["id"], "refund"): ("refund", -2_500, 0, -2_500, "available"),
        (transfer["id"], "transfer"): ("transfer", -5_000, 0, -5_000, "available"),
        (reversal["id"], "transfer_reversal"): ("transfer_refund", 1_000, 0, 1_000, "available"),
        (other["latest_charge"], "charge"): ("charge", 4_000, 146, 3_854, "pending"),
        (dispute["id"], "dispute"): ("adjustment", -4_000, 1_500, -5_500, "available"),
        (dispute["id"], "dispute_reversal"): ("adjustment", 4_000, 0, 4_000, "available"),
    }
    assert refund["balance_transaction"] == (await txn(api, refund["balance_transaction"]))["id"]
    assert (await get(api, f"/v1/transfers/{transfer['id']}"))["balance_transaction"].startswith(
        "txn_"
    )
    assert reversal["balance_transaction"].startswith("txn_")
    withdrawal = (await get(api, f"/v1/disputes/{dispute['id']}"))["balance_transactions"][0]
    assert withdrawal == await txn(api, withdrawal["id"])
    assert withdrawal["fee_details"][0]["description"] == "Dispute fee"


async def test_the_balance_is_the_sum_of_the_nets_by_status(api: httpx.AsyncClient) -> None:
    first = await paid_intent(api, 10_000)
    await advance(api, 2 * DAYS)
    ok(await post(api, "/v1/refunds", {"payment_intent": first["id"], "amount": 1_000}))
    await paid_intent(api, 7_777)
    ok(
        await post(
            api, "/v1/transfers", {"amount": 3_000, "currency": "usd", "destination": "acct_1H"}
        )
    )
    await paid_intent(api, 1_000, currency="eur")
    everything = await all_transactions(api)
    for currency in ("usd", "eur"):
        sums = {
            status: sum(
                bt["net"]
                for bt in everything
                if (bt["currency"], bt["status"]) == (currency, status)
            )
            for status in ("available", "pending")
        }
        assert await balance_by_status(api, currency) == sums
    assert await balance_by_status(api, "usd") == {
        "available": 9_680 - 1_000 - 3_000,
        "pending": 7_777 - fees.card_fee(7_777),
    }


async def test_a_bank_debit_pays_the_capped_ach_fee_once_it_settles(api: httpx.AsyncClient) -> None:
    pm = ok(
        await post(
            api,
            "/v1/payment_methods",
            {
                "type": "us_bank_account",
                "us_bank_account": {
                    "account_number": "000123456789",
                    "routing_number": "110000000",
                    "account_holder_type": "individual",
                },
                "billing_details": {"name": "Jenny Rosen"},
            },
        )
    )
    pi = ok(
        await post(
            api,
            "/v1/payment_intents",
            {
                "amount": 100_000,
                "currency": "usd",
                "payment_method": pm["id"],
                "payment_method_types": ["us_bank_account"],
                "confirm": True,
                "mandate_data": {"customer_acceptance": {"type": "offline"}},
            },
        )
    )
    assert await all_transactions(api) == []  # nothing moves while the debit is processing
    ok(await api.post(f"/_sim/intents/{pi['id']}/ach", json={"outcome": "succeed"}))
    [bt] = await all_transactions(api)
    assert (bt["type"], bt["reporting_category"], bt["amount"], bt["fee"]) == (
        "payment",
        "charge",
        100_000,
        500,
    )
    refund = ok(await post(api, "/v1/refunds", {"payment_intent": pi["id"], "amount": 100}))
    assert (await txn(api, refund["balance_transaction"]))["type"] == "payment_refund"


async def test_list_is_newest_first_with_cursors_both_ways(api: httpx.AsyncClient) -> None:
    for amount in range(1_000, 1_007):
        await paid_intent(api, amount)
    listed = await all_transactions(api)
    assert [bt["amount"] for bt in listed] == list(range(1_006, 999, -1))
    before = await get(api, "/v1/balance_transactions", limit=2, ending_before=listed[4]["id"])
    assert [bt["id"] for bt in before["data"]] == [listed[2]["id"], listed[3]["id"]]
    assert before["has_more"] is True
    err = error(
        await api.get("/v1/balance_transactions?starting_after=txn_nope", headers=AUTH), 404
    )
    assert (err["code"], err["param"]) == ("resource_missing", "starting_after")
    err = error(await api.get("/v1/balance_transactions?limit=101", headers=AUTH), 400)
    assert err["param"] == "limit"


async def test_list_filters_on_created_type_source_and_currency(api: httpx.AsyncClient) -> None:
    early = await paid_intent(api, 1_000)
    await advance(api, 100)
    middle = await paid_intent(api, 2_000, currency="eur")
    await advance(api, 100)
    late = await paid_intent(api, 3_000)
    refund = ok(await post(api, "/v1/refunds", {"payment_intent": late["id"], "amount": 500}))
    listed = await all_transactions(api)
    created = {bt["amount"]: bt["created"] for bt in listed}

    async def amounts(**params: Any) -> list[int]:
        return [bt["amount"] for bt in await all_transactions(api, **params)]

    assert await amounts(created={"gte": created[2_000]}) == [-500, 3_000, 2_000]
    assert await amounts(created={"gt": created[2_000]}) == [-500, 3_000]
    assert await amounts(created={"lt": created[2_000]}) == [1_000]
    assert await amounts(created={"lte": created[2_000], "gt": created[1_000]}) == [2_000]
    assert await amounts(created=created[1_000]) == [1_000]
    assert await amounts(type="refund") == [-500]
    assert await amounts(type="charge", currency="usd") == [3_000, 1_000]
    assert await amounts(currency="eur") == [2_000]
    assert await amounts(source=early["latest_charge"]) == [1_000]
    assert await amounts(source=refund["id"]) == [-500]
    assert await amounts(type="charge", created={"gte": created[2_000]}) == [3_000, 2_000]
    assert middle["currency"] == "eur"


async def test_a_dashboard_refund_is_a_refund_like_any_other(api: httpx.AsyncClient) -> None:
    pi = await paid_intent(api, 10_000)
    made = ok(
        await api.post(
            "/_sim/dashboard/refunds", json={"charge": pi["latest_charge"], "amount": 1_234}
        )
    )
    assert made["id"].startswith("re_") and made["status"] == "succeeded"
    assert (made["amount"], made["payment_intent"]) == (1_234, pi["id"])
    assert (await event_types(api))[-2:] == ["refund.created", "charge.refunded"]
    events = (await get(api, "/v1/events", limit=2))["data"]
    assert all(e["request"]["idempotency_key"] is None for e in events)
    assert (await txn(api, made["balance_transaction"]))["amount"] == -1_234
    assert (await get(api, f"/v1/charges/{pi['latest_charge']}"))["amount_refunded"] == 1_234
    rest = ok(await api.post("/_sim/dashboard/refunds", json={"payment_intent": pi["id"]}))
    assert rest["amount"] == 10_000 - 1_234
    refused = await api.post("/_sim/dashboard/refunds", json={"payment_intent": pi["id"]})
    assert error(refused, 400)["code"] == "charge_already_refunded"
    assert (await api.post("/_sim/dashboard/refunds", json={})).status_code == 422
