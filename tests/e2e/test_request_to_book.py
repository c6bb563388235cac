"""Request-to-Book through the gateway: the host accepts, declines, races, or lets it expire."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.e2e.conftest import System
from tests.e2e.test_instant_book import slot, wait_for_booking

pytestmark = pytest.mark.e2e
LISTING = "lst_studio_04"  # seeded with instant_book = false, host-3


@pytest.fixture(scope="module")
def guest(system: System) -> httpx.Client:
    client = system.client("booking", sub=f"guest-rtb-{uuid.uuid4().hex[:6]}")
    wait_for_booking_listing(client)
    return client


@pytest.fixture(scope="module")
def host(system: System) -> httpx.Client:
    return system.client("booking", sub="host-3", role="host")


def wait_for_booking_listing(client: httpx.Client) -> None:
    deadline = time.monotonic() + 30
    while not any(i["listing_id"] == LISTING for i in client.get("/v1/listings").json()):
        assert time.monotonic() < deadline, "the Request-to-Book listing never replicated"
        time.sleep(0.2)


def request(guest: httpx.Client) -> dict:
    response = guest.post(
        "/v1/bookings", json={"listing_id": LISTING, **slot(1), "payment_method": "pm_card_visa"}
    )
    assert response.status_code == 202, response.text
    booking = response.json()
    assert booking["mode"] == "request" and booking["respond_by"]
    waiting = wait_for_booking(
        guest, booking["booking_id"], lambda b: b["status"] != "pending_payment"
    )
    assert (waiting["status"], waiting["payment_status"]) == ("awaiting_host", "authorized")
    return waiting


def test_host_accepts_and_the_payment_is_captured(
    system: System, guest: httpx.Client, host: httpx.Client
) -> None:
    booking = request(guest)
    accepted = host.post(f"/v1/bookings/{booking['booking_id']}/accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "confirmed"
    done = wait_for_booking(
        guest, booking["booking_id"], lambda b: b["payment_status"] == "captured"
    )
    assert done["status"] == "confirmed"


def test_host_declines_and_the_authorization_is_voided(
    guest: httpx.Client, host: httpx.Client
) -> None:
    booking = request(guest)
    declined = host.post(
        f"/v1/bookings/{booking['booking_id']}/decline", json={"reason": "closed for maintenance"}
    )
    assert declined.status_code == 200, declined.text
    done = wait_for_booking(guest, booking["booking_id"], lambda b: b["payment_status"] == "voided")
    assert (done["status"], done["failure_reason"]) == ("declined", "host_declined")


def test_concurrent_accept_and_decline_have_one_winner(
    guest: httpx.Client, host: httpx.Client
) -> None:
    booking_id = request(guest)["booking_id"]
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(
                lambda verb: host.post(f"/v1/bookings/{booking_id}/{verb}").status_code,
                ["accept", "decline", "accept", "decline"],
            )
        )
    assert sorted(answers).count(200) == 1, answers
    assert all(code in (200, 409) for code in answers), answers


def test_guests_and_other_hosts_cannot_answer(system: System, guest: httpx.Client) -> None:
    booking_id = request(guest)["booking_id"]
    assert guest.post(f"/v1/bookings/{booking_id}/accept").status_code == 403
    with system.client("booking", sub="host-1", role="host") as other:
        response = other.post(f"/v1/bookings/{booking_id}/accept")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "booking_not_found"


def test_an_unanswered_request_expires_and_is_voided(guest: httpx.Client) -> None:
    booking = request(guest)  # the e2e system runs with a 6-second response window
    done = wait_for_booking(
        guest, booking["booking_id"], lambda b: b["payment_status"] == "voided", timeout=30
    )
    assert (done["status"], done["failure_reason"]) == ("expired", "request_expired")
