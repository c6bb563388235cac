"""stripesim: Connect transfers (separate charges and transfers) and transfer reversals.

Most tests run the app in-process over httpx's ASGI transport; one drives it with the official
``stripe`` SDK over a local socket and checks the signed webhooks it sends.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from stripesim.testing import WebhookRecorder
from stripesim.testkit import (
    AUTH,
    error,
    event_types,
    get,
    ok,
    paid_intent,
    post,
    signed_events,
)

HOST = "acct_1HostTransfers"


async def paid_charge(api: httpx.AsyncClient, amount: int = 10_000, **params: Any) -> str:
    """A captured card charge of the platform (no destination); its id."""
    pi = await paid_intent(api, amount, **{"transfer_group": "grp_1", **params})
    return str(pi["latest_charge"])


async def transfer(api: httpx.AsyncClient, key: str | None = None, **params: Any) -> httpx.Response:
    data = {"amount": 4_000, "currency": "usd", "destination": HOST, **params}
    return await post(api, "/v1/transfers", data, key=key)


# -- transfers -------------------------------------------------------------------------------
async def test_a_transfer_funded_by_a_charge(api: httpx.AsyncClient) -> None:
    charge = await paid_charge(api)
    tr = ok(
        await transfer(
            api,
            source_transaction=charge,
            transfer_group="grp_1",
            description="payout for booking 1",
            metadata={"booking_id": "b1"},
        )
    )
    assert tr["id"].startswith("tr_") and tr["object"] == "transfer"
    assert (tr["amount"], tr["currency"], tr["destination"]) == (4_000, "usd", HOST)
    assert (tr["amount_reversed"], tr["reversed"]) == (0, False)
    assert (tr["source_transaction"], tr["transfer_group"]) == (charge, "grp_1")
    assert (tr["description"], tr["metadata"]) == ("payout for booking 1", {"booking_id": "b1"})
    assert tr["reversals"] == {
        "object": "list",
        "data": [],
        "has_more": False,
        "total_count": 0,
        "url": f"/v1/transfers/{tr['id']}/reversals",
    }
    assert isinstance(tr["created"], int) and tr["livemode"] is False
    assert await get(api, f"/v1/transfers/{tr['id']}") == tr
    assert (await event_types(api))[-1] == "transfer.created"
    # Without source_transaction the platform balance pays (not modelled: always enough).
    assert ok(await transfer(api, amount=100))["source_transaction"] is None


async def test_a_charge_cannot_fund_more_than_is_left_of_it(api: httpx.AsyncClient) -> None:
    charge = await paid_charge(api)
    ok(await transfer(api, source_transaction=charge, amount=6_000))
    err = error(await transfer(api, source_transaction=charge, amount=4_001), 400)
    assert (err["type"], err["code"], err["param"]) == (
        "invalid_request_error",
        "balance_insufficient",
        "amount",
    )
    assert "($40.01)" in err["message"] and "($40.00)" in err["message"]
    # A refund leaves less to transfer.
    ok(await post(api, "/v1/refunds", {"charge": charge, "amount": 1_000}))
    assert error(await transfer(api, source_transaction=charge, amount=3_001), 400)["code"] == (
        "balance_insufficient"
    )
    ok(await transfer(api, source_transaction=charge, amount=3_000))
    assert error(await transfer(api, source_transaction=charge, amount=1), 400)["param"] == "amount"


async def test_a_reversed_transfer_gives_its_share_of_the_charge_back(
    api: httpx.AsyncClient,
) -> None:
    charge = await paid_charge(api, amount=5_000)
    tr = ok(await transfer(api, source_transaction=charge, amount=5_000))
    assert error(await transfer(api, source_transaction=charge, amount=1), 400)
    ok(await post(api, f"/v1/transfers/{tr['id']}/reversals", {"amount": 2_000}))
    ok(await transfer(api, source_transaction=charge, amount=2_000))


async def test_only_a_captured_successful_charge_funds_a_transfer(api: httpx.AsyncClient) -> None:
    held = await paid_charge(api, capture_method="manual")
    err = error(await transfer(api, source_transaction=held), 400)
    assert (err["type"], err["param"]) == ("invalid_request_error", "source_transaction")
    declined = await post(
        api,
        "/v1/payment_intents",
        {"amount": 5000, "currency": "usd", "payment_method": "pm_card_chargeDeclined"}
        | {"confirm": True},
    )
    failed = declined.json()["error"]["charge"]
    assert error(await transfer(api, source_transaction=failed), 400)["param"] == (
        "source_transaction"
    )
    err = error(await transfer(api, source_transaction="ch_nope"), 404)
    assert (err["code"], err["param"]) == ("resource_missing", "source_transaction")
    charge = await paid_charge(api)
    err = error(await transfer(api, source_transaction=charge, currency="eur"), 400)
    assert err["param"] == "currency"
    assert await event_types(api) == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.amount_capturable_updated",
        "payment_intent.created",
        "charge.failed",
        "payment_intent.payment_failed",
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
    ]


async def test_transfer_validation(api: httpx.AsyncClient) -> None:
    err = error(await post(api, "/v1/transfers", {"amount": 100, "currency": "usd"}), 400)
    assert (err["code"], err["param"]) == ("parameter_missing", "destination")
    err = error(await transfer(api, destination="host-1"), 404)  # as for destination charges
    assert (err["code"], err["param"]) == ("resource_missing", "destination")
    assert error(await transfer(api, amount=0), 400)["param"] == "amount"
    assert error(await transfer(api, bogus=1), 400)["code"] == "parameter_unknown"
    err = error(await post(api, "/v1/transfers", {"destination": HOST, "currency": "usd"}), 400)
    assert (err["code"], err["param"]) == ("parameter_missing", "amount")


async def test_transfers_are_idempotent(api: httpx.AsyncClient) -> None:
    charge = await paid_charge(api)
    first = await transfer(api, key="payout:b1", source_transaction=charge, amount=6_000)
    again = await transfer(api, key="payout:b1", source_transaction=charge, amount=6_000)
    assert ok(again) == ok(first)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (await event_types(api)).count("transfer.created") == 1
    assert len((await get(api, "/v1/transfers"))["data"]) == 1
    conflict = await transfer(api, key="payout:b1", source_transaction=charge, amount=5_000)
    assert error(conflict, 400)["type"] == "idempotency_error"
    # A refusal is stored like any result, and replayed.
    refused = await transfer(api, key="payout:b2", source_transaction=charge, amount=5_000)
    replay = await transfer(api, key="payout:b2", source_transaction=charge, amount=5_000)
    assert error(refused, 400) == error(replay, 400)
    assert replay.headers["Idempotent-Replayed"] == "true"


async def test_listing_transfers(api: httpx.AsyncClient) -> None:
    ids = [
        ok(await transfer(api, amount=100 + i, transfer_group=f"g{i % 2}"))["id"] for i in range(3)
    ]
    other = ok(await transfer(api, destination="acct_2Other", transfer_group="g0"))["id"]
    page = await get(api, "/v1/transfers", limit=2)
    assert (page["object"], page["url"], page["has_more"]) == ("list", "/v1/transfers", True)
    assert [t["id"] for t in page["data"]] == [other, ids[2]]  # newest first
    rest = await get(api, "/v1/transfers", starting_after=ids[2])
    assert [t["id"] for t in rest["data"]] == [ids[1], ids[0]] and rest["has_more"] is False
    assert [t["id"] for t in (await get(api, "/v1/transfers", transfer_group="g0"))["data"]] == [
        other,
        ids[2],
        ids[0],
    ]
    assert [
        t["id"]
        for t in (await get(api, "/v1/transfers", destination=HOST, transfer_group="g0"))["data"]
    ] == [
        ids[2],
        ids[0],
    ]
    err = error(
        await api.get("/v1/transfers", params={"starting_after": "tr_x"}, headers=AUTH), 404
    )
    assert err["param"] == "starting_after"
    assert error(await api.get("/v1/transfers/tr_nope", headers=AUTH), 404)["code"] == (
        "resource_missing"
    )


async def test_updating_a_transfer(api: httpx.AsyncClient) -> None:
    tr = ok(await transfer(api, metadata={"a": "1"}))
    tr = ok(
        await post(api, f"/v1/transfers/{tr['id']}", {"metadata": {"b": "2"}, "description": "d"})
    )
    assert (tr["metadata"], tr["description"]) == ({"a": "1", "b": "2"}, "d")
    assert (await event_types(api))[-1] == "transfer.updated"


# -- reversals -------------------------------------------------------------------------------
async def test_partial_then_full_reversal(api: httpx.AsyncClient) -> None:
    tr = ok(await transfer(api, amount=4_000))
    path = f"/v1/transfers/{tr['id']}/reversals"
    first = ok(await post(api, path, {"amount": 1_500, "metadata": {"why": "refund"}}))
    assert first["id"].startswith("trr_") and first["object"] == "transfer_reversal"
    assert (first["amount"], first["currency"], first["transfer"]) == (1_500, "usd", tr["id"])
    assert (first["metadata"], first["source_refund"]) == ({"why": "refund"}, None)
    assert isinstance(first["created"], int)
    tr = await get(api, f"/v1/transfers/{tr['id']}")
    assert (tr["amount_reversed"], tr["reversed"]) == (1_500, False)
    assert tr["reversals"]["total_count"] == 1 and tr["reversals"]["data"] == [first]

    # More than is left is refused, and changes nothing.
    err = error(await post(api, path, {"amount": 2_501}), 400)
    assert (err["type"], err["code"], err["param"]) == (
        "invalid_request_error",
        "amount_too_large",
        "amount",
    )
    assert "($25.01)" in err["message"] and "($25.00)" in err["message"]

    # The amount defaults to all that is left.
    second = ok(await post(api, path, {"description": "the rest"}))
    assert second["amount"] == 2_500
    tr = await get(api, f"/v1/transfers/{tr['id']}")
    assert (tr["amount_reversed"], tr["reversed"]) == (4_000, True)
    listed = await get(api, path)
    assert [r["id"] for r in listed["data"]] == [second["id"], first["id"]]
    assert listed["url"] == path
    assert await get(api, f"{path}/{first['id']}") == first
    assert error(await api.get(f"{path}/trr_nope", headers=AUTH), 404)["code"] == "resource_missing"

    # Nothing left to reverse.
    assert error(await post(api, path, {"amount": 1}), 400)["type"] == "invalid_request_error"
    assert error(await post(api, path), 400)["type"] == "invalid_request_error"
    assert (await event_types(api))[-2:] == ["transfer.reversed", "transfer.reversed"]
    assert error(await post(api, "/v1/transfers/tr_nope/reversals"), 404)["code"] == (
        "resource_missing"
    )


async def test_reversals_are_idempotent(api: httpx.AsyncClient) -> None:
    tr = ok(await transfer(api, amount=4_000))
    path = f"/v1/transfers/{tr['id']}/reversals"
    first = ok(await post(api, path, {"amount": 1_000}, key="rev-1"))
    assert ok(await post(api, path, {"amount": 1_000}, key="rev-1")) == first
    assert (await get(api, f"/v1/transfers/{tr['id']}"))["amount_reversed"] == 1_000


async def test_refunds_with_reverse_transfer_create_the_same_reversals(
    api: httpx.AsyncClient,
) -> None:
    pi = ok(
        await post(
            api,
            "/v1/payment_intents",
            {
                "amount": 10_000,
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "confirm": True,
                "application_fee_amount": 1_500,
                "transfer_data": {"destination": HOST},
                "expand": ["latest_charge"],
            },
        )
    )
    charge = pi["latest_charge"]
    assert "transfer.created" in await event_types(api)
    tr = await get(api, f"/v1/transfers/{charge['transfer']}")
    assert (tr["source_transaction"], tr["amount"], tr["reversals"]["total_count"]) == (
        charge["id"],
        8_500,
        0,
    )
    refund = ok(
        await post(
            api,
            "/v1/refunds",
            {"payment_intent": pi["id"], "amount": 2_000, "reverse_transfer": True},
        )
    )
    reversals = await get(api, f"/v1/transfers/{tr['id']}/reversals")
    assert [r["id"] for r in reversals["data"]] == [refund["transfer_reversal"]]
    reversal = reversals["data"][0]
    assert (reversal["amount"], reversal["source_refund"]) == (1_700, refund["id"])
    assert "transfer.reversed" in await event_types(api)
    # Reversing the rest directly, with the application fee.
    ok(await post(api, f"/v1/transfers/{tr['id']}/reversals", {"refund_application_fee": True}))
    fee = await get(api, f"/v1/application_fees/{charge['application_fee']}")
    assert (fee["amount_refunded"], fee["refunded"]) == (1_500, True)
    tr = await get(api, f"/v1/transfers/{tr['id']}")
    assert (tr["amount_reversed"], tr["reversed"], tr["reversals"]["total_count"]) == (
        8_500,
        True,
        2,
    )


async def test_a_partial_reversal_refunds_its_share_of_the_application_fee(
    api: httpx.AsyncClient,
) -> None:
    pi = ok(
        await post(
            api,
            "/v1/payment_intents",
            {
                "amount": 10_000,
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "confirm": True,
                "application_fee_amount": 1_000,
                "transfer_data": {"destination": HOST},
                "expand": ["latest_charge"],
            },
        )
    )
    charge = pi["latest_charge"]
    path = f"/v1/transfers/{charge['transfer']}/reversals"
    ok(await post(api, path, {"amount": 4_500, "refund_application_fee": True}))
    fee = await get(api, f"/v1/application_fees/{charge['application_fee']}")
    assert (fee["amount_refunded"], fee["refunded"]) == (500, False)  # 4 500 / 9 000 of 1 000


async def test_fail_next_transfer_operations(api: httpx.AsyncClient) -> None:
    for operation in ("transfer", "transfer_reversal"):
        rule = ok(await api.post("/_sim/fail_next", json={"operation": operation, "status": 503}))
        assert rule["operation"] == operation
    assert error(await transfer(api, key="t-1"), 503)["type"] == "api_error"
    tr = ok(await transfer(api, key="t-1"))  # the retry with the same key goes through once
    path = f"/v1/transfers/{tr['id']}/reversals"
    assert error(await post(api, path, {"amount": 1}, key="r-1"), 503)["type"] == "api_error"
    assert ok(await post(api, path, {"amount": 1}, key="r-1"))["amount"] == 1
    assert (await event_types(api)).count("transfer.created") == 1


async def test_reset_forgets_transfers(api: httpx.AsyncClient) -> None:
    tr = ok(await transfer(api))
    ok(await post(api, f"/v1/transfers/{tr['id']}/reversals", {"amount": 1}))
    ok(await api.post("/_sim/reset"))
    assert error(await api.get(f"/v1/transfers/{tr['id']}", headers=AUTH), 404)
    assert (await get(api, "/v1/transfers"))["data"] == []


# -- the official SDK, signed webhooks -------------------------------------------------------
def test_transfers_and_reversals_through_the_stripe_sdk(
    sdk: tuple[str, WebhookRecorder],
) -> None:
    _, recorder = sdk
    pi = stripe.PaymentIntent.create(
        amount=20_000,
        currency="usd",
        payment_method="pm_card_visa",
        confirm=True,
        transfer_group="grp_sdk",
    )
    tr = stripe.Transfer.create(
        amount=15_000,
        currency="usd",
        destination=HOST,
        source_transaction=str(pi.latest_charge),
        transfer_group="grp_sdk",
        metadata={"booking_id": "b1"},
        idempotency_key="sdk-transfer-1",
    )
    assert isinstance(tr, stripe.Transfer)
    assert (tr.amount, tr.destination, tr.metadata["booking_id"]) == (15_000, HOST, "b1")
    again = stripe.Transfer.create(
        amount=15_000,
        currency="usd",
        destination=HOST,
        source_transaction=str(pi.latest_charge),
        transfer_group="grp_sdk",
        metadata={"booking_id": "b1"},
        idempotency_key="sdk-transfer-1",
    )
    assert again.id == tr.id
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        stripe.Transfer.create(
            amount=5_001, currency="usd", destination=HOST, source_transaction=str(pi.latest_charge)
        )
    assert (excinfo.value.code, excinfo.value.http_status) == ("balance_insufficient", 400)

    reversal = stripe.Transfer.create_reversal(tr.id, amount=5_000, metadata={"why": "cancel"})
    assert reversal.object == "transfer_reversal"
    assert (reversal.amount, reversal.transfer) == (5_000, tr.id)
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        stripe.Transfer.create_reversal(tr.id, amount=10_001)
    assert (excinfo.value.code, excinfo.value.param) == ("amount_too_large", "amount")
    assert [r.id for r in stripe.Transfer.list_reversals(tr.id)] == [reversal.id]
    assert stripe.Transfer.retrieve_reversal(tr.id, reversal.id).amount == 5_000
    tr = stripe.Transfer.retrieve(tr.id)
    assert (tr.amount_reversed, tr.reversed, tr["reversals"]["total_count"]) == (5_000, False, 1)
    assert [t.id for t in stripe.Transfer.list(transfer_group="grp_sdk")] == [tr.id]

    events = {e.type: e.data.object for e in signed_events(recorder, 5)}  # delivered concurrently
    assert sorted(events) == [
        "charge.succeeded",
        "payment_intent.created",
        "payment_intent.succeeded",
        "transfer.created",
        "transfer.reversed",
    ]
    created, reversed_ = events["transfer.created"], events["transfer.reversed"]
    assert (created["id"], created["amount_reversed"]) == (tr.id, 0)
    assert (reversed_["id"], reversed_["amount_reversed"]) == (tr.id, 5_000)
    assert reversed_["reversals"]["total_count"] == 1
