"""A saga survives a service crash in its middle: nothing is lost and nothing is paid twice."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.e2e.conftest import System
from tests.e2e.test_instant_book import slot, wait_for_booking
from tests.support.e2e import wait_until_listed
from tests.support.poll import stays, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def guest(system: System) -> httpx.Client:
    client = system.client("booking", sub=f"guest-crash-{uuid.uuid4().hex[:6]}")
    wait_until_listed(client, "lst_loft_01", what="the seeded listing")
    return client


def test_checkouts_placed_while_payments_is_down_complete_once_it_is_back(
    system: System, guest: httpx.Client
) -> None:
    system.kill("payments")
    try:
        ids = []
        for _ in range(3):
            response = guest.post(
                "/v1/bookings",
                json={"listing_id": "lst_loft_01", **slot(1), "payment_method": "pm_card_visa"},
            )
            assert response.status_code == 202, response.text
            ids.append(response.json()["booking_id"])
        stays(
            lambda: [guest.get(f"/v1/bookings/{i}").json()["status"] for i in ids],
            lambda statuses: set(statuses) == {"pending_payment"},
            1.5,
            what="the bookings' statuses",
        )
    finally:
        system.start("payments")
    for booking_id in ids:
        done = wait_for_booking(guest, booking_id, lambda b: b["payment_status"] == "captured")
        assert done["status"] == "confirmed"
    with system.client("finance") as finance:
        balance = finance.get("/v1/ledger/trial-balance").json()
        assert balance["balanced"]
        for booking_id in ids:  # one journal each, however often events were redelivered
            _three_journals(finance, booking_id)


def test_booking_crashing_mid_saga_resumes_from_its_outbox_and_inbox(
    system: System, guest: httpx.Client
) -> None:
    response = guest.post(
        "/v1/bookings",
        json={"listing_id": "lst_loft_01", **slot(1), "payment_method": "pm_card_visa"},
    )
    booking_id = response.json()["booking_id"]
    system.kill("booking")  # wherever the saga is now, the rest is in Kafka and the database
    system.start("booking")
    done = wait_for_booking(guest, booking_id, lambda b: b["payment_status"] == "captured")
    assert done["status"] == "confirmed"
    with system.client("finance") as finance:
        _three_journals(finance, booking_id)


def _three_journals(finance: httpx.Client, booking_id: str) -> None:
    wait_until(
        lambda: finance.get(f"/v1/ledger/bookings/{booking_id}").json(),
        lambda journals: len(journals) == 3,
        timeout=30,
        what=f"booking {booking_id}'s three journals",
    )
