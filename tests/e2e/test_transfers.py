"""Host payouts, every service a process on real Kafka. A two-host group paid by card through
the gateway and captured; ops release each leg with `python -m finance release-payout`;
payments transfers each host its leg's share (one Stripe transfer per host, of the group's
transfer group); finance books it and the ledger balances. A single booking is paid the same
way (a separate charge of its own transfer group), and a refund after its host was paid takes
the host's share back by a transfer reversal."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from marketplace_contracts.events.catalog import ListingUpsertedV1
from tests.conftest import service_dsn
from tests.e2e.conftest import ROOT, System
from tests.support.e2e import publish
from tests.support.poll import stays, wait_until

pytestmark = pytest.mark.e2e
STRIPE_AUTH = {"Authorization": "Bearer sk_test_local_simulator"}


def _listing(n: int, suffix: str) -> ListingUpsertedV1:
    return ListingUpsertedV1(
        listing_id=f"lst_payout_{n}_{suffix}",
        host_id=f"host-payout-{n}-{suffix}",
        host_account_id=f"acct_payout_{n}_{suffix}",
        title=f"Payout studio {n}",
        hourly_rate=5000 + 1000 * n,
        currency="usd",
        platform_fee_bps=1200,
        cancellation_policy="flexible",
        instant_book=True,
    )


def _until(what: str, probe: Callable[[], Any], timeout: float = 40) -> Any:
    return wait_until(probe, timeout=timeout, what=what)


def _payment_splits(group_id: str) -> list[dict[str, Any]]:
    import asyncpg

    async def fetch() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(service_dsn("payments"))
        try:
            raw = await conn.fetchval(
                "SELECT splits FROM payments.payments WHERE group_id = $1", group_id
            )
        finally:
            await conn.close()
        return list(json.loads(raw))

    return asyncio.run(fetch())


def test_each_leg_released_is_transferred_to_its_host(system: System) -> None:
    suffix = uuid.uuid4().hex[:8]
    listings = [_listing(n, suffix) for n in (1, 2)]
    for listing in listings:
        asyncio.run(publish(listing))
    guest = system.client("booking", sub=f"guest-payout-{suffix}")
    _until(
        "the listings to replicate",
        lambda: (
            {lst.listing_id for lst in listings}
            <= {i["listing_id"] for i in guest.get("/v1/listings").json()}
        ),
    )
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    legs = [
        {
            "listing_id": listing.listing_id,
            "starts_at": (start + timedelta(hours=3 * i)).isoformat(),
            "ends_at": (start + timedelta(hours=3 * i + 2)).isoformat(),
        }
        for i, listing in enumerate(listings)
    ]
    response = guest.post(
        "/v1/checkout-groups", json={"legs": legs, "payment_method": "pm_card_visa"}
    )
    assert response.status_code == 202, response.text
    group_id = response.json()["group_id"]
    group = _until(
        "the group to be confirmed and captured",
        lambda: (
            body
            if (body := guest.get(f"/v1/checkout-groups/{group_id}").json())["status"]
            == "confirmed"
            and body["payment_status"] == "captured"
            else None
        ),
    )
    splits = {s["booking_id"]: s for s in _payment_splits(group_id)}
    assert set(splits) == {leg["booking_id"] for leg in group["legs"]}

    finance = system.client("finance")
    env = {**system.env}
    for leg in group["legs"]:
        booking_id = leg["booking_id"]
        _until(
            "finance to know what it owes",
            lambda b=booking_id: finance.get("/v1/payables", params={"booking_id": b}).json()[
                "payables"
            ],
        )
        done = subprocess.run(
            [sys.executable, "-m", "finance", "release-payout", booking_id],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        [release] = json.loads(done.stdout)
        split = splits[booking_id]
        assert release["amount"] == split["amount"] - split["platform_fee"]
        # Released once: a second release is refused, nothing is left.
        again = subprocess.run(
            [sys.executable, "-m", "finance", "release-payout", booking_id],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert again.returncode == 2 and "nothing_to_release" in again.stderr

    stripe = httpx.Client(base_url=system.urls["stripe"], headers=STRIPE_AUTH, timeout=10)
    transfers = _until(
        "one transfer per host",
        lambda: (
            data
            if len(
                data := stripe.get(
                    "/v1/transfers", params={"transfer_group": group_id, "limit": 100}
                ).json()["data"]
            )
            == 2
            else None
        ),
    )
    expected = sorted(
        (s["host_account_id"], s["amount"] - s["platform_fee"]) for s in splits.values()
    )
    assert sorted((t["destination"], t["amount"]) for t in transfers) == expected
    assert {t["transfer_group"] for t in transfers} == {group_id}
    assert {t["destination"] for t in transfers} == {lst.host_account_id for lst in listings}

    # Finance books each transfer: the hosts are owed nothing more, and the ledger balances.
    def transferred() -> bool:
        for leg in group["legs"]:
            body = finance.get("/v1/payables", params={"booking_id": leg["booking_id"]}).json()
            if [r["status"] for r in body["releases"]] != ["transferred"]:
                return False
        return True

    _until("finance to book both transfers", transferred)
    balance = finance.get("/v1/ledger/trial-balance").json()
    assert balance["balanced"], balance
    accounts = {(a["account"], a["currency"]): a["balance"] for a in balance["accounts"]}
    for listing in listings:
        assert accounts.get((f"liability:host_payable:{listing.host_account_id}", "usd"), 0) == 0
    stays(
        lambda: stripe.get("/v1/transfers", params={"transfer_group": group_id}).json()["data"],
        lambda transfers: len(transfers) == 2,
        0.5,
        what="the group's transfers",
    )


def _release(env: dict[str, str], booking_id: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "finance", "release-payout", booking_id],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    [release] = json.loads(done.stdout)
    return dict(release)


def test_a_single_bookings_host_is_paid_by_transfer_and_a_later_refund_reverses_it(
    system: System,
) -> None:
    suffix = uuid.uuid4().hex[:8]
    listing = _listing(3, suffix)
    asyncio.run(publish(listing))
    guest = system.client("booking", sub=f"guest-single-{suffix}")
    _until(
        "the listing to replicate",
        lambda: listing.listing_id in {i["listing_id"] for i in guest.get("/v1/listings").json()},
    )
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
    response = guest.post(
        "/v1/bookings",
        json={
            "listing_id": listing.listing_id,
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(),
            "payment_method": "pm_card_visa",
        },
    )
    assert response.status_code == 202, response.text
    booking_id = response.json()["booking_id"]
    booking = _until(
        "the booking to be captured",
        lambda: (
            body
            if (body := guest.get(f"/v1/bookings/{booking_id}").json())["payment_status"]
            == "captured"
            else None
        ),
    )
    host_share = booking["amount"] - booking["platform_fee"]
    stripe = httpx.Client(base_url=system.urls["stripe"], headers=STRIPE_AUTH, timeout=10)
    finance = system.client("finance")
    # Nothing reached the host at capture: the platform holds the funds.
    assert stripe.get("/v1/transfers", params={"transfer_group": booking_id}).json()["data"] == []
    _until(
        "finance to know what it owes",
        lambda: finance.get("/v1/payables", params={"booking_id": booking_id}).json()["payables"],
    )

    release = _release(system.env, booking_id)
    assert release["amount"] == host_share
    [transfer] = _until(
        "the host's transfer",
        lambda: stripe.get("/v1/transfers", params={"transfer_group": booking_id}).json()["data"],
    )
    assert (transfer["destination"], transfer["amount"]) == (listing.host_account_id, host_share)

    # The guest cancels in the grace period: everything back, the host's share by reversal.
    cancelled = guest.post(f"/v1/bookings/{booking_id}/cancel", json={"reason": "plans changed"})
    assert cancelled.status_code == 200, cancelled.text
    _until(
        "the host's share to come back",
        lambda: (
            stripe.get(f"/v1/transfers/{transfer['id']}").json()["amount_reversed"] == host_share
        ),
    )

    def settled() -> bool:
        [payable] = finance.get("/v1/payables", params={"booking_id": booking_id}).json()[
            "payables"
        ]
        return bool(payable["refunded"] == payable["reversed"] == host_share)

    _until("finance to book the refund and the reversal", settled)
    balance = finance.get("/v1/ledger/trial-balance").json()
    accounts = {(a["account"], a["currency"]): a["balance"] for a in balance["accounts"]}
    assert balance["balanced"], balance
    assert accounts.get((f"liability:host_payable:{listing.host_account_id}", "usd"), 0) == 0
