"""stripesim: disputes opened by a test control, evidence, close, and the bank's decision."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from stripesim.resources.disputes import EVIDENCE_FIELDS
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

DAYS = 24 * 60 * 60


async def paid(api: httpx.AsyncClient, amount: int = 8_000, **params: Any) -> dict[str, Any]:
    return await paid_intent(api, amount, **params)


async def dispute(api: httpx.AsyncClient, charge: str, **spec: Any) -> httpx.Response:
    return await api.post(f"/_sim/charges/{charge}/dispute", json=spec)


async def test_a_dispute_is_opened_on_a_charge(api: httpx.AsyncClient) -> None:
    pi = await paid(api)
    charge = pi["latest_charge"]
    du = ok(await dispute(api, charge, reason="fraudulent"))
    assert du["id"].startswith("du_") and du["object"] == "dispute"
    assert (du["amount"], du["currency"], du["charge"], du["payment_intent"]) == (
        8_000,
        "usd",
        charge,
        pi["id"],
    )
    assert (du["reason"], du["status"], du["is_charge_refundable"]) == (
        "fraudulent",
        "needs_response",
        False,
    )
    assert du["evidence"] == dict.fromkeys(EVIDENCE_FIELDS)
    details = du["evidence_details"]
    assert details["due_by"] == du["created"] + 7 * DAYS
    assert (details["has_evidence"], details["past_due"], details["submission_count"]) == (
        False,
        False,
        0,
    )
    [withdrawal] = du["balance_transactions"]
    assert (withdrawal["amount"], withdrawal["fee"], withdrawal["reporting_category"]) == (
        -8_000,
        1_500,
        "dispute",
    )
    assert (du["metadata"], du["livemode"]) == ({}, False)
    assert (await get(api, f"/v1/charges/{charge}"))["disputed"] is True
    assert await get(api, f"/v1/disputes/{du['id']}") == du
    assert (await event_types(api))[-2:] == [
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
    ]
    # A disputed charge cannot be refunded.
    err = error(await post(api, "/v1/refunds", {"payment_intent": pi["id"]}), 400)
    assert (err["type"], err["code"]) == ("invalid_request_error", "charge_disputed")
    assert err["message"] == f"Charge {charge} has been charged back; cannot issue a refund."


async def test_dispute_control_refusals(api: httpx.AsyncClient) -> None:
    pi = await paid(api)
    assert (await dispute(api, "ch_nope")).status_code == 404
    assert (await dispute(api, pi["latest_charge"], amount=8_001)).status_code == 400
    assert (await dispute(api, pi["latest_charge"], reason="made_up")).status_code == 422
    held = await paid(api, capture_method="manual")
    assert (await dispute(api, held["latest_charge"])).status_code == 409
    partial = ok(await dispute(api, pi["latest_charge"], amount=3_000, reason="duplicate"))
    assert (partial["amount"], partial["reason"]) == (3_000, "duplicate")
    assert (await dispute(api, pi["latest_charge"])).status_code == 409  # one per charge
    refunded = await paid(api)
    ok(await post(api, "/v1/refunds", {"payment_intent": refunded["id"]}))
    gone = await dispute(api, refunded["latest_charge"])
    assert gone.status_code == 409 and "nothing is left to dispute" in gone.text


async def test_an_inquiry_withdraws_nothing_and_stays_refundable(api: httpx.AsyncClient) -> None:
    pi = await paid(api)
    du = ok(await dispute(api, pi["latest_charge"], inquiry=True))
    assert (du["status"], du["is_charge_refundable"], du["balance_transactions"]) == (
        "warning_needs_response",
        True,
        [],
    )
    assert (await event_types(api))[-1] == "charge.dispute.created"
    assert ok(await post(api, "/v1/refunds", {"payment_intent": pi["id"]}))["amount"] == 8_000


async def test_listing_disputes(api: httpx.AsyncClient) -> None:
    first, second = await paid(api), await paid(api)
    a = ok(await dispute(api, first["latest_charge"]))
    b = ok(await dispute(api, second["latest_charge"]))
    page = await get(api, "/v1/disputes", limit=1)
    assert ([d["id"] for d in page["data"]], page["has_more"], page["url"]) == (
        [b["id"]],
        True,
        "/v1/disputes",
    )
    assert [d["id"] for d in (await get(api, "/v1/disputes", starting_after=b["id"]))["data"]] == [
        a["id"]
    ]
    by_charge = await get(api, "/v1/disputes", charge=first["latest_charge"])
    assert [d["id"] for d in by_charge["data"]] == [a["id"]]
    by_intent = await get(api, "/v1/disputes", payment_intent=second["id"])
    assert [d["id"] for d in by_intent["data"]] == [b["id"]]
    assert error(await api.get("/v1/disputes/du_nope", headers=AUTH), 404)["code"] == (
        "resource_missing"
    )


async def test_staging_then_submitting_evidence(api: httpx.AsyncClient) -> None:
    du = ok(await dispute(api, (await paid(api))["latest_charge"]))
    path = f"/v1/disputes/{du['id']}"
    staged = ok(
        await post(
            api,
            path,
            {
                "evidence": {"customer_name": "Jenny Rosen", "product_description": "2 nights"},
                "metadata": {"case": "c1"},
                "submit": False,
            },
        )
    )
    assert staged["status"] == "needs_response"
    assert staged["evidence"]["customer_name"] == "Jenny Rosen"
    assert staged["evidence_details"]["has_evidence"] is True
    assert staged["evidence_details"]["submission_count"] == 0
    assert staged["metadata"] == {"case": "c1"}
    err = error(await post(api, path, {"evidence": {"not_a_field": "x"}}), 400)
    assert err["code"] == "parameter_unknown"

    await api.post("/_sim/clock/advance", json={"seconds": 8 * DAYS})
    submitted = ok(await post(api, path, {"evidence": {"uncategorized_text": "see booking"}}))
    assert submitted["status"] == "under_review"  # submit defaults to true, as on Stripe
    details = submitted["evidence_details"]
    assert (details["submission_count"], details["past_due"]) == (1, True)
    assert submitted["evidence"]["customer_name"] == "Jenny Rosen"  # merged
    assert (await event_types(api))[-2:] == ["charge.dispute.updated", "charge.dispute.updated"]
    assert error(await post(api, path, {"evidence": {"uncategorized_text": "more"}}), 400)[
        "param"
    ] == ("submit")
    assert error(await post(api, f"{path}/close"), 400)["type"] == "invalid_request_error"


async def test_closing_accepts_the_dispute_as_lost(api: httpx.AsyncClient) -> None:
    du = ok(await dispute(api, (await paid(api))["latest_charge"]))
    closed = ok(await post(api, f"/v1/disputes/{du['id']}/close"))
    assert closed["status"] == "lost"
    assert (await event_types(api))[-1] == "charge.dispute.closed"
    assert error(await post(api, f"/v1/disputes/{du['id']}/close"), 400)
    assert error(await post(api, f"/v1/disputes/{du['id']}", {"metadata": {"a": "b"}}), 400)
    assert (
        await api.post(f"/_sim/disputes/{du['id']}/resolve", json={"status": "won"})
    ).status_code == 409


async def test_the_bank_decides(api: httpx.AsyncClient) -> None:
    won = ok(await dispute(api, (await paid(api))["latest_charge"]))
    ok(
        await post(
            api, f"/v1/disputes/{won['id']}", {"evidence": {"uncategorized_text": "receipt"}}
        )
    )
    won = ok(await api.post(f"/_sim/disputes/{won['id']}/resolve", json={"status": "won"}))
    assert won["status"] == "won"
    assert [t["amount"] for t in won["balance_transactions"]] == [-8_000, 8_000]
    assert (await event_types(api))[-2:] == [
        "charge.dispute.closed",
        "charge.dispute.funds_reinstated",
    ]
    lost = ok(await dispute(api, (await paid(api))["latest_charge"]))
    lost = ok(await api.post(f"/_sim/disputes/{lost['id']}/resolve", json={"status": "lost"}))
    assert lost["status"] == "lost" and len(lost["balance_transactions"]) == 1
    assert (await event_types(api))[-1] == "charge.dispute.closed"
    assert (
        await api.post("/_sim/disputes/du_nope/resolve", json={"status": "won"})
    ).status_code == 404


async def test_reset_forgets_disputes(api: httpx.AsyncClient) -> None:
    du = ok(await dispute(api, (await paid(api))["latest_charge"]))
    ok(await api.post("/_sim/reset"))
    assert error(await api.get(f"/v1/disputes/{du['id']}", headers=AUTH), 404)
    assert (await get(api, "/v1/disputes"))["data"] == []


# -- the official SDK, signed webhooks -------------------------------------------------------
def test_disputes_through_the_stripe_sdk(sdk: tuple[str, WebhookRecorder]) -> None:
    base_url, recorder = sdk
    pi = stripe.PaymentIntent.create(
        amount=12_000, currency="usd", payment_method="pm_card_visa", confirm=True
    )
    opened = httpx.post(
        f"{base_url}/_sim/charges/{pi.latest_charge}/dispute",
        json={"reason": "product_not_received"},
    )
    opened.raise_for_status()
    du = stripe.Dispute.retrieve(opened.json()["id"])
    assert isinstance(du, stripe.Dispute)
    assert (du.status, du.reason, du.amount) == ("needs_response", "product_not_received", 12_000)
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        stripe.Refund.create(payment_intent=pi.id)
    assert excinfo.value.code == "charge_disputed"
    du = stripe.Dispute.modify(
        du.id,
        evidence={"shipping_tracking_number": "1Z999", "customer_email_address": "g@x.test"},
        metadata={"booking_id": "b1"},
        submit=False,
    )
    assert (du.status, du.evidence.shipping_tracking_number) == ("needs_response", "1Z999")
    du = stripe.Dispute.modify(du.id, submit=True)
    assert (du.status, du.evidence_details.submission_count) == ("under_review", 1)
    assert [d.id for d in stripe.Dispute.list(payment_intent=pi.id)] == [du.id]
    httpx.post(f"{base_url}/_sim/disputes/{du.id}/resolve", json={"status": "won"})
    assert stripe.Dispute.retrieve(du.id).status == "won"

    other = stripe.PaymentIntent.create(
        amount=5_000, currency="usd", payment_method="pm_card_visa", confirm=True
    )
    opened = httpx.post(f"{base_url}/_sim/charges/{other.latest_charge}/dispute", json={})
    assert stripe.Dispute.close(opened.json()["id"]).status == "lost"

    expected = [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.updated",
        "charge.dispute.updated",
        "charge.dispute.closed",
        "charge.dispute.funds_reinstated",
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.closed",
    ]
    events = signed_events(recorder, len(expected))
    assert sorted(e.type for e in events) == sorted(expected)  # delivered concurrently
    [reinstated] = [e for e in events if e.type == "charge.dispute.funds_reinstated"]
    assert reinstated.data.object["status"] == "won"
