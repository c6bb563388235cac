"""3-D Secure at checkout, through the gateway and the simulator: the card's bank wants the
guest to authenticate, the booking shows the step to take (`next_action` with the intent's
client secret), the guest completes it (the simulator's control stands in for Stripe.js and
the bank's page), and the booking is confirmed and captured; a failed step fails the booking
and nothing is held."""

from __future__ import annotations

import uuid

import httpx
import pytest

from marketplace_contracts.events.catalog import ListingUpsertedV1
from payments.adapters.stripe_gateway import SIMULATOR_API_KEY
from tests.e2e.conftest import System
from tests.e2e.test_instant_book import wait_for_booking
from tests.e2e.test_request_to_book import soon
from tests.support.e2e import publish_listing

pytestmark = pytest.mark.e2e
STRIPE_AUTH = {"Authorization": f"Bearer {SIMULATOR_API_KEY}"}
THREE_D_SECURE_CARD = "pm_card_authenticationRequired"


@pytest.fixture(scope="module")
def listing(system: System) -> ListingUpsertedV1:
    suffix = uuid.uuid4().hex[:8]
    listing = ListingUpsertedV1(
        listing_id=f"lst_3ds_{suffix}",
        host_id=f"host-3ds-{suffix}",
        host_account_id=f"acct_3ds_{suffix}",
        title="3DS e2e",
        hourly_rate=6000,
        currency="usd",
        platform_fee_bps=1000,
        cancellation_policy="flexible",
        instant_book=True,
    )
    return publish_listing(system, listing)


def _checkout(system: System, guest: httpx.Client, listing: ListingUpsertedV1) -> dict:
    response = guest.post(
        "/v1/bookings",
        json={"listing_id": listing.listing_id, **soon(), "payment_method": THREE_D_SECURE_CARD},
    )
    assert response.status_code == 202, response.text
    waiting = wait_for_booking(
        guest, response.json()["booking_id"], lambda b: b["next_action"] is not None
    )
    assert (waiting["status"], waiting["payment_status"]) == ("pending_payment", "none")
    action = waiting["next_action"]
    assert action["type"] == "use_stripe_sdk"
    intent = httpx.get(
        f"{system.urls['stripe']}/v1/payment_intents/{action['payment_intent_id']}",
        headers=STRIPE_AUTH,
    ).json()
    assert intent["status"] == "requires_action"
    assert action["client_secret"] == intent["client_secret"]
    return waiting


def _authenticate(system: System, intent_id: str, outcome: str) -> None:
    response = httpx.post(
        f"{system.urls['stripe']}/_sim/intents/{intent_id}/authenticate",
        json={"outcome": outcome},
    )
    assert response.status_code == 200, response.text


def test_the_guest_authenticates_and_the_booking_is_confirmed(
    system: System, listing: ListingUpsertedV1
) -> None:
    guest = system.client("booking", sub=f"guest-3ds-{uuid.uuid4().hex[:6]}")
    booking = _checkout(system, guest, listing)
    # The host sees the booking but not the guest's client secret.
    host = system.client("booking", sub=listing.host_id, role="host")
    assert host.get(f"/v1/bookings/{booking['booking_id']}").json()["next_action"] is None

    intent_id = booking["next_action"]["payment_intent_id"]
    _authenticate(system, intent_id, "complete")
    done = wait_for_booking(
        guest, booking["booking_id"], lambda b: b["payment_status"] == "captured", timeout=30
    )
    assert done["status"] == "confirmed" and done["next_action"] is None
    intent = httpx.get(
        f"{system.urls['stripe']}/v1/payment_intents/{intent_id}", headers=STRIPE_AUTH
    ).json()
    assert (intent["status"], intent["amount_received"]) == ("succeeded", done["amount"])


def test_a_failed_authentication_fails_the_booking(
    system: System, listing: ListingUpsertedV1
) -> None:
    guest = system.client("booking", sub=f"guest-3ds-{uuid.uuid4().hex[:6]}")
    booking = _checkout(system, guest, listing)
    intent_id = booking["next_action"]["payment_intent_id"]
    _authenticate(system, intent_id, "fail")
    done = wait_for_booking(
        guest, booking["booking_id"], lambda b: b["status"] == "failed", timeout=30
    )
    assert done["next_action"] is None
    assert done["failure_reason"] == "payment_intent_authentication_failure", done
    assert done["failure_detail"] == "The card's bank did not confirm this payment."  # the payer's
    intent = httpx.get(
        f"{system.urls['stripe']}/v1/payment_intents/{intent_id}", headers=STRIPE_AUTH
    ).json()
    assert intent["status"] == "requires_payment_method"
    assert intent["amount_capturable"] == 0 and intent["amount_received"] == 0
