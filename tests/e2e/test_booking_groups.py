"""Linked Booking Groups through the gateway: three legs, three hosts, one payment; a failure at
any step releases every leg; a restart in the middle of the saga loses nothing."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import jsonschema
import pytest

from marketplace_contracts.events.catalog import ListingUpsertedV1, RequiredDocument
from marketplace_contracts.schema import committed_schemas
from tests.conftest import KAFKA, service_dsn
from tests.e2e.conftest import System
from tests.e2e.test_docs_before_pay import answer
from tests.e2e.test_request_to_book import _publish
from tests.support import read_topic
from tests.support.e2e import wait_until_listed
from tests.support.poll import stays, wait_until

pytestmark = pytest.mark.e2e
SCHEMAS = committed_schemas()


def _listing(kind: str, suffix: str) -> ListingUpsertedV1:
    return ListingUpsertedV1(
        listing_id=f"lst_lbg_{kind}_{suffix}",
        host_id=f"host-lbg-{kind}-{suffix}",
        host_account_id=f"acct_lbg_{kind}_{suffix}",
        title=f"LBG {kind}",
        hourly_rate={"instant": 4000, "request": 6000, "docs": 8000}[kind],
        currency="usd",
        platform_fee_bps=1000,
        cancellation_policy="flexible",
        instant_book=kind != "request",
        required_documents=[
            RequiredDocument(document_id="agreement-v1", title="Rental agreement", text="I agree.")
        ]
        if kind == "docs"
        else [],
    )


@pytest.fixture(scope="module")
def listings(system: System) -> dict[str, ListingUpsertedV1]:
    """An Instant Book, a Request-to-Book and a documents listing, each of its own host, used
    by this module only, so near-term slots (which hold an authorization) never collide."""
    suffix = uuid.uuid4().hex[:8]
    made = {kind: _listing(kind, suffix) for kind in ("instant", "request", "docs")}
    for listing in made.values():
        asyncio.run(_publish(listing))
    client = system.client("booking", sub="anyone")
    wait_until_listed(client, *(m.listing_id for m in made.values()), what="the test listings")
    return made


@pytest.fixture(scope="module")
def guest(system: System) -> httpx.Client:
    return system.client("booking", sub=f"guest-lbg-{uuid.uuid4().hex[:6]}")


_used: set[int] = set()


def _near_slot() -> tuple[str, str]:
    """Two hours within the next five days (an authorization, not a saved card), unique here."""
    index = random.choice([i for i in range(48) if i not in _used])
    _used.add(index)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(
        days=1, hours=2 * index
    )
    return start.isoformat(), (start + timedelta(hours=2)).isoformat()


def _legs(*listings: ListingUpsertedV1) -> list[dict[str, str]]:
    legs = []
    for listing in listings:
        starts_at, ends_at = _near_slot()
        legs.append({"listing_id": listing.listing_id, "starts_at": starts_at, "ends_at": ends_at})
    return legs


def checkout(
    guest: httpx.Client, legs: list[dict[str, str]], payment_method: str = "pm_card_visa"
) -> httpx.Response:
    return guest.post("/v1/checkout-groups", json={"legs": legs, "payment_method": payment_method})


def wait_group(
    client: httpx.Client, group_id: str, done: Callable[[dict[str, Any]], Any], timeout: float = 40
) -> dict[str, Any]:
    found: dict[str, Any] = wait_until(
        lambda: client.get(f"/v1/checkout-groups/{group_id}").json(),
        done,
        timeout=timeout,
        interval=0.1,
        what=f"the expected state of group {group_id}",
    )
    return found


def leg_of(group: dict[str, Any], listing: ListingUpsertedV1) -> dict[str, Any]:
    return next(leg for leg in group["legs"] if leg["listing_id"] == listing.listing_id)


def host(system: System, listing: ListingUpsertedV1) -> httpx.Client:
    return system.client("booking", sub=listing.host_id, role="host")


async def _payments_of(group_id: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(service_dsn("payments"))
    try:
        return list(
            await conn.fetch("SELECT * FROM payments.payments WHERE group_id = $1", group_id)
        )
    finally:
        await conn.close()


def _slot_is_free(guest: httpx.Client, leg: dict[str, Any]) -> bool:
    """Another guest can hold this leg's slot now (with a card that declines, so the probe
    lets the slot go again right after)."""
    response = guest.post(
        "/v1/bookings",
        json={
            "listing_id": leg["listing_id"],
            "starts_at": leg["starts_at"],
            "ends_at": leg["ends_at"],
            "payment_method": "pm_card_chargeDeclined",  # held only until the decline
        },
    )
    return response.status_code == 202


def test_three_legs_of_three_hosts_confirm_together_on_one_payment(
    system: System, guest: httpx.Client, listings: dict[str, ListingUpsertedV1]
) -> None:
    instant, request, docs = listings["instant"], listings["request"], listings["docs"]
    response = checkout(guest, _legs(instant, request, docs))
    assert response.status_code == 202, response.text
    group = response.json()
    gid = group["group_id"]
    assert group["status"] == "awaiting_signatures"
    assert (
        group["amount"] == sum(leg["amount"] for leg in group["legs"]) == 2 * (4000 + 6000 + 8000)
    )
    assert {leg["status"] for leg in group["legs"]} == {"awaiting_signatures", "pending_payment"}

    # Nothing is asked of payments until the documents leg is signed.
    signing = wait_group(guest, gid, lambda g: leg_of(g, docs)["signing_url"])
    stays(lambda: asyncio.run(_payments_of(gid)), lambda p: p == [], 1, what="payments")
    answer(system, leg_of(signing, docs)["signing_url"], "sign")

    waiting = wait_group(guest, gid, lambda g: g["status"] == "awaiting_hosts")
    assert waiting["payment_status"] == "authorized"
    assert leg_of(waiting, request)["status"] == "awaiting_host"
    assert leg_of(waiting, instant)["status"] == "awaiting_group"  # paid for, not confirmed

    # The host sees its own leg, not the group (which names other hosts' bookings).
    with host(system, request) as answerer:
        leg_id = leg_of(waiting, request)["booking_id"]
        assert answerer.get(f"/v1/bookings/{leg_id}").status_code == 200
        assert answerer.get(f"/v1/checkout-groups/{gid}").status_code == 404
        accepted = answerer.post(f"/v1/bookings/{leg_id}/accept")
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["status"] == "awaiting_group"
    with host(system, instant) as stranger:
        assert stranger.get(f"/v1/bookings/{leg_id}").status_code == 404
    other_guest = system.client("booking", sub="guest-someone-else")
    assert other_guest.get(f"/v1/checkout-groups/{gid}").status_code == 404

    done = wait_group(guest, gid, lambda g: g["status"] == "confirmed")
    assert done["payment_status"] == "captured"
    assert {leg["status"] for leg in done["legs"]} == {"confirmed"}
    assert {leg["payment_id"] for leg in done["legs"]} == {done["payment_id"]}

    [payment] = asyncio.run(_payments_of(gid))  # one payment for the whole group
    assert payment["status"] == "captured" and payment["captured_amount"] == done["amount"]
    found = wait_until(
        lambda: [
            r
            for r in guest.get("/v1/receipts", params={"limit": 100}).json()["data"]
            if r["group_id"] == gid
        ],
        timeout=30,
        what="the group's receipt",
    )
    [receipt] = found  # one receipt, with each leg's amount as payments split it
    assert receipt["amount"] == done["amount"]
    assert sorted(leg["amount"] for leg in receipt["legs"]) == sorted(
        leg["amount"] for leg in done["legs"]
    )

    # The independent reader: the group's events are complete, in order, and valid.
    records = asyncio.run(_read(("booking.events", "payments.events")))
    group_types = [json.loads(r.value)["type"] for r in records if r.key.decode() == gid]
    assert group_types == [
        "booking.group_checkout_requested",
        "booking.group_awaiting_hosts",
        "booking.group_capture_requested",
        "booking.group_confirmed",
    ]
    ours = [json.loads(r.value) for r in records if gid in r.value.decode()]
    for value in ours:
        jsonschema.validate(value, SCHEMAS[(value["type"], value["version"])])
    assert len({value["correlation_id"] for value in ours}) == 1  # one saga
    captured = [v for v in ours if v["type"] == "payments.payment_captured"]
    assert len(captured) == 1 and captured[0]["version"] == 2
    splits = captured[0]["data"]["splits"]
    assert sorted(s["host_account_id"] for s in splits) == sorted(
        listing.host_account_id for listing in (instant, request, docs)
    )
    assert sum(s["amount"] for s in splits) == done["amount"]
    with system.client("finance") as finance:
        wait_until(
            lambda: finance.get(f"/v1/ledger/bookings/{gid}").json(),
            timeout=30,
            what="the group's journal",
        )
        assert finance.get("/v1/ledger/trial-balance").json()["balanced"]


def test_a_taken_slot_refuses_the_whole_group_and_holds_nothing(
    system: System, guest: httpx.Client, listings: dict[str, ListingUpsertedV1]
) -> None:
    instant, request = listings["instant"], listings["request"]
    first, taken = _legs(instant, instant)
    single = guest.post("/v1/bookings", json={**taken, "payment_method": "pm_card_visa"})
    assert single.status_code == 202, single.text
    [free_leg] = _legs(request)
    refused = checkout(guest, [first, free_leg, taken])
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "slot_unavailable"
    assert refused.json()["error"]["message"].startswith("leg 3:")
    # Legs 1 and 2 were never held: the same group without leg 3 goes through.
    assert checkout(guest, [first, free_leg]).status_code == 202


def test_a_host_declining_one_leg_releases_every_leg_and_voids_the_payment(
    system: System, guest: httpx.Client, listings: dict[str, ListingUpsertedV1]
) -> None:
    instant, request = listings["instant"], listings["request"]
    group = checkout(guest, _legs(instant, request, instant)).json()
    gid = group["group_id"]
    waiting = wait_group(guest, gid, lambda g: g["status"] == "awaiting_hosts")
    leg_id = leg_of(waiting, request)["booking_id"]
    with host(system, request) as answerer:
        declined = answerer.post(f"/v1/bookings/{leg_id}/decline", json={"reason": "closed"})
        assert declined.status_code == 200, declined.text
    failed = wait_group(guest, gid, lambda g: g["payment_status"] == "voided")
    assert (failed["status"], failed["failure_reason"]) == ("failed", "host_declined")
    assert failed["failed_booking_id"] == leg_id
    assert sorted(leg["status"] for leg in failed["legs"]) == ["declined", "failed", "failed"]
    [payment] = asyncio.run(_payments_of(gid))
    assert payment["status"] == "voided" and payment["captured_amount"] == 0
    for leg in failed["legs"]:
        assert _slot_is_free(guest, leg)


def test_a_declined_document_cancels_the_group_before_any_payment(
    system: System, guest: httpx.Client, listings: dict[str, ListingUpsertedV1]
) -> None:
    group = checkout(guest, _legs(listings["instant"], listings["docs"])).json()
    gid = group["group_id"]
    signing = wait_group(guest, gid, lambda g: leg_of(g, listings["docs"])["signing_url"])
    answer(system, leg_of(signing, listings["docs"])["signing_url"], "decline")
    failed = wait_group(guest, gid, lambda g: g["status"] == "failed")
    assert failed["failure_reason"] == "documents_declined"
    assert failed["payment_status"] == "none"
    # payments was never asked
    stays(lambda: asyncio.run(_payments_of(gid)), lambda p: p == [], 1, what="payments")
    for leg in failed["legs"]:
        assert _slot_is_free(guest, leg)


def test_a_declined_card_fails_the_group(
    system: System, guest: httpx.Client, listings: dict[str, ListingUpsertedV1]
) -> None:
    group = checkout(
        guest, _legs(listings["instant"], listings["request"]), "pm_card_chargeDeclined"
    ).json()
    failed = wait_group(guest, group["group_id"], lambda g: g["status"] == "failed")
    assert failed["failure_reason"] == "payment_declined"
    assert {leg["status"] for leg in failed["legs"]} == {"failed"}
    for leg in failed["legs"]:
        assert _slot_is_free(guest, leg)


def test_a_host_who_does_not_answer_in_time_fails_the_group(
    system: System, guest: httpx.Client, listings: dict[str, ListingUpsertedV1]
) -> None:
    """The response window is 6 s in this system (BOOKING_REQUEST_WINDOW_SECONDS)."""
    group = checkout(guest, _legs(listings["request"], listings["instant"])).json()
    failed = wait_group(guest, group["group_id"], lambda g: g["status"] == "failed", timeout=40)
    assert failed["failure_reason"] == "request_expired"
    wait_group(guest, group["group_id"], lambda g: g["payment_status"] == "voided")


def test_the_group_saga_survives_payments_and_booking_crashing_mid_way(
    system: System, guest: httpx.Client, listings: dict[str, ListingUpsertedV1]
) -> None:
    instant, request = listings["instant"], listings["request"]
    system.kill("payments")
    try:
        group = checkout(guest, _legs(instant, request)).json()
        gid = group["group_id"]
        stays(
            lambda: guest.get(f"/v1/checkout-groups/{gid}").json()["status"],
            lambda status: status == "pending_payment",
            1.5,
            what="the group's status",
        )
    finally:
        system.start("payments")
    waiting = wait_group(guest, gid, lambda g: g["status"] == "awaiting_hosts")
    leg_id = leg_of(waiting, request)["booking_id"]
    with host(system, request) as answerer:
        assert answerer.post(f"/v1/bookings/{leg_id}/accept").status_code == 200
    system.kill("booking")  # right after the capture request was committed
    system.start("booking")
    done = wait_group(guest, gid, lambda g: g["status"] == "confirmed")
    assert {leg["status"] for leg in done["legs"]} == {"confirmed"}
    [payment] = asyncio.run(_payments_of(gid))
    assert payment["captured_amount"] == done["amount"]  # captured once, for the total


async def _read(topics: tuple[str, ...]) -> list[Any]:
    records = []
    for topic in topics:
        records += await read_topic(KAFKA, topic)
    return records


def test_a_far_ahead_group_saves_the_card_and_charges_it_when_every_leg_is_ready(
    system: System, guest: httpx.Client, listings: dict[str, ListingUpsertedV1]
) -> None:
    """A Request-to-Book leg months ahead: an authorization would lapse, so the card is saved
    and charged off-session for the total once the host accepts."""
    instant, request = listings["instant"], listings["request"]
    start = datetime(2031, 1, 1, tzinfo=UTC) + timedelta(hours=2 * random.randrange(0, 20_000))
    legs = [
        {
            "listing_id": listing.listing_id,
            "starts_at": (start + timedelta(hours=3 * n)).isoformat(),
            "ends_at": (start + timedelta(hours=3 * n + 2)).isoformat(),
        }
        for n, listing in enumerate((instant, request))
    ]
    gid = checkout(guest, legs).json()["group_id"]
    waiting = wait_group(guest, gid, lambda g: g["status"] == "awaiting_hosts")
    assert waiting["payment_status"] == "saved"
    with host(system, request) as answerer:
        leg_id = leg_of(waiting, request)["booking_id"]
        assert answerer.post(f"/v1/bookings/{leg_id}/accept").status_code == 200
    done = wait_group(guest, gid, lambda g: g["status"] == "confirmed")
    assert done["payment_status"] == "captured"
    [payment] = asyncio.run(_payments_of(gid))
    assert payment["captured_amount"] == done["amount"]
