"""Security deposits and damage claims through the gateway, every service a process: a claim
accepted by the guest, one contested and decided by an admin, and a booking without a claim whose
deposit is released; the simulator's PaymentIntents match what was charged, and the ledger stays
balanced. The claim window is 25 s here (`BOOKING_CLAIM_WINDOW_SECONDS`); the test ends it early by
making its release timers due."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from marketplace_contracts.events.catalog import ListingUpsertedV1
from tests.conftest import service_dsn
from tests.e2e.conftest import System
from tests.e2e.test_instant_book import wait_for_booking
from tests.support.e2e import publish_listing, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
SUFFIX = uuid.uuid4().hex[:8]
LISTING, HOST = f"lst_deposit_{SUFFIX}", f"host-deposit-{SUFFIX}"
DEPOSIT = 25_000
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


@pytest.fixture(scope="module")
def listing(system: System) -> str:
    listing = ListingUpsertedV1(
        listing_id=LISTING,
        host_id=HOST,
        host_account_id=f"acct_dep_{SUFFIX}",
        title="Deposit e2e",
        hourly_rate=4_000,
        currency="usd",
        platform_fee_bps=1000,
        cancellation_policy="flexible",
        deposit_amount=DEPOSIT,
    )
    return publish_listing(system, listing, "the deposit listing").listing_id


async def _sql(query: str, *args: Any) -> Any:
    conn = await asyncpg.connect(service_dsn("booking"))
    try:
        return await conn.execute(query, *args)
    finally:
        await conn.close()


def _ended_booking(system: System, guest: httpx.Client, day: int) -> dict[str, Any]:
    """Booked and captured through the gateway, then made to have ended a second ago (the
    durable completion timer fires at once): the claim window is open."""
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=day)
    response = guest.post(
        "/v1/bookings",
        json={
            "listing_id": LISTING,
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(),
            "payment_method": "pm_card_visa",
        },
    )
    assert response.status_code == 202, response.text
    booking = wait_for_booking(
        guest, response.json()["booking_id"], lambda b: b["payment_status"] == "captured", 90
    )
    assert (booking["deposit_amount"], booking["deposit_status"]) == (DEPOSIT, "held")
    booking_id = uuid.UUID(booking["booking_id"])
    asyncio.run(
        _sql(
            "UPDATE booking.bookings SET starts_at = now() - interval '1001 milliseconds', "
            "ends_at = now() - interval '1 second' WHERE booking_id = $1",
            booking_id,
        )
    )
    asyncio.run(
        _sql(
            "UPDATE booking.scheduled_jobs SET due_at = now() WHERE kind = 'booking_completion' "
            "AND subject_id = $1",
            str(booking_id),
        )
    )
    return wait_for_booking(guest, str(booking_id), lambda b: b["status"] == "completed")


def _file(host: httpx.Client, booking_id: str, amount: int) -> dict[str, Any]:
    response = host.post(
        f"/v1/bookings/{booking_id}/claims",
        data={"amount": str(amount), "description": "the sofa is torn"},
        files=[("evidence", ("sofa.png", PNG, "image/png"))],
        headers={"Idempotency-Key": f"claim-{booking_id}"},
    )
    assert response.status_code == 201, response.text
    claim: dict[str, Any] = response.json()
    assert (claim["status"], claim["amount"], len(claim["evidence"])) == ("open", amount, 1)
    return claim


def _claim_intents(system: System, booking_id: str) -> list[dict[str, Any]]:
    """The simulator's PaymentIntents of a booking's damage claims."""
    with httpx.Client(
        base_url=system.urls["stripe"], headers={"Authorization": "Bearer sk_test_e2e"}
    ) as sim:
        events = sim.get(
            "/v1/events", params={"type": "payment_intent.created", "limit": "100"}
        ).json()["data"]
        ids = [
            e["data"]["object"]["id"]
            for e in events
            if e["data"]["object"]["metadata"].get("booking_id") == booking_id
            and e["data"]["object"]["metadata"].get("reason") == "deposit_claim"
        ]
        return [sim.get(f"/v1/payment_intents/{i}").json() for i in ids]


def test_claims_accepted_and_decided_are_charged_and_a_deposit_without_one_is_released(
    system: System, listing: str
) -> None:
    guest = system.client("booking", sub=f"guest-deposit-{SUFFIX}")
    host = system.client("booking", sub=HOST, role="host")
    admin = system.client("booking", sub="admin-1", role="admin")

    # 1. Accepted by the guest: charged off-session, exactly the amount.
    accepted = _ended_booking(system, guest, 3)
    claim = _file(host, accepted["booking_id"], 12_000)
    replay = host.post(
        f"/v1/bookings/{accepted['booking_id']}/claims",
        data={"amount": "12000", "description": "the sofa is torn"},
        files=[("evidence", ("sofa.png", PNG, "image/png"))],
        headers={"Idempotency-Key": f"claim-{accepted['booking_id']}"},
    )
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json()["claim_id"] == claim["claim_id"]
    evidence = guest.get(claim["evidence"][0]["url"])
    assert (evidence.status_code, evidence.content) == (200, PNG)
    assert guest.post(f"/v1/claims/{claim['claim_id']}/accept").status_code == 200
    charged = wait_until(
        lambda: guest.get(f"/v1/claims/{claim['claim_id']}").json(),
        lambda c: c["status"] == "charged",
    )
    assert charged["decided_amount"] == 12_000

    # 2. Contested, then decided lower by an admin: charged that.
    contested = _ended_booking(system, guest, 4)
    second = _file(host, contested["booking_id"], 20_000)
    response = guest.post(f"/v1/claims/{second['claim_id']}/contest", json={"reason": "worn"})
    assert response.json()["status"] == "contested"
    refused = host.post(f"/v1/claims/{second['claim_id']}/decide", json={"amount": 1})
    assert refused.status_code == 403
    decided = admin.post(
        f"/v1/claims/{second['claim_id']}/decide", json={"amount": 8_000, "note": "wear"}
    )
    assert decided.status_code == 200, decided.text
    wait_until(
        lambda: guest.get(f"/v1/claims/{second['claim_id']}").json(),
        lambda c: c["status"] == "charged",
    )

    # 3. No claim: released at the window's end.
    quiet = _ended_booking(system, guest, 5)
    over = host.post(
        f"/v1/bookings/{quiet['booking_id']}/claims",
        json={"amount": DEPOSIT + 1, "description": "everything"},
    )
    assert over.json()["error"]["code"] == "claim_exceeds_deposit"
    for booking in (accepted, contested, quiet):  # the windows end now: their timers are due
        asyncio.run(
            _sql(
                "UPDATE booking.scheduled_jobs SET due_at = now() WHERE kind = 'deposit_release' "
                "AND subject_id = $1 AND status = 'pending'",
                booking["booking_id"],
            )
        )
    released = [
        wait_for_booking(guest, b["booking_id"], lambda v: v["deposit_status"] == "released", 60)
        for b in (accepted, contested, quiet)
    ]
    assert [b["deposit_charged"] for b in released] == [12_000, 8_000, 0]
    late = host.post(
        f"/v1/bookings/{quiet['booking_id']}/claims",
        json={"amount": 100, "description": "late"},
    )
    assert late.status_code == 409

    # The simulator's records: one succeeded off-session charge per claim, of its amount.
    for booking, amount in ((accepted, 12_000), (contested, 8_000), (quiet, None)):
        intents = _claim_intents(system, booking["booking_id"])
        assert [(i["amount"], i["status"]) for i in intents] == (
            [(amount, "succeeded")] if amount else []
        )
    # Finance: each claim's charge booked, the trial balance still zero.
    with system.client("finance") as finance:
        trial = finance.get("/v1/ledger/trial-balance").json()
    assert trial["balanced"], trial
