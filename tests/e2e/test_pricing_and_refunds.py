"""Quotes, cancellations, the refund saga, amendments and overtime through the gateway, with
the Stripe simulator's refunds checked against the refund kernel and a balanced ledger."""

from __future__ import annotations

import asyncio
import json
import random
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
from tests.support.e2e import publish, wait_until, wait_until_listed

pytestmark = pytest.mark.e2e
_used: set[tuple[int, int]] = set()
SUFFIX = uuid.uuid4().hex[:8]
# A copy of the seeded lst_dance_06 (extras, cleaning fee, 12 % service fee, NYC tax, moderate
# policy) owned by this run only, so its near-term slots never collide with earlier runs.
DANCE, DANCE_HOST = f"lst_dance_{SUFFIX}", f"host-dance-{SUFFIX}"


@pytest.fixture(scope="module")
def dance(system: System) -> str:
    from marketplace_contracts.events.catalog import ListingUpsertedV1

    seeds = json.loads(
        (
            Path(__file__).resolve().parents[2] / "services/booking/booking/seed_listings.json"
        ).read_text()
    )
    seed = next(s for s in seeds if s["listing_id"] == "lst_dance_06")
    asyncio.run(
        publish(
            ListingUpsertedV1.model_validate(
                {
                    **seed,
                    "listing_id": DANCE,
                    "host_id": DANCE_HOST,
                    "host_account_id": f"acct_{SUFFIX}",
                }
            )
        )
    )
    return DANCE


@pytest.fixture(scope="module")
def guest(system: System, dance: str) -> httpx.Client:
    client = system.client("booking", sub=f"guest-money-{SUFFIX}")
    wait_until_listed(client, dance, what="the priced listing")
    return client


@pytest.fixture(scope="module")
def host(system: System) -> httpx.Client:
    return system.client("booking", sub=DANCE_HOST, role="host")


def days_ahead(days: int, hours: int = 2) -> dict[str, str]:
    """A slot `days` ahead (an authorization, not a saved card, when under 6), unique here."""
    while True:
        index = random.randrange(0, 11)
        if (days, index) not in _used:
            _used.add((days, index))
            break
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(
        days=days, hours=2 * index
    )
    return {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=hours)).isoformat()}


def book(guest: httpx.Client, times: dict[str, str], **extra: Any) -> dict[str, Any]:
    response = guest.post(
        "/v1/bookings",
        json={"listing_id": DANCE, **times, "payment_method": "pm_card_visa", **extra},
    )
    assert response.status_code == 202, response.text
    return wait_for_booking(
        guest, response.json()["booking_id"], lambda b: b["payment_status"] == "captured"
    )


def stripe_refunds(system: System, payment_id: str) -> list[dict[str, Any]]:
    intent = asyncio.run(_intent_of(payment_id))
    response = httpx.get(
        f"{system.urls['stripe']}/v1/refunds",
        params={"payment_intent": intent},
        headers={"Authorization": "Bearer sk_test_e2e"},
    )
    assert response.status_code == 200, response.text
    return [r for r in response.json()["data"] if r["status"] == "succeeded"]


async def _intent_of(payment_id: str) -> str:
    conn = await asyncpg.connect(service_dsn("payments"))
    try:
        intent: str = await conn.fetchval(
            "SELECT payment_intent_id FROM payments.payments WHERE payment_id = $1", payment_id
        )
        return intent
    finally:
        await conn.close()


def ledger_balanced(system: System) -> bool:
    with system.client("finance") as finance:
        return bool(finance.get("/v1/ledger/trial-balance").json()["balanced"])


def test_a_quote_matches_the_hand_computed_lines_and_is_what_checkout_charges(
    system: System, guest: httpx.Client
) -> None:
    times = days_ahead(30)
    body = {
        "listing_id": DANCE,
        **times,
        "guests": 10,
        "extras": {"lights": 1, "assistant": 1, "chairs": 1},
    }
    response = guest.post("/v1/quotes", json=body)
    assert response.status_code == 201, response.text
    quote = response.json()
    # 2 h at 60.00 = 120.00; lights 25.00; assistant 2 h x 30.00 = 60.00 (labour, untaxed);
    # chairs 10 x 1.50 = 15.00; cleaning 35.00; service fee 12 % of 255.00 = 30.60;
    # NYC 8.75 %: space 10.50, extras 2.1875 -> 2.19 + 1.3125 -> 1.31, cleaning 3.0625 -> 3.06.
    assert {line["code"]: line["amount"] for line in quote["lines"]} == {
        "base": 12_000,
        "extra:lights": 2_500,
        "extra:assistant": 6_000,
        "extra:chairs": 1_500,
        "cleaning": 3_500,
        "guest_service_fee": 3_060,
        "tax:space_rental": 1_050,
        "tax:extras": 350,
        "tax:cleaning": 306,
    }
    assert quote["total"] == 30_266 and quote["host_fee"] == 2_550
    booking = book(guest, times, guests=10, extras=body["extras"], quote_id=quote["quote_id"])
    assert (booking["amount"], booking["tax"]) == (30_266, 1_706)
    assert booking["policy"]["name"] == "moderate"


def test_a_cancellation_refunds_exactly_the_preview_once_and_the_ledger_balances(
    system: System, guest: httpx.Client
) -> None:
    booking = book(guest, days_ahead(3), guests=2, extras={"chairs": 1})
    booking_id = booking["booking_id"]
    preview = guest.post(f"/v1/bookings/{booking_id}/cancel/preview").json()
    # 3 days ahead, booked just now: the grace period (24 h after booking, start >= 48 h away)
    assert preview["basis"] == "grace" and preview["amount"] == booking["amount"]
    # The first two Stripe refund attempts fail; the refund still happens, once.
    injected = httpx.post(
        f"{system.urls['stripe']}/_sim/fail_next",
        json={"operation": "refund", "count": 2, "status": 500},
    )
    assert injected.status_code == 200, injected.text
    cancelled = guest.post(f"/v1/bookings/{booking_id}/cancel", json={"reason": "plans changed"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    done = wait_for_booking(guest, booking_id, lambda b: b["refund_status"] == "refunded")
    assert done["refunded_amount"] == preview["amount"]
    refunds = stripe_refunds(system, done["payment_id"])
    assert [r["amount"] for r in refunds] == [preview["amount"]]  # the kernel's amount, once
    assert ledger_balanced(system)


def test_cancelling_one_leg_of_a_group_refunds_that_leg_only(
    system: System, guest: httpx.Client
) -> None:
    # Two legs of this run's listing, at two times (a group may hold one listing twice).
    legs = [{"listing_id": DANCE, **days_ahead(4)}, {"listing_id": DANCE, **days_ahead(4)}]
    response = guest.post(
        "/v1/checkout-groups", json={"legs": legs, "payment_method": "pm_card_visa"}
    )
    assert response.status_code == 202, response.text
    gid = response.json()["group_id"]
    group = wait_until(
        lambda: guest.get(f"/v1/checkout-groups/{gid}").json(),
        lambda g: g["status"] == "confirmed",
    )
    leg = group["legs"][0]
    cancelled = guest.post(f"/v1/bookings/{leg['booking_id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    refunded = wait_for_booking(
        guest, leg["booking_id"], lambda b: b["refund_status"] == "refunded"
    )
    after = guest.get(f"/v1/checkout-groups/{gid}").json()
    assert sorted(leg["status"] for leg in after["legs"]) == ["cancelled", "confirmed"]
    refunds = stripe_refunds(system, group["payment_id"])
    assert [r["amount"] for r in refunds] == [refunded["refunded_amount"]]
    assert refunded["refunded_amount"] <= leg["amount"] < group["amount"]
    assert ledger_balanced(system)


def test_an_amendment_up_is_charged_and_one_down_is_refunded(
    system: System, guest: httpx.Client, host: httpx.Client
) -> None:
    booking = book(guest, days_ahead(5))
    booking_id, amount = booking["booking_id"], booking["amount"]
    longer = host.post(
        f"/v1/bookings/{booking_id}/amendments",
        json={
            "ends_at": (datetime.fromisoformat(booking["ends_at"]) + timedelta(hours=1)).isoformat()
        },
    )
    assert longer.status_code == 201, longer.text
    up = longer.json()
    assert up["delta"] > 0
    conflict = guest.post(f"/v1/bookings/{booking_id}/amendments", json={"guests": 3})
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "amendment_pending"
    accepted = guest.post(f"/v1/amendments/{up['amendment_id']}/accept")
    assert accepted.status_code == 200, accepted.text
    applied = wait_until(
        lambda: guest.get(f"/v1/amendments/{up['amendment_id']}").json(),
        lambda a: a["status"] in ("applied", "failed"),
    )
    assert applied["status"] == "applied", applied
    grown = guest.get(f"/v1/bookings/{booking_id}").json()
    assert grown["amount"] == amount + up["delta"]

    shorter = guest.post(
        f"/v1/bookings/{booking_id}/amendments", json={"ends_at": booking["ends_at"], "guests": 1}
    ).json()
    assert shorter["delta"] == -up["delta"]
    down = host.post(f"/v1/amendments/{shorter['amendment_id']}/accept")
    assert down.status_code == 200 and down.json()["status"] == "applied"
    assert guest.get(f"/v1/bookings/{booking_id}").json()["amount"] == amount
    refunds = wait_until(
        lambda: stripe_refunds(system, booking["payment_id"]), lambda r: len(r) == 1
    )
    assert refunds[0]["amount"] == up["delta"]
    assert ledger_balanced(system)


def test_overtime_reported_after_the_end_is_charged_when_the_guest_accepts(
    system: System, guest: httpx.Client, host: httpx.Client
) -> None:
    booking = book(guest, days_ahead(2))
    booking_id = booking["booking_id"]
    asyncio.run(_end_now(booking_id))  # the stay took place
    reported = host.post(f"/v1/bookings/{booking_id}/overtime", json={"minutes": 60})
    assert reported.status_code == 201, reported.text
    overtime = reported.json()
    # 1 h at the hourly rate 60.00, 12 % service fee 7.20, 8.75 % tax on 60.00 = 5.25.
    assert overtime["delta"] == 6_000 + 720 + 525
    accepted = guest.post(f"/v1/amendments/{overtime['amendment_id']}/accept")
    assert accepted.status_code == 200, accepted.text
    applied = wait_until(
        lambda: guest.get(f"/v1/amendments/{overtime['amendment_id']}").json(),
        lambda a: a["status"] in ("applied", "failed"),
    )
    assert applied["status"] == "applied", applied
    assert guest.get(f"/v1/bookings/{booking_id}").json()["amount"] == (
        booking["amount"] + overtime["delta"]
    )
    assert ledger_balanced(system)


async def _end_now(booking_id: str) -> None:
    conn = await asyncpg.connect(service_dsn("booking"))
    try:
        ended = random.randrange(1, 60)  # hours ago, within the 72 h to report overtime
        await conn.execute(
            "UPDATE booking.bookings SET starts_at = date_trunc('hour', now()) - make_interval("
            "hours => $2 + 2), ends_at = date_trunc('hour', now()) - make_interval(hours => $2) "
            "WHERE booking_id = $1",
            uuid.UUID(booking_id),
            ended,
        )
    finally:
        await conn.close()


EDGES = {  # policy: (hours before the start, refund share of the stay) at and just after each edge
    "flexible": [(24, 10_000)],
    "moderate": [(120, 10_000), (24, 5_000)],
    "strict": [(336, 10_000), (168, 5_000)],
}


@pytest.mark.parametrize("policy", sorted(EDGES))
def test_cancellation_previews_at_the_edges_of_each_band(system: System, policy: str) -> None:
    from marketplace_contracts.events.catalog import ListingUpsertedV1

    suffix = uuid.uuid4().hex[:8]
    listing = ListingUpsertedV1(
        listing_id=f"lst_edges_{policy}_{suffix}",
        host_id=f"host-edges-{suffix}",
        host_account_id=f"acct_edges_{suffix}",
        title=f"{policy} edges",
        hourly_rate=10_000,
        currency="usd",
        platform_fee_bps=1000,
        cancellation_policy=policy,
        guest_service_fee_bps=1000,
    )
    asyncio.run(publish(listing))
    guest = system.client("booking", sub=f"guest-edges-{suffix}")
    wait_until(
        lambda: [i["listing_id"] for i in guest.get("/v1/listings").json()],
        lambda ids: listing.listing_id in ids,
    )
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=20)
    response = guest.post(
        "/v1/bookings",
        json={
            "listing_id": listing.listing_id,
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
            "payment_method": "pm_card_visa",
        },
    )
    assert response.status_code == 202, response.text
    booking = wait_for_booking(
        guest, response.json()["booking_id"], lambda b: b["status"] == "confirmed"
    )

    def preview(at: datetime) -> dict[str, Any]:
        answer = guest.post(
            f"/v1/bookings/{booking['booking_id']}/cancel/preview", json={"at": at.isoformat()}
        )
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    second = timedelta(seconds=1)
    previous_amount = 10_000  # the whole stay
    for hours, bps in EDGES[policy]:
        edge = start - timedelta(hours=hours)
        at_edge, after = preview(edge), preview(edge + second)
        assert (at_edge["basis"], at_edge["refund_bps"]) == ("band", bps), at_edge
        # The stay (100.00) is refunded at the band's share; the service fee is kept.
        assert at_edge["amount"] == 10_000 * bps // 10_000
        next_bps = dict(EDGES[policy]).get(
            max((h for h, _ in EDGES[policy] if h < hours), default=-1), 0
        )
        assert after["refund_bps"] == next_bps, after
        assert after["amount"] < at_edge["amount"] <= previous_amount
        previous_amount = at_edge["amount"]
    started = preview(start)
    assert (started["basis"], started["amount"]) == ("started", 0)


def test_cancelling_after_an_increase_refunds_from_both_payments(
    system: System, guest: httpx.Client, host: httpx.Client
) -> None:
    booking = book(guest, days_ahead(3))
    booking_id = booking["booking_id"]
    ends = datetime.fromisoformat(booking["ends_at"]) + timedelta(hours=1)
    up = host.post(
        f"/v1/bookings/{booking_id}/amendments", json={"ends_at": ends.isoformat()}
    ).json()
    assert guest.post(f"/v1/amendments/{up['amendment_id']}/accept").status_code == 200
    wait_until(
        lambda: guest.get(f"/v1/amendments/{up['amendment_id']}").json(),
        lambda a: a["status"] == "applied",
    )
    cancelled = guest.post(f"/v1/bookings/{booking_id}/cancel")  # in the grace period: all
    assert cancelled.status_code == 200, cancelled.text
    total = cancelled.json()["refund"]["amount"]
    assert total == booking["amount"] + up["delta"]
    done = wait_for_booking(guest, booking_id, lambda b: b["refund_status"] != "pending")
    assert (done["refund_status"], done["refunded_amount"]) == ("refunded", total), done
    checkout_refunds = stripe_refunds(system, booking["payment_id"])
    assert [r["amount"] for r in checkout_refunds] == [booking["amount"]]
    assert ledger_balanced(system)


def test_receipts_show_what_was_paid_and_refunded_from_the_payment_records_and_ledger(
    system: System, guest: httpx.Client
) -> None:
    booking = book(guest, days_ahead(6), guests=3, extras={"lights": 1})
    receipt = wait_until(
        lambda: [
            r
            for r in guest.get("/v1/receipts", params={"limit": 100}).json()["data"]
            if r["booking_id"] == booking["booking_id"]
        ],
        lambda found: found and found[0]["ledger"] is not None,
    )[0]
    assert (receipt["kind"], receipt["amount"], receipt["tax"]) == (
        "payment",
        booking["amount"],
        booking["tax"],
    )
    assert receipt["fees"] + receipt["tax"] == booking["platform_fee"]
    assert receipt["payment_method"]["last4"] == "4242"
    assert [line["amount"] for line in receipt["lines"]] == [
        line["amount"] for line in booking["quote"]["lines"]
    ]
    postings = {p["account"]: p["amount"] for p in receipt["ledger"]["postings"]}
    assert postings["asset:stripe_balance:pending"] == booking["amount"]  # the ledger's own figure
    page = guest.get(f"/v1/receipts/{receipt['receipt_id']}/html")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert f"{booking['amount'] / 100:,.2f} USD" in page.text
    stranger = system.client("booking", sub="guest-not-the-payer")
    assert stranger.get(f"/v1/receipts/{receipt['receipt_id']}").status_code == 404

    guest.post(f"/v1/bookings/{booking['booking_id']}/cancel")
    refund = wait_until(
        lambda: [
            r
            for r in guest.get("/v1/receipts", params={"limit": 100}).json()["data"]
            if r["booking_id"] == booking["booking_id"] and r["kind"] == "refund"
        ],
        lambda found: bool(found),
    )[0]
    done = guest.get(f"/v1/bookings/{booking['booking_id']}").json()
    assert refund["amount"] == done["refund"]["amount"]


def test_a_host_whose_account_cannot_take_charges_is_refused_until_onboarded(
    system: System,
) -> None:
    from marketplace_contracts.events.catalog import ListingUpsertedV1

    suffix = uuid.uuid4().hex[:8]
    listing = ListingUpsertedV1(
        listing_id=f"lst_onb_{suffix}",
        host_id=f"host-onb-{suffix}",
        host_account_id=f"acct_onb_{suffix}",
        title="Onboarding",
        hourly_rate=5_000,
        currency="usd",
        platform_fee_bps=1000,
        cancellation_policy="flexible",
    )
    asyncio.run(publish(listing))
    guest = system.client("booking", sub=f"guest-onb-{suffix}")
    wait_until(
        lambda: [i["listing_id"] for i in guest.get("/v1/listings").json()],
        lambda ids: listing.listing_id in ids,
    )

    def onboarding(enabled: bool) -> None:
        body = {"charges_enabled": enabled, "payouts_enabled": enabled}
        answer = httpx.post(
            f"{system.urls['stripe']}/_sim/accounts/{listing.host_account_id}/onboarding",
            json=body,
        )
        assert answer.status_code == 200, answer.text

    def attempt() -> httpx.Response:
        start = datetime(2032, 1, 1, tzinfo=UTC) + timedelta(hours=random.randrange(0, 50_000))
        return guest.post(
            "/v1/bookings",
            json={
                "listing_id": listing.listing_id,
                "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(hours=1)).isoformat(),
                "payment_method": "pm_card_visa",
            },
        )

    onboarding(False)  # Stripe's account.updated: payments records it, booking learns it
    refused = wait_until(attempt, lambda r: r.status_code == 409)
    assert refused.json()["error"]["code"] == "host_cannot_take_charges"
    onboarding(True)
    wait_until(attempt, lambda r: r.status_code == 202)
