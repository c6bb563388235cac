"""ACH Direct Debit bookings through the gateway, with every service a process and the Stripe
simulator settling or returning the debit: one that succeeds (funds pending, received, then
cleared once the return window passed), and one returned after confirmation that the guest
pays by card. What the gateway and payments show is checked against the simulator's records,
and nothing is captured twice."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import service_dsn
from tests.e2e.conftest import System
from tests.e2e.test_instant_book import wait_for_booking
from tests.support.e2e import publish, wait_until_listed

pytestmark = pytest.mark.e2e
SUFFIX = uuid.uuid4().hex[:8]
LISTING = f"lst_ach_{SUFFIX}"
STRIPE_AUTH = {"Authorization": "Bearer sk_test_local_simulator"}


@pytest.fixture(scope="module")
def guest(system: System) -> httpx.Client:
    from marketplace_contracts.events.catalog import ListingUpsertedV1

    seeds = json.loads(
        (
            Path(__file__).resolve().parents[2] / "services/booking/booking/seed_listings.json"
        ).read_text()
    )
    seed = next(s for s in seeds if s["listing_id"] == "lst_loft_01")
    listing = {
        **seed,
        "listing_id": LISTING,
        "host_id": f"host-ach-{SUFFIX}",
        "host_account_id": f"acct_ach_{SUFFIX}",
        "accepts_bank_debit": True,
    }
    asyncio.run(publish(ListingUpsertedV1.model_validate(listing)))
    client = system.client("booking", sub=f"guest-ach-{SUFFIX}")
    client.headers["User-Agent"] = "e2e-guest/1.0"
    wait_until_listed(client, LISTING, what="the listing")
    return client


def _times(days: int, slot: int) -> dict[str, str]:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(
        days=days, hours=3 * slot
    )
    return {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat()}


def _book_by_bank(guest: httpx.Client, times: dict[str, str]) -> dict[str, Any]:
    answer = guest.post(
        "/v1/bookings",
        json={
            "listing_id": LISTING,
            **times,
            "payment_method": "pm_usBankAccount_success",
            "payment_method_type": "us_bank_account",
        },
    )
    assert answer.status_code == 202, answer.text
    booking: dict[str, Any] = answer.json()
    return booking


async def _payments(booking_id: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(service_dsn("payments"))
    try:
        return list(
            await conn.fetch(
                "SELECT * FROM payments.payments WHERE booking_id = $1 ORDER BY created_at",
                booking_id,
            )
        )
    finally:
        await conn.close()


async def _published(payment_id: str, event_type: str) -> int:
    conn = await asyncpg.connect(service_dsn("payments"))
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM payments.outbox WHERE key = $1 AND event_type = $2",
            payment_id,
            event_type,
        )
        return count
    finally:
        await conn.close()


def _stripe(system: System, path: str, **params: str) -> dict[str, Any]:
    answer = httpx.get(f"{system.urls['stripe']}{path}", params=params, headers=STRIPE_AUTH)
    answer.raise_for_status()
    data: dict[str, Any] = answer.json()
    return data


def _succeeded_intents(system: System, booking_id: str) -> list[dict[str, Any]]:
    events = _stripe(system, "/v1/events", type="payment_intent.succeeded", limit="100")
    return [
        e["data"]["object"]
        for e in events["data"]
        if e["data"]["object"]["metadata"].get("booking_id") == booking_id
    ]


def test_a_bank_debit_booking_is_confirmed_pending_then_received_then_cleared(
    system: System, guest: httpx.Client
) -> None:
    booking = _book_by_bank(guest, _times(7, 0))
    booking_id = booking["booking_id"]
    pending = wait_for_booking(guest, booking_id, lambda b: b["status"] == "confirmed")
    assert (pending["payment_method_type"], pending["funds_status"]) == (
        "us_bank_account",
        "pending",
    )
    assert (pending["bank_name"], pending["bank_last4"]) == ("STRIPE TEST BANK", "6789")
    [payment] = asyncio.run(_payments(booking_id))
    intent = _stripe(system, f"/v1/payment_intents/{payment['payment_intent_id']}")
    assert intent["status"] == payment["stripe_status"] == "processing"
    assert payment["status"] == "processing" and pending["payment_status"] == "processing"
    assert intent["transfer_data"] is None and intent["transfer_group"] == booking_id
    # A guest cannot cancel while the debit has not settled.
    refused = guest.post(f"/v1/bookings/{booking_id}/cancel", json={})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "funds_pending"

    settle = httpx.post(
        f"{system.urls['stripe']}/_sim/intents/{intent['id']}/ach", json={"outcome": "succeed"}
    )
    assert settle.status_code == 200
    received = wait_for_booking(
        guest, booking_id, lambda b: b["funds_status"] in ("received", "cleared")
    )
    assert received["status"] == "confirmed" and received["payment_status"] == "captured"
    cleared = wait_for_booking(guest, booking_id, lambda b: b["funds_status"] == "cleared")
    assert cleared["status"] == "confirmed"

    [payment] = asyncio.run(_payments(booking_id))
    intent = _stripe(system, f"/v1/payment_intents/{payment['payment_intent_id']}")
    charge = _stripe(system, f"/v1/charges/{intent['latest_charge']}")
    assert intent["status"] == payment["stripe_status"] == "succeeded"
    assert payment["status"] == "captured"
    assert payment["captured_amount"] == intent["amount_received"] == booking["amount"]
    assert charge["status"] == "succeeded" and charge["amount_captured"] == booking["amount"]
    assert payment["funds_cleared_at"] is not None
    # Nothing captured twice: one succeeded intent, one capture and one clearance announced.
    assert len(_succeeded_intents(system, booking_id)) == 1
    assert asyncio.run(_published(payment["payment_id"], "payments.payment_captured")) == 1
    assert asyncio.run(_published(payment["payment_id"], "payments.funds_cleared")) == 1


def test_a_debit_returned_after_confirmation_is_paid_by_card(
    system: System, guest: httpx.Client
) -> None:
    booking = _book_by_bank(guest, _times(8, 1))
    booking_id = booking["booking_id"]
    wait_for_booking(guest, booking_id, lambda b: b["funds_status"] == "pending")
    [debit] = asyncio.run(_payments(booking_id))
    returned = httpx.post(
        f"{system.urls['stripe']}/_sim/intents/{debit['payment_intent_id']}/ach",
        json={"outcome": "fail", "failure_code": "insufficient_funds"},
    )
    assert returned.status_code == 200
    due = wait_for_booking(guest, booking_id, lambda b: b["status"] == "payment_due")
    assert (due["funds_status"], due["failure_reason"]) == ("returned", "payment_returned")
    assert due["pay_by"] is not None
    assert datetime.fromisoformat(due["pay_by"]) <= datetime.fromisoformat(due["starts_at"])

    paid = guest.post(f"/v1/bookings/{booking_id}/pay", json={"payment_method": "pm_card_visa"})
    assert paid.status_code == 202, paid.text
    confirmed = wait_for_booking(
        guest,
        booking_id,
        lambda b: b["status"] == "confirmed" and b["payment_method_type"] == "card",
    )
    assert confirmed["payment_status"] == "captured" and confirmed["funds_status"] is None

    debit_row, card_row = asyncio.run(_payments(booking_id))
    assert debit_row["payment_id"] == debit["payment_id"] and debit_row["status"] == "returned"
    assert card_row["payment_id"] == confirmed["payment_id"] != debit["payment_id"]
    debit_intent = _stripe(system, f"/v1/payment_intents/{debit_row['payment_intent_id']}")
    card_intent = _stripe(system, f"/v1/payment_intents/{card_row['payment_intent_id']}")
    # What payments recorded is what the simulator holds.
    assert debit_intent["status"] == debit_row["stripe_status"] == "requires_payment_method"
    assert debit_intent["amount_received"] == 0
    assert card_intent["status"] == card_row["stripe_status"] == "succeeded"
    assert card_intent["amount_received"] == card_row["captured_amount"] == booking["amount"]
    assert card_row["status"] == "captured"
    # One capture only: the returned debit never succeeded, the card was charged once.
    succeeded = [
        i
        for i in _stripe(system, "/v1/events", type="payment_intent.succeeded", limit="100")["data"]
        if i["data"]["object"]["id"] in (debit_intent["id"], card_intent["id"])
    ]
    assert [e["data"]["object"]["id"] for e in succeeded] == [card_intent["id"]]
    assert asyncio.run(_published(card_row["payment_id"], "payments.payment_captured")) == 1
    assert asyncio.run(_published(debit_row["payment_id"], "payments.payment_captured")) == 0
