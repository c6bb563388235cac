"""An authorization that reaches its limit while the host is still deciding, through the gateway
and the simulator: payments' sweeper reports it, booking asks for a renewal, payments authorizes
again off-session and cancels the old hold; the host then accepts and the renewed authorization
is the one captured. A card that declines the renewal releases the request and voids the hold.

The only thing faked is the age of the authorization: the test moves the payment's
`created_at` back 6 days and 1 hour in payments' table (the sweeper's 7-day limit minus its
1-day margin), and pushes the request's response deadline out, so the host can answer after the
renewal however slow the machine is.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import pytest

from marketplace_contracts.events.catalog import ListingUpsertedV1
from payments.adapters.stripe_gateway import SIMULATOR_API_KEY
from tests.conftest import service_dsn
from tests.e2e.conftest import System
from tests.e2e.test_instant_book import wait_for_booking
from tests.e2e.test_request_to_book import request, soon
from tests.support.e2e import publish_listing
from tests.support.poll import wait_until

pytestmark = pytest.mark.e2e
STRIPE_AUTH = {"Authorization": f"Bearer {SIMULATOR_API_KEY}"}


@pytest.fixture(scope="module")
def listing(system: System) -> ListingUpsertedV1:
    suffix = uuid.uuid4().hex[:8]
    listing = ListingUpsertedV1(
        listing_id=f"lst_renew_{suffix}",
        host_id=f"host-renew-{suffix}",
        host_account_id=f"acct_renew_{suffix}",
        title="Renewal e2e",
        hourly_rate=4000,
        currency="usd",
        platform_fee_bps=1000,
        cancellation_policy="flexible",
        instant_book=False,
    )
    return publish_listing(system, listing)


@pytest.fixture(scope="module")
def guest(system: System) -> httpx.Client:
    return system.client("booking", sub=f"guest-renew-{uuid.uuid4().hex[:6]}")


@pytest.fixture(scope="module")
def host(system: System, listing: ListingUpsertedV1) -> httpx.Client:
    return system.client("booking", sub=listing.host_id, role="host")


async def _age_authorization(booking_id: str, payment_id: str) -> None:
    """The authorization is 6 days and 1 hour old; the host has ten more minutes."""
    payments = await asyncpg.connect(service_dsn("payments"))
    booking = await asyncpg.connect(service_dsn("booking"))
    try:
        await booking.execute(
            "UPDATE booking.scheduled_jobs SET due_at = now() + interval '10 minutes' "
            "WHERE subject_id = $1",
            booking_id,
        )
        await payments.execute(
            "UPDATE payments.payments SET created_at = now() - interval '6 days 1 hour' "
            "WHERE payment_id = $1",
            payment_id,
        )
    finally:
        await payments.close()
        await booking.close()


async def _payment(payment_id: str) -> asyncpg.Record:
    conn = await asyncpg.connect(service_dsn("payments"))
    try:
        row = await conn.fetchrow(
            "SELECT * FROM payments.payments WHERE payment_id = $1", payment_id
        )
        assert row is not None
        return row
    finally:
        await conn.close()


def _intent(system: System, intent_id: str) -> dict[str, Any]:
    response = httpx.get(
        f"{system.urls['stripe']}/v1/payment_intents/{intent_id}", headers=STRIPE_AUTH
    )
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


def _eventually(check: Callable[[], bool], timeout: float = 20) -> None:
    wait_until(check, timeout=timeout, what="the renewal")


def test_an_authorization_at_its_limit_is_renewed_and_the_new_one_captured(
    system: System, guest: httpx.Client, host: httpx.Client, listing: ListingUpsertedV1
) -> None:
    booking = request(guest, listing, soon())
    booking_id, payment_id = booking["booking_id"], booking["payment_id"]
    old = asyncio.run(_payment(payment_id))["payment_intent_id"]
    asyncio.run(_age_authorization(booking_id, payment_id))

    renewed = wait_for_booking(
        guest, booking_id, lambda b: b["authorization_renewed_at"] is not None, timeout=30
    )
    assert (renewed["status"], renewed["payment_status"]) == ("awaiting_host", "authorized")
    payment = asyncio.run(_payment(payment_id))
    new = payment["payment_intent_id"]
    assert new != old and payment["renewals"] == 1
    assert _intent(system, new)["status"] == "requires_capture"
    assert _intent(system, new)["amount"] == booking["amount"]
    _eventually(lambda: _intent(system, old)["status"] == "canceled")

    accepted = host.post(f"/v1/bookings/{booking_id}/accept")
    assert accepted.status_code == 200, accepted.text
    done = wait_for_booking(guest, booking_id, lambda b: b["payment_status"] == "captured")
    assert done["status"] == "confirmed"
    captured = _intent(system, new)
    assert (captured["status"], captured["amount_received"]) == ("succeeded", booking["amount"])
    assert _intent(system, old)["status"] == "canceled"  # never captured: one capture in all


def test_a_declined_renewal_releases_the_request_and_voids_the_hold(
    system: System, guest: httpx.Client, listing: ListingUpsertedV1
) -> None:
    booking = request(guest, listing, soon())
    booking_id, payment_id = booking["booking_id"], booking["payment_id"]
    payment = asyncio.run(_payment(payment_id))
    declined = httpx.post(
        f"{system.urls['stripe']}/_sim/customers/{payment['customer_id']}/fail_next_off_session",
        json={"code": "card_declined", "decline_code": "insufficient_funds"},
    )
    assert declined.status_code == 200, declined.text
    asyncio.run(_age_authorization(booking_id, payment_id))

    done = wait_for_booking(
        guest, booking_id, lambda b: b["payment_status"] == "voided", timeout=30
    )
    assert (done["status"], done["failure_reason"]) == ("expired", "reauthorization_failed")
    assert "insufficient_funds" in done["failure_detail"]
    assert done["authorization_renewed_at"] is None
    assert _intent(system, payment["payment_intent_id"])["status"] == "canceled"
