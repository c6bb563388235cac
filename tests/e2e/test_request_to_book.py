"""Request-to-Book through the gateway: the host accepts, declines, races, or lets it expire;
far-ahead stays save the card and charge it off-session, with a visible payment_due on failure."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from marketplace_contracts.events.catalog import ListingUpsertedV1
from tests.e2e.conftest import System
from tests.e2e.test_instant_book import wait_for_booking
from tests.support.e2e import publish as _publish  # noqa: F401  (test_booking_groups uses it)
from tests.support.e2e import publish_listing

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def listing(system: System) -> ListingUpsertedV1:
    """A Request-to-Book listing of this test run only, so near-term slots never collide."""
    suffix = uuid.uuid4().hex[:8]
    listing = ListingUpsertedV1(
        listing_id=f"lst_rtb_{suffix}",
        host_id=f"host-rtb-{suffix}",
        host_account_id=f"acct_rtb_{suffix}",
        title="RTB e2e",
        hourly_rate=5000,
        currency="usd",
        platform_fee_bps=1000,
        cancellation_policy="flexible",
        instant_book=False,
    )
    return publish_listing(system, listing)


_next_hour = iter(range(2, 24 * 5))


def soon() -> dict[str, str]:
    """Within the authorization horizon (6 days), on a fresh hour each call."""
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = base + timedelta(hours=next(_next_hour))
    return {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat()}


def far(days: int) -> dict[str, str]:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=days)
    return {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat()}


@pytest.fixture(scope="module")
def guest(system: System) -> httpx.Client:
    return system.client("booking", sub=f"guest-rtb-{uuid.uuid4().hex[:6]}")


@pytest.fixture(scope="module")
def host(system: System, listing: ListingUpsertedV1) -> httpx.Client:
    return system.client("booking", sub=listing.host_id, role="host")


def request(
    guest: httpx.Client,
    listing: ListingUpsertedV1,
    times: dict[str, str],
    payment_method: str = "pm_card_visa",
    secured: str = "authorized",
) -> dict:
    response = guest.post(
        "/v1/bookings",
        json={"listing_id": listing.listing_id, **times, "payment_method": payment_method},
    )
    assert response.status_code == 202, response.text
    booking = response.json()
    assert booking["mode"] == "request" and booking["respond_by"]
    waiting = wait_for_booking(
        guest, booking["booking_id"], lambda b: b["status"] != "pending_payment"
    )
    assert (waiting["status"], waiting["payment_status"]) == ("awaiting_host", secured), waiting
    return waiting


def test_host_accepts_and_the_payment_is_captured(
    guest: httpx.Client, host: httpx.Client, listing: ListingUpsertedV1
) -> None:
    booking = request(guest, listing, soon())
    accepted = host.post(f"/v1/bookings/{booking['booking_id']}/accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "confirmed"
    done = wait_for_booking(
        guest, booking["booking_id"], lambda b: b["payment_status"] == "captured"
    )
    assert done["status"] == "confirmed"


def test_host_declines_and_the_authorization_is_voided(
    guest: httpx.Client, host: httpx.Client, listing: ListingUpsertedV1
) -> None:
    booking = request(guest, listing, soon())
    declined = host.post(
        f"/v1/bookings/{booking['booking_id']}/decline", json={"reason": "closed for maintenance"}
    )
    assert declined.status_code == 200, declined.text
    done = wait_for_booking(guest, booking["booking_id"], lambda b: b["payment_status"] == "voided")
    assert (done["status"], done["failure_reason"]) == ("declined", "host_declined")


def test_concurrent_accept_and_decline_have_one_winner(
    guest: httpx.Client, host: httpx.Client, listing: ListingUpsertedV1
) -> None:
    booking_id = request(guest, listing, soon())["booking_id"]
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(
                lambda verb: host.post(f"/v1/bookings/{booking_id}/{verb}").status_code,
                ["accept", "decline", "accept", "decline"],
            )
        )
    assert answers.count(200) == 1, answers
    assert all(code in (200, 409) for code in answers), answers


def test_guests_and_other_hosts_cannot_answer(
    system: System, guest: httpx.Client, listing: ListingUpsertedV1
) -> None:
    booking_id = request(guest, listing, soon())["booking_id"]
    assert guest.post(f"/v1/bookings/{booking_id}/accept").status_code == 403
    with system.client("booking", sub="host-1", role="host") as other:
        response = other.post(f"/v1/bookings/{booking_id}/accept")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "booking_not_found"


def test_an_unanswered_request_expires_and_is_voided(
    guest: httpx.Client, listing: ListingUpsertedV1
) -> None:
    booking = request(guest, listing, soon())  # the e2e system has a 6-second response window
    done = wait_for_booking(
        guest, booking["booking_id"], lambda b: b["payment_status"] == "voided", timeout=30
    )
    assert (done["status"], done["failure_reason"]) == ("expired", "request_expired")


def test_a_far_ahead_request_saves_the_card_and_charges_it_on_acceptance(
    guest: httpx.Client, host: httpx.Client, listing: ListingUpsertedV1
) -> None:
    booking = request(guest, listing, far(10), secured="saved")
    assert host.post(f"/v1/bookings/{booking['booking_id']}/accept").status_code == 200
    done = wait_for_booking(
        guest, booking["booking_id"], lambda b: b["payment_status"] == "captured"
    )
    assert done["status"] == "confirmed"


def test_a_failed_off_session_charge_asks_the_guest_who_then_pays(
    guest: httpx.Client, host: httpx.Client, listing: ListingUpsertedV1
) -> None:
    # Stripe's test card that saves fine but whose later charges decline.
    booking = request(guest, listing, far(11), "pm_card_chargeCustomerFail", secured="saved")
    assert host.post(f"/v1/bookings/{booking['booking_id']}/accept").status_code == 200
    due = wait_for_booking(guest, booking["booking_id"], lambda b: b["status"] == "payment_due")
    assert due["pay_by"] and due["failure_reason"] == "card_declined"

    paid = guest.post(
        f"/v1/bookings/{booking['booking_id']}/pay", json={"payment_method": "pm_card_visa"}
    )
    assert paid.status_code == 202, paid.text
    done = wait_for_booking(
        guest, booking["booking_id"], lambda b: b["payment_status"] == "captured"
    )
    assert done["status"] == "confirmed"
    again = guest.post(
        f"/v1/bookings/{booking['booking_id']}/pay", json={"payment_method": "pm_card_visa"}
    )
    assert again.status_code == 409  # nothing is due any more


def test_an_unpaid_booking_is_released_when_the_payment_window_closes(
    guest: httpx.Client, host: httpx.Client, listing: ListingUpsertedV1
) -> None:
    booking = request(guest, listing, far(12), "pm_card_chargeCustomerFail", secured="saved")
    assert host.post(f"/v1/bookings/{booking['booking_id']}/accept").status_code == 200
    wait_for_booking(guest, booking["booking_id"], lambda b: b["status"] == "payment_due")
    done = wait_for_booking(
        guest,
        booking["booking_id"],  # the e2e window is 8 seconds
        lambda b: b["status"] != "payment_due",
        timeout=30,
    )
    assert (done["status"], done["failure_reason"]) == ("released", "payment_window_closed")
