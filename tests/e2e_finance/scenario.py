"""What the books scenario's tests share: listings of this run on the package's own broker,
bookings made through the gateway, and reads of finance, payments and the simulator."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from eventkit.producer import durable_producer
from marketplace_contracts import make_envelope
from marketplace_contracts.events.catalog import ListingUpsertedV1
from tests.e2e.conftest import ROOT, System
from tests.support.poll import wait_until

STRIPE_AUTH = {"Authorization": "Bearer sk_test_local_simulator"}
SUFFIX = uuid.uuid4().hex[:6]
SEEDS = json.loads((ROOT / "services/booking/booking/seed_listings.json").read_text())


def listing(name: str, **changes: Any) -> ListingUpsertedV1:
    """A copy of the seeded loft (flexible policy, 15 % platform fee) with a host of its own."""
    seed = next(s for s in SEEDS if s["listing_id"] == "lst_loft_01")
    return ListingUpsertedV1.model_validate(
        {
            **seed,
            "listing_id": f"lst_{name}_{SUFFIX}",
            "host_id": f"host-{name}-{SUFFIX}",
            "host_account_id": f"acct_{name}_{SUFFIX}",
            **changes,
        }
    )


def publish(bootstrap: str, listings: list[ListingUpsertedV1]) -> None:
    async def send() -> None:
        producer = durable_producer(bootstrap, client_id="e2e-fin-catalog")
        await producer.start()
        try:
            for item in listings:
                envelope = make_envelope(
                    item, key=item.listing_id, producer="catalog", correlation_id=uuid.uuid4()
                )
                await producer.send_and_wait(
                    item.TOPIC, envelope.to_bytes(), key=item.listing_id.encode()
                )
        finally:
            await producer.stop()

    asyncio.run(send())


def until(what: str, probe: Callable[[], Any], timeout: float = 40, every: float = 0.2) -> Any:
    return wait_until(probe, timeout=timeout, interval=every, what=what)


def slot(days: int, hour: int, hours: int = 2) -> dict[str, str]:
    """A slot `days` ahead of real time (under 6: an authorization, captured at confirmation)."""
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(
        days=days, hours=hour
    )
    return {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=hours)).isoformat()}


def book(
    guest: httpx.Client, item: ListingUpsertedV1, times: dict[str, str], **extra: Any
) -> dict[str, Any]:
    answer = guest.post(
        "/v1/bookings",
        json={"listing_id": item.listing_id, **times, "payment_method": "pm_card_visa", **extra},
    )
    assert answer.status_code == 202, answer.text
    booking: dict[str, Any] = answer.json()
    return booking


def booking_when(
    client: httpx.Client, booking_id: str, done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    found: dict[str, Any] = until(
        f"booking {booking_id}",
        lambda: b if done(b := client.get(f"/v1/bookings/{booking_id}").json()) else None,
    )
    return found


def stripe(system: System) -> httpx.Client:
    return httpx.Client(base_url=system.urls["stripe"], headers=STRIPE_AUTH, timeout=10)


def every(client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every object of a Stripe list, page by page."""
    found: list[dict[str, Any]] = []
    while True:
        page = client.get(path, params={**params, "limit": 100}).json()
        found += page["data"]
        if not page["has_more"]:
            return found
        params["starting_after"] = page["data"][-1]["id"]


def transfers_per_payable(system: System) -> Counter[tuple[str, str]]:
    """How many Stripe transfers each payable (payment, booking) got."""
    with stripe(system) as client:
        made = every(client, "/v1/transfers")
    return Counter((t["metadata"]["payment_id"], t["metadata"]["booking_id"]) for t in made)


def advance(system: System, seconds: float) -> dict[str, Any]:
    answer = httpx.post(
        f"{system.urls['stripe']}/_sim/clock/advance", json={"seconds": seconds}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    moved: dict[str, Any] = answer.json()
    return moved


def sim_now(system: System) -> datetime:
    now = httpx.get(f"{system.urls['stripe']}/_sim/clock", timeout=5).json()["now"]
    return datetime.fromtimestamp(now, UTC)


def queue(system: System, **filters: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    cursor = None
    with system.client("finance") as finance:
        while True:
            params = {**filters, "limit": "200", **({"cursor": cursor} if cursor else {})}
            page = finance.get("/v1/payouts/queue", params=params).json()
            entries += page["entries"]
            if not (cursor := page["next_cursor"]):
                return entries


def finance_cli(system: System, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "finance", *args],
        env=system.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def close_through(system: System, last: date) -> list[dict[str, Any]]:
    """`close-day` every day up to `last`, oldest first (days close in order), as staff would."""
    outcomes: list[dict[str, Any]] = []
    day = date.fromisoformat(_first_open_day(system))
    while day <= last:
        done = finance_cli(system, "close-day", "--date", day.isoformat(), "--currency", "usd")
        assert done.returncode in (0, 3), done.stderr
        outcomes += json.loads(done.stdout)
        if done.returncode:
            break
        day += timedelta(days=1)
    return outcomes


def _first_open_day(system: System) -> str:
    import asyncpg

    async def fetch() -> str:
        conn = await asyncpg.connect(system.env["FINANCE_DATABASE_URL"])
        try:
            found = await conn.fetchval(
                "SELECT min(posted_on) FROM finance.journals WHERE posted_on > coalesce(("
                "SELECT max(business_date) FROM finance.day_closes WHERE status = 'closed'), "
                "'-infinity'::date)"
            )
        finally:
            await conn.close()
        return str(found)

    return asyncio.run(fetch())


def logs_tail(system: System, name: str) -> str:
    return Path(system.logs / f"{name}.log").read_text()[-4000:]


def unbooked_sources(system: System) -> tuple[int, list[str]]:
    """Stripe's balance transactions, and the sources of those no ledger journal names (every
    one matched: none)."""
    import asyncpg

    with stripe(system) as client:
        made = every(client, "/v1/balance_transactions")

    async def fetch() -> set[str]:
        conn = await asyncpg.connect(system.env["FINANCE_DATABASE_URL"])
        try:
            rows = await conn.fetch(
                "SELECT DISTINCT stripe_object_id FROM finance.journals "
                "WHERE stripe_object_id IS NOT NULL"
            )
        finally:
            await conn.close()
        return {r["stripe_object_id"] for r in rows}

    booked = asyncio.run(fetch())
    return len(made), sorted(t["source"] for t in made if t["source"] not in booked)


def batch_states(system: System, bookings: set[str]) -> dict[str, int]:
    """How many of these bookings' entries are released or transferred (`moved`), and
    transferred: read from finance's tables, to catch the batch early."""
    import asyncpg

    async def fetch() -> dict[str, int]:
        conn = await asyncpg.connect(system.env["FINANCE_DATABASE_URL"])
        try:
            row = await conn.fetchrow(
                "SELECT count(*) FILTER (WHERE state IN ('released', 'transferred')) AS moved, "
                "count(*) FILTER (WHERE state = 'transferred') AS transferred "
                "FROM finance.payout_entries WHERE booking_id = ANY($1::text[])",
                list(bookings),
            )
        finally:
            await conn.close()
        return dict(row)

    return asyncio.run(fetch())


def ledger_stripe(system: System) -> dict[str, int]:
    with system.client("finance") as finance:
        balance = finance.get("/v1/ledger/trial-balance").json()
    assert balance["balanced"], balance
    accounts = {a["account"]: a["balance"] for a in balance["accounts"] if a["currency"] == "usd"}
    return {
        "pending": accounts.get("asset:stripe_balance:pending", 0),
        "available": accounts.get("asset:stripe_balance:available", 0),
    }


def stripe_balance(system: System) -> dict[str, int]:
    with stripe(system) as client:
        body = client.get("/v1/balance").json()
    return {
        kind: sum(b["amount"] for b in body[kind] if b["currency"] == "usd")
        for kind in ("pending", "available")
    }


def open_exceptions(system: System) -> list[dict[str, Any]]:
    with system.client("finance") as finance:
        answer = finance.get("/v1/reconciliation/exceptions")
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def reconciled(system: System) -> dict[str, Any]:
    with system.client("finance") as finance:
        answer = finance.post("/v1/reconciliation/runs", timeout=60)
    assert answer.status_code == 200, answer.text
    run: dict[str, Any] = answer.json()
    return run


def group_captured(guest: httpx.Client, legs: list[dict[str, Any]]) -> dict[str, Any]:
    """A Linked Booking Group checked out by card, once its payment is captured."""
    answer = guest.post(
        "/v1/checkout-groups", json={"legs": legs, "payment_method": "pm_card_visa"}
    )
    assert answer.status_code == 202, answer.text
    group_id = answer.json()["group_id"]
    found: dict[str, Any] = until(
        f"group {group_id} to be captured",
        lambda: (
            g
            if (g := guest.get(f"/v1/checkout-groups/{group_id}").json())["payment_status"]
            == "captured"
            else None
        ),
    )
    return found
