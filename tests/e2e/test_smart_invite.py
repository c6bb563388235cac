"""Smart Invite through the gateway: priced offer, accept and pay, decline, withdraw, expire."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.e2e.conftest import System
from tests.e2e.test_instant_book import slot, wait_for_booking
from tests.support.e2e import wait_until_listed
from tests.support.poll import wait_until

pytestmark = pytest.mark.e2e
LISTING, HOST = "lst_kitchen_03", "host-1"  # min 2 hours, 7550/h, fee 10 %


@pytest.fixture(scope="module")
def people(system: System) -> tuple[httpx.Client, httpx.Client, str]:
    guest_id = f"guest-inv-{uuid.uuid4().hex[:6]}"
    guest = system.client("booking", sub=guest_id)
    wait_until_listed(guest, LISTING, what="the invite listing")
    return guest, system.client("booking", sub=HOST, role="host"), guest_id


def invite(
    host: httpx.Client,
    guest_id: str,
    *,
    amount: int | None = 12_345,
    expires_in: timedelta = timedelta(days=2),
    extras: list[dict] | None = None,
) -> dict:
    body = {
        "guest_id": guest_id,
        "listing_id": LISTING,
        **slot(2),
        "expires_at": (datetime.now(UTC) + expires_in).isoformat(),
        "note": "e2e",
    }
    if amount is not None:
        body["amount"] = amount
    if extras is not None:
        body["extras"] = extras
    response = host.post("/v1/invites", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "open"
    return response.json()


def test_guest_accepts_an_invite_and_pays_the_invited_price(
    system: System, people: tuple[httpx.Client, httpx.Client, str]
) -> None:
    guest, host, guest_id = people
    sent = invite(host, guest_id, amount=12_345)
    accepted = guest.post(
        f"/v1/invites/{sent['invite_id']}/accept", json={"payment_method": "pm_card_visa"}
    )
    assert accepted.status_code == 202, accepted.text
    booking = accepted.json()
    assert (booking["amount"], booking["platform_fee"], booking["mode"]) == (
        12_345,
        1_235,
        "instant",
    )
    done = wait_for_booking(
        guest, booking["booking_id"], lambda b: b["payment_status"] == "captured"
    )
    assert done["status"] == "confirmed"
    closed = guest.get(f"/v1/invites/{sent['invite_id']}").json()
    assert (closed["status"], closed["booking_id"]) == ("accepted", booking["booking_id"])
    again = guest.post(
        f"/v1/invites/{sent['invite_id']}/accept", json={"payment_method": "pm_card_visa"}
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "invite_closed"


def test_an_invite_with_extras_charges_the_price_plus_every_extra(
    system: System, people: tuple[httpx.Client, httpx.Client, str]
) -> None:
    guest, host, guest_id = people
    extras = [
        {"name": "Lighting kit", "unit_amount": 2_500, "quantity": 1},
        {"name": "Chairs", "unit_amount": 300, "quantity": 12},
    ]
    sent = invite(host, guest_id, amount=10_000, extras=extras)
    assert (sent["price"], sent["amount"]) == (10_000, 10_000 + 2_500 + 3_600)
    assert [e["amount"] for e in sent["extras"]] == [2_500, 3_600]
    assert guest.get(f"/v1/invites/{sent['invite_id']}").json()["extras"] == sent["extras"]
    accepted = guest.post(
        f"/v1/invites/{sent['invite_id']}/accept", json={"payment_method": "pm_card_visa"}
    )
    assert accepted.status_code == 202, accepted.text
    done = wait_for_booking(
        guest, accepted.json()["booking_id"], lambda b: b["payment_status"] == "captured"
    )
    assert (done["status"], done["amount"]) == ("confirmed", 16_100)
    refused = host.post(
        "/v1/invites",
        json={
            "guest_id": guest_id,
            "listing_id": LISTING,
            **slot(2),
            "expires_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
            "extras": [{"name": "Free lunch", "unit_amount": -5}],
        },
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "validation_failed"


def test_a_withdrawn_invite_cannot_be_accepted(
    people: tuple[httpx.Client, httpx.Client, str],
) -> None:
    guest, host, guest_id = people
    sent = invite(host, guest_id)
    assert host.post(f"/v1/invites/{sent['invite_id']}/withdraw").json()["status"] == "withdrawn"
    response = guest.post(
        f"/v1/invites/{sent['invite_id']}/accept", json={"payment_method": "pm_card_visa"}
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invite_withdrawn"


def test_an_invite_expires_on_its_timer_and_then_refuses_acceptance(
    people: tuple[httpx.Client, httpx.Client, str],
) -> None:
    guest, host, guest_id = people
    sent = invite(host, guest_id, expires_in=timedelta(seconds=2))
    wait_until(
        lambda: guest.get(f"/v1/invites/{sent['invite_id']}").json()["status"],
        lambda status: status == "expired",
        timeout=20,
        what="the invite's expiry",
    )
    response = guest.post(
        f"/v1/invites/{sent['invite_id']}/accept", json={"payment_method": "pm_card_visa"}
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invite_expired"


def test_guest_declines_and_strangers_see_nothing(
    system: System, people: tuple[httpx.Client, httpx.Client, str]
) -> None:
    guest, host, guest_id = people
    sent = invite(host, guest_id, amount=None)  # the listed price for 2 hours
    assert sent["amount"] == 2 * 7550
    with system.client("booking", sub="guest-stranger") as stranger:
        hidden = stranger.get(f"/v1/invites/{sent['invite_id']}")
        assert hidden.status_code == 404
        assert stranger.post(f"/v1/invites/{sent['invite_id']}/decline").status_code == 404
    declined = guest.post(f"/v1/invites/{sent['invite_id']}/decline")
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
