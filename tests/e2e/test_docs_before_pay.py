"""Docs-before-pay through the gateway and the built-in signing page."""

from __future__ import annotations

import asyncio
import re
import uuid

import asyncpg
import httpx
import pytest

from tests.conftest import service_dsn
from tests.e2e.conftest import System
from tests.e2e.test_instant_book import slot, wait_for_booking
from tests.support.e2e import wait_until_listed

pytestmark = pytest.mark.e2e
LISTING = "lst_boat_05"  # seeded with a rental agreement and a safety waiver


@pytest.fixture(scope="module")
def guest(system: System) -> httpx.Client:
    client = system.client("booking", sub=f"guest-docs-{uuid.uuid4().hex[:6]}")
    wait_until_listed(client, LISTING, what="the documents listing")
    return client


def start(guest: httpx.Client, times: dict[str, str]) -> dict:
    response = guest.post(
        "/v1/bookings", json={"listing_id": LISTING, **times, "payment_method": "pm_card_visa"}
    )
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "awaiting_signatures"
    return wait_for_booking(guest, response.json()["booking_id"], lambda b: b["signing_url"])


def answer(system: System, signing_url: str, action: str) -> None:
    page = httpx.get(signing_url, timeout=10)
    assert page.status_code == 200 and "Rental agreement" in page.text
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    digest = re.search(r'name="digest" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    posted = httpx.post(
        signing_url.split("?")[0],
        data={"token": token, "digest": digest, "action": action},
        timeout=10,
    )
    assert posted.status_code == 200, posted.text


async def _payment_requests(booking_id: str) -> int:
    conn = await asyncpg.connect(service_dsn("booking"))
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM booking.outbox WHERE key = $1 "
            "AND event_type = 'booking.checkout_requested'",
            booking_id,
        )
    finally:
        await conn.close()


def test_the_guest_signs_then_pays_and_the_booking_is_confirmed(
    system: System, guest: httpx.Client
) -> None:
    booking = start(guest, slot(2))
    assert booking["status"] == "awaiting_signatures" and booking["payment_status"] == "none"
    assert asyncio.run(_payment_requests(booking["booking_id"])) == 0
    answer(system, booking["signing_url"], "sign")
    done = wait_for_booking(
        guest, booking["booking_id"], lambda b: b["payment_status"] == "captured"
    )
    assert done["status"] == "confirmed"
    assert asyncio.run(_payment_requests(booking["booking_id"])) == 1


def test_declining_the_documents_cancels_the_checkout_and_frees_the_slot(
    system: System, guest: httpx.Client
) -> None:
    times = slot(2)
    booking = start(guest, times)
    answer(system, booking["signing_url"], "decline")
    done = wait_for_booking(guest, booking["booking_id"], lambda b: b["status"] == "failed")
    assert done["failure_reason"] == "documents_declined"
    assert done["payment_status"] == "none"
    assert asyncio.run(_payment_requests(booking["booking_id"])) == 0
    again = guest.post(
        "/v1/bookings", json={"listing_id": LISTING, **times, "payment_method": "pm_card_visa"}
    )
    assert again.status_code == 202, "the declined checkout's slot must be free again"
