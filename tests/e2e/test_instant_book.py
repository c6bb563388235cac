"""Instant Book through the gateway, with every service a separate process on real infra."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from aiokafka import AIOKafkaProducer

from tests.e2e.conftest import System
from tests.support import read_topic
from tests.support.e2e import wait_until_listed
from tests.support.poll import wait_until

pytestmark = pytest.mark.e2e
SCHEMAS = {
    (p.parent.name, int(p.stem[1:])): json.loads(p.read_text())
    for p in Path(__file__).resolve().parents[2].glob("contracts/schemas/*/v*.json")
}


def slot(hours: int = 2) -> dict[str, str]:
    """A far-future slot no other test run uses."""
    start = datetime(2030, 1, 1, tzinfo=UTC) + timedelta(hours=random.randrange(0, 24 * 3000))
    return {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=hours)).isoformat()}


def wait_for_booking(
    client: httpx.Client, booking_id: str, done: Any, timeout: float = 30
) -> dict[str, Any]:
    found: dict[str, Any] = wait_until(
        lambda: client.get(f"/v1/bookings/{booking_id}").json(),
        done,
        timeout=timeout,
        interval=0.1,
        what=f"the expected state of booking {booking_id}",
    )
    return found


@pytest.fixture(scope="module")
def guest(system: System) -> httpx.Client:
    client = system.client("booking", sub=f"guest-{uuid.uuid4().hex[:6]}")
    wait_until_listed(client, "lst_loft_01", what="the seeded listing")
    return client


def test_instant_book_is_confirmed_captured_and_posted_to_a_balanced_ledger(
    system: System, guest: httpx.Client
) -> None:
    response = guest.post(
        "/v1/bookings",
        json={"listing_id": "lst_loft_01", **slot(3), "payment_method": "pm_card_visa"},
    )
    assert response.status_code == 202, response.text
    booking = response.json()
    assert booking["status"] == "pending_payment"
    assert (booking["amount"], booking["platform_fee"]) == (3 * 4500, 2025)

    done = wait_for_booking(
        guest, booking["booking_id"], lambda b: b["payment_status"] == "captured"
    )
    assert done["status"] == "confirmed"

    with system.client("finance") as finance:
        postings = _wait_json(finance, f"/v1/ledger/bookings/{booking['booking_id']}", 3)
        balance = finance.get("/v1/ledger/trial-balance").json()
    assert {(p["account"], p["amount"]) for p in postings} == {
        ("asset:stripe_balance:pending", 13500),
        ("revenue:platform_fees", -2025),
        ("liability:host_payable:acct_1HostLoft01", -11475),
    }
    assert balance["balanced"] and balance["totals"]["usd"] == 0
    with system.client("disputes") as disputes:
        charge = _wait_json(disputes, f"/v1/charges/{done['payment_id']}", None)
    assert charge["amount"] == 13500


def test_declined_card_fails_the_booking_releases_the_slot_and_captures_nothing(
    system: System, guest: httpx.Client
) -> None:
    times = slot(2)
    response = guest.post(
        "/v1/bookings",
        json={"listing_id": "lst_garden_02", **times, "payment_method": "pm_card_chargeDeclined"},
    )
    assert response.status_code == 202, response.text
    booking_id = response.json()["booking_id"]
    failed = wait_for_booking(guest, booking_id, lambda b: b["status"] == "failed")
    assert failed["failure_reason"] == "payment_declined"
    assert failed["payment_status"] == "failed"

    retry = guest.post(
        "/v1/bookings",
        json={"listing_id": "lst_garden_02", **times, "payment_method": "pm_card_visa"},
    )
    assert retry.status_code == 202, "the declined booking's slot must be free again"
    with system.client("finance") as finance:
        assert finance.get(f"/v1/ledger/bookings/{booking_id}").json() == []
    intents = httpx.get(
        f"{system.urls['stripe']}/v1/payment_intents",
        headers={"Authorization": "Bearer sk_test_e2e"},
        timeout=5,
    )
    if intents.status_code == 200:  # the simulator lists intents: none was captured for it
        for intent in intents.json().get("data", []):
            if intent.get("metadata", {}).get("booking_id") == booking_id:
                assert intent["status"] != "succeeded"


def test_idempotency_key_replays_the_response_and_refuses_a_different_body(
    guest: httpx.Client,
) -> None:
    body = {"listing_id": "lst_kitchen_03", **slot(2), "payment_method": "pm_card_visa"}
    key = {"Idempotency-Key": f"e2e-{uuid.uuid4()}"}
    first = guest.post("/v1/bookings", json=body, headers=key)
    again = guest.post("/v1/bookings", json=body, headers=key)
    assert first.status_code == again.status_code == 202
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    changed = guest.post("/v1/bookings", json={**body, **slot(3)}, headers=key)
    assert changed.status_code == 422
    assert changed.json()["error"]["code"] == "idempotency_key_reused"


def test_gateway_rejects_missing_tokens_and_wrong_roles_with_codes(system: System) -> None:
    with system.client("booking") as anonymous:
        response = anonymous.post("/v1/bookings", json={})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthenticated"
        assert anonymous.get("/openapi.json").json()["info"]["title"]
    with system.client("booking", sub="host-1", role="host") as host:
        response = host.post(
            "/v1/bookings",
            json={"listing_id": "lst_loft_01", **slot(), "payment_method": "pm_card_visa"},
        )
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"


def test_every_event_on_the_topics_matches_its_committed_schema_and_duplicates_do_nothing(
    system: System, guest: httpx.Client
) -> None:
    response = guest.post(
        "/v1/bookings",
        json={"listing_id": "lst_loft_01", **slot(1), "payment_method": "pm_card_visa"},
    )
    booking_id = response.json()["booking_id"]
    done = wait_for_booking(guest, booking_id, lambda b: b["payment_status"] == "captured")
    with system.client("finance") as finance:
        _wait_json(finance, f"/v1/ledger/bookings/{booking_id}", 3)

    records = asyncio.run(_read_saga_topics())
    seen = 0
    for record in records:
        value = json.loads(record.value)
        if value.get("type", "").startswith("test."):
            continue
        jsonschema.validate(value, SCHEMAS[(value["type"], value["version"])])
        assert record.key.decode() == value["key"]
        seen += 1
    assert seen >= 6
    ours = [r for r in records if booking_id in r.value.decode()]
    types = {json.loads(r.value)["type"] for r in ours}
    assert {
        "booking.checkout_requested",
        "payments.payment_captured",  # charged at checkout: no authorization first
        "booking.booking_confirmed",
        "finance.journal_posted",
    } <= types
    assert "payments.payment_authorized" not in types
    checkout = [r for r in ours if not json.loads(r.value)["type"].startswith("finance.payout_")]
    correlation = {json.loads(r.value)["correlation_id"] for r in checkout}
    assert len(correlation) == 1  # one saga, one correlation id
    # the host's payout is a saga of its own (it runs from a timer after the stay starts)
    payout = {json.loads(r.value)["correlation_id"] for r in ours} - correlation
    assert len(payout) == 1, payout

    captured = next(r for r in ours if json.loads(r.value)["type"] == "payments.payment_captured")
    before = _consumer_outcomes(system)
    asyncio.run(_send_again(captured))
    wait_until(
        lambda: _consumer_outcomes(system)["finance"].get("duplicate", 0),
        lambda seen: seen > before["finance"].get("duplicate", 0),
        timeout=30,
        what="finance consuming the duplicate",
    )
    with system.client("finance") as finance:
        assert len(finance.get(f"/v1/ledger/bookings/{booking_id}").json()) == 3
    assert guest.get(f"/v1/bookings/{booking_id}").json()["version"] == done["version"]


def _consumer_outcomes(system: System) -> dict[str, dict[str, int]]:
    return {
        name: httpx.get(f"{system.urls[name]}/healthz").json()["consumer"]
        for name in ("booking", "finance", "disputes")
    }


def _wait_json(client: httpx.Client, path: str, length: int | None, timeout: float = 30) -> Any:
    response: httpx.Response = wait_until(
        lambda: client.get(path),
        lambda r: r.status_code == 200 and (length is None or len(r.json()) == length),
        timeout=timeout,
        what=f"{path} answering 200" + (f" with {length} items" if length is not None else ""),
    )
    return response.json()


async def _read_saga_topics() -> list[Any]:
    from tests.conftest import KAFKA

    records = []
    for topic in ("booking.events", "payments.events", "finance.events"):
        records += await read_topic(KAFKA, topic)
    return records


async def _send_again(record: Any) -> None:
    from tests.conftest import KAFKA

    producer = AIOKafkaProducer(bootstrap_servers=KAFKA)
    await producer.start()
    try:
        await producer.send_and_wait(
            record.topic, record.value, key=record.key, headers=list(record.headers)
        )
    finally:
        await producer.stop()


def test_a_guest_whose_saved_stripe_customer_vanished_can_still_pay(
    system: System, guest: httpx.Client
) -> None:
    """Last in this module: it wipes the simulator, as if Stripe had lost the customer."""
    first = guest.post(
        "/v1/bookings",
        json={"listing_id": "lst_loft_01", **slot(1), "payment_method": "pm_card_visa"},
    ).json()
    wait_for_booking(guest, first["booking_id"], lambda b: b["payment_status"] == "captured")
    assert httpx.post(f"{system.urls['stripe']}/_sim/reset", timeout=5).status_code == 200

    again = guest.post(
        "/v1/bookings",
        json={"listing_id": "lst_loft_01", **slot(1), "payment_method": "pm_card_visa"},
    ).json()
    done = wait_for_booking(guest, again["booking_id"], lambda b: b["status"] != "pending_payment")
    assert done["status"] == "confirmed", done
