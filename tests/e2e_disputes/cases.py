"""What the chargeback scenario's tests share: the simulator's dispute controls, the disputes
REST API as trust staff use it, and reads of finance's queue and books and payments' rows."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx

from stripesim.webhooks import sign as stripe_signature
from tests.e2e.conftest import WEBHOOK_SECRET, System
from tests.e2e_finance import scenario as s


def _fetch(dsn: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(dsn)
        try:
            return [dict(r) for r in await conn.fetch(sql, *args)]
        finally:
            await conn.close()

    return asyncio.run(run())


def charge_of(system: System, booking_or_group_id: str) -> str:
    """The Stripe charge of a booking's (or a group's) checkout, as payments recorded it."""
    rows = _fetch(
        system.env["PAYMENTS_DATABASE_URL"],
        "SELECT charge_id FROM payments.payments WHERE (booking_id = $1 OR group_id = $1) "
        "AND charge_id IS NOT NULL ORDER BY created_at LIMIT 1",
        booking_or_group_id,
    )
    assert rows, f"no charge for {booking_or_group_id}"
    charge: str = rows[0]["charge_id"]
    return charge


def open_dispute(system: System, charge: str, reason: str) -> str:
    """The guest's bank disputes the whole charge (the simulator's control); the `du_…` id."""
    answer = httpx.post(
        f"{system.urls['stripe']}/_sim/charges/{charge}/dispute",
        json={"reason": reason},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    du: str = answer.json()["id"]
    return du


def resolve(system: System, du: str, *, won: bool) -> None:
    answer = httpx.post(
        f"{system.urls['stripe']}/_sim/disputes/{du}/resolve", json={"won": won}, timeout=10
    )
    assert answer.status_code == 200, answer.text


def stripe_dispute(system: System, du: str) -> dict[str, Any]:
    with s.stripe(system) as stripe:
        found: dict[str, Any] = stripe.get(f"/v1/disputes/{du}").json()
    return found


def dispute_id(du: str) -> str:
    """The platform's id of a Stripe dispute."""
    return "dsp_" + du.removeprefix("du_")


def case_when(
    trust: httpx.Client, du: str, done: Callable[[dict[str, Any]], bool], timeout: float = 40
) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        answer = trust.get(f"/v1/disputes/{dispute_id(du)}")
        if answer.status_code == 404:
            return None
        assert answer.status_code == 200, answer.text
        case: dict[str, Any] = answer.json()
        return case if done(case) else None

    found: dict[str, Any] = s.until(f"case of {du}", probe, timeout=timeout)
    return found


def evidence_text(case: dict[str, Any]) -> str:
    """Every text of the case's assembled evidence, as one string to search."""
    return json.dumps(case["evidence"], sort_keys=True)


def reminders(system: System, du: str) -> list[int]:
    """The deadline reminders disputes published for the case: hours before due_by each."""
    rows = _fetch(
        system.env["DISPUTES_DATABASE_URL"],
        "SELECT payload FROM disputes.outbox WHERE key = $1 "
        "AND event_type = 'disputes.deadline_approaching' ORDER BY id",
        dispute_id(du),
    )
    return [int(_payload(r["payload"])["data"]["hours_before"]) for r in rows]


def _payload(raw: Any) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
    return found


def shares(case: dict[str, Any]) -> dict[tuple[str, str | None], int]:
    """Who bears the lost dispute: (party, booking id) → amount."""
    found: dict[tuple[str, str | None], int] = {}
    for share in case["money"]["shares"]:
        key = (share["party"], share.get("booking_id") if share["party"] == "host" else None)
        found[key] = found.get(key, 0) + share["amount"]
    return found


def entries_held_by(
    system: System, booking_ids: list[str], dispute: str
) -> list[dict[str, Any]] | None:
    held = [
        e
        for e in s.queue(system)
        if e["booking_id"] in booking_ids and f"dispute:{dispute}" in e["holds"]
    ]
    return held if {e["booking_id"] for e in held} == set(booking_ids) else None


def settled(entries: list[dict[str, Any]], booking_ids: list[str]) -> list[dict[str, Any]] | None:
    """The payable entries of these bookings, once every one is transferred (or netted to 0)."""
    mine = [e for e in entries if e["booking_id"] in booking_ids and e["kind"] == "payable"]
    done = all(e["state"] in ("transferred", "netted", "settled") for e in mine)
    return mine if done and {e["booking_id"] for e in mine} == set(booking_ids) else None


def dispute_books(system: System, du: str, *, lost: bool) -> dict[str, int] | None:
    """What finance booked for a dispute, by what it is (None until the outcome is), as
    `GET /v1/ledger/disputes/{id}` shows it."""
    with system.client("finance") as finance:
        answer = finance.get(f"/v1/ledger/disputes/{du}")
    if answer.status_code == 404:
        return None
    assert answer.status_code == 200, answer.text
    books: dict[str, int] = {
        "withdrawn": 0,
        "fee": 0,
        "reinstated": 0,
        "host_loss": 0,
        "platform_loss": 0,
    }
    for journal in answer.json()["journals"]:
        for posting in journal["postings"]:
            account, amount = posting["account"], posting["amount"]
            if journal["kind"] == "dispute_funds_withdrawn" and account == "asset:disputed_funds":
                books["withdrawn"] += amount
            elif journal["kind"] == "dispute_fee" and account == "expense:stripe_dispute_fees":
                books["fee"] += amount
            elif (
                journal["kind"] == "dispute_funds_reinstated" and account == "asset:disputed_funds"
            ):
                books["reinstated"] -= amount
            elif journal["kind"] == "dispute_loss" and amount > 0:
                side = "platform_loss" if account == "expense:dispute_losses" else "host_loss"
                books[side] += amount
    if not books["withdrawn"]:
        return None
    if lost and not (books["host_loss"] or books["platform_loss"]):
        return None
    if not lost and not books["reinstated"]:
        return None
    return books


def receivables(system: System, hosts: list[str]) -> int:
    with system.client("finance") as finance:
        balance = finance.get("/v1/ledger/trial-balance").json()
    return sum(
        a["balance"]
        for a in balance["accounts"]
        if any(a["account"] == f"asset:host_receivable:{h}" for h in hosts)
    )


def replay_webhooks(system: System, du: str, *, backwards: bool) -> None:
    """Post every Stripe event of the dispute to payments again, signed as Stripe signs them
    (payments down: the posts fail, as Stripe's deliveries would)."""
    with s.stripe(system) as stripe:
        events = [
            e
            for e in s.every(stripe, "/v1/events")
            if re.match(r"charge\.dispute\.", e["type"]) and e["data"]["object"]["id"] == du
        ]
    assert events
    events.sort(key=lambda e: e["created"], reverse=backwards)
    url = system.env["STRIPESIM_WEBHOOK_URL"]
    for event in events:
        payload = json.dumps(event).encode()
        now = int(time.time())
        headers = {
            "Stripe-Signature": stripe_signature(payload, WEBHOOK_SECRET, now),
            "Content-Type": "application/json",
        }
        try:
            answer = httpx.post(url, content=payload, headers=headers, timeout=10)
        except httpx.HTTPError:
            continue
        assert answer.status_code < 500, answer.text


def dispute_sources(system: System) -> set[str]:
    with s.stripe(system) as stripe:
        made = s.every(stripe, "/v1/balance_transactions")
    return {t["source"] for t in made if str(t["source"]).startswith("du_")}


def sign(signing_url: str) -> None:
    """The guest signs on the built-in signing page."""
    page = httpx.get(signing_url, timeout=10)
    assert page.status_code == 200, page.text
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    digest = re.search(r'name="digest" value="([^"]+)"', page.text)
    assert token and digest, page.text[:500]
    posted = httpx.post(
        signing_url.split("?")[0],
        data={"token": token.group(1), "digest": digest.group(1), "action": "sign"},
        timeout=10,
    )
    assert posted.status_code == 200, posted.text
