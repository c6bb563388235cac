"""What booking publishes for a dispute's evidence (issue 12), through the gateway on the real
database: the checkout's client IP (X-Forwarded-For honoured only for BOOKING_FORWARDED_FOR_HOPS
trusted proxies) and User-Agent, the cancellation policy and quote accepted; and, once every
document is signed on the built-in provider's page, booking.signatures_completed with the
signature's audit trail (hash, signer, time, IP, User-Agent), emitted once."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest

from booking.adapters.esign.base import sha256_hex
from booking.bootstrap import build_app, build_runtime
from booking.config import BookingSettings
from booking.entrypoints.auth import Role, issue_token
from booking.features.documents.timers import CREATE_ENVELOPE, create_envelope
from eventkit.outbox import Outbox
from eventkit.runtime import ServiceRuntime
from eventkit.scheduler import Scheduler
from marketplace_contracts.events.booking import (
    CheckoutRequestedV1,
    GroupCheckoutRequestedV1,
    SignaturesCompletedV1,
)

pytestmark = pytest.mark.integration
SECRET = "evidence-test-jwt-secret-long-enough-0123"
BROWSER = "Mozilla/5.0 (evidence-test)"
PROXY_CHAIN = "198.51.100.66, 203.0.113.9"  # a client's own claim, then what our proxy saw
DOCS = [
    {"document_id": "rental", "title": "Rental agreement", "text": "No parties."},
    {"document_id": "waiver", "title": "Waiver", "text": "I waive."},
]


async def _gateway(pool: asyncpg.Pool, hops: int) -> tuple[ServiceRuntime, httpx.AsyncClient]:
    runtime = build_runtime(BookingSettings(jwt_secret=SECRET, forwarded_for_hops=hops))
    runtime.pool = pool  # HTTP, the signing page and jobs only: no consumers, no relay
    app = build_app(runtime)
    app.state.runtime = runtime
    transport = httpx.ASGITransport(app=app, client=("10.0.0.5", 41000))  # the proxy's socket
    return runtime, httpx.AsyncClient(transport=transport, base_url="http://gateway")


@pytest.fixture
async def behind_proxy(booking_pool: asyncpg.Pool) -> AsyncIterator[tuple]:
    runtime, client = await _gateway(booking_pool, hops=1)
    async with client:
        yield runtime, client


async def _listing(pool: asyncpg.Pool, documents: list[dict[str, str]] | None = None) -> str:
    listing_id = f"lst_evd_{uuid.uuid4().hex[:8]}"
    await pool.execute(
        "INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, hourly_rate,"
        " currency, platform_fee_bps, cancellation_policy, cleaning_fee, guest_service_fee_bps,"
        " required_documents) VALUES ($1, 'host-evd', 'acct_evd', 'Evidence', 5000, 'usd', "
        "1000, 'moderate', 2000, 1000, $2::jsonb)",
        listing_id,
        documents or [],
    )
    return listing_id


def _guest(sub: str = "guest-evd") -> dict[str, str]:
    token = issue_token(SECRET, sub, Role.GUEST)
    return {
        "Authorization": f"Bearer {token}",
        "User-Agent": BROWSER,
        "X-Forwarded-For": PROXY_CHAIN,
    }


def _stay(day: int) -> dict[str, str]:
    soon = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=30)
    start = soon + timedelta(days=day)
    return {
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
    }


async def _published(pool: asyncpg.Pool, key: str, event_type: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT payload FROM booking.outbox WHERE key = $1 AND event_type = $2 ORDER BY id",
        key,
        event_type,
    )
    return [json.loads(bytes(r["payload"]))["data"] for r in rows]


async def test_a_checkout_request_carries_the_client_the_policy_and_the_quote(
    booking_pool: asyncpg.Pool, behind_proxy: tuple
) -> None:
    _, gateway = behind_proxy
    listing_id = await _listing(booking_pool)
    placed = await gateway.post(
        "/v1/bookings",
        json={"listing_id": listing_id, "payment_method": "pm_card_visa", **_stay(0)},
        headers=_guest(),
    )
    assert placed.status_code == 202, placed.text
    booking = placed.json()
    [data] = await _published(booking_pool, booking["booking_id"], CheckoutRequestedV1.TYPE)
    request = CheckoutRequestedV1.model_validate(data)
    # One trusted proxy: its entry (rightmost) counts; the client's own claim does not.
    assert request.client_ip == "203.0.113.9"
    assert request.user_agent == BROWSER
    assert request.cancellation_policy == booking["policy"]
    assert request.cancellation_policy is not None
    assert request.cancellation_policy["name"] == "moderate"
    assert [(q.code, q.amount) for q in request.quote_lines] == [
        (line["code"], line["amount"]) for line in booking["quote"]["lines"]
    ]
    assert {"base", "cleaning", "guest_service_fee"} <= {q.code for q in request.quote_lines}
    assert sum(q.amount for q in request.quote_lines) == request.amount


async def test_without_trusted_proxies_the_socket_peer_is_the_client(
    booking_pool: asyncpg.Pool,
) -> None:
    _, gateway = await _gateway(booking_pool, hops=0)
    listing_id = await _listing(booking_pool)
    async with gateway:
        placed = await gateway.post(
            "/v1/bookings",
            json={"listing_id": listing_id, "payment_method": "pm_card_visa", **_stay(1)},
            headers=_guest(),
        )
    assert placed.status_code == 202, placed.text
    [data] = await _published(booking_pool, placed.json()["booking_id"], CheckoutRequestedV1.TYPE)
    assert data["client_ip"] == "10.0.0.5"  # X-Forwarded-For ignored: anyone can send it


async def test_a_group_checkout_request_carries_the_client(
    booking_pool: asyncpg.Pool, behind_proxy: tuple
) -> None:
    _, gateway = behind_proxy
    first, second = await _listing(booking_pool), await _listing(booking_pool)
    placed = await gateway.post(
        "/v1/checkout-groups",
        json={
            "payment_method": "pm_card_visa",
            "legs": [{"listing_id": first, **_stay(2)}, {"listing_id": second, **_stay(2)}],
        },
        headers=_guest(),
    )
    assert placed.status_code == 202, placed.text
    [data] = await _published(
        booking_pool, placed.json()["group_id"], GroupCheckoutRequestedV1.TYPE
    )
    assert (data["client_ip"], data["user_agent"]) == ("203.0.113.9", BROWSER)


async def test_signing_every_document_publishes_the_audit_trail_once(
    booking_pool: asyncpg.Pool, behind_proxy: tuple
) -> None:
    runtime, gateway = behind_proxy
    listing_id = await _listing(booking_pool, DOCS)
    placed = await gateway.post(
        "/v1/bookings",
        json={"listing_id": listing_id, "payment_method": "pm_card_visa", **_stay(3)},
        headers=_guest(),
    )
    assert placed.status_code == 202, placed.text
    booking_id = placed.json()["booking_id"]
    provider = runtime.state["documents"].provider
    timers = Scheduler(
        "booking",
        {
            CREATE_ENVELOPE: partial(
                create_envelope, provider, Outbox("booking", producer="booking")
            )
        },
    )
    assert await timers.run_due(booking_pool) >= 1
    shown = await gateway.get(f"/v1/bookings/{booking_id}", headers=_guest())
    signing_url = urlsplit(shown.json()["signing_url"])
    token = parse_qs(signing_url.query)["token"][0]
    signer_headers = {"User-Agent": "SignerBrowser/2.0", "X-Forwarded-For": "192.0.2.44"}
    for _ in range(2):  # the second press finds it signed: nothing new is published
        signed = await gateway.post(
            signing_url.path, data={"action": "sign", "token": token}, headers=signer_headers
        )
        assert signed.status_code == 200, signed.text
    envelope_id = signing_url.path.rsplit("/", 1)[-1]
    await runtime.state["esign"].reconcile()  # a redelivered outcome changes nothing either

    [data] = await _published(booking_pool, booking_id, SignaturesCompletedV1.TYPE)
    completed = SignaturesCompletedV1.model_validate(data)
    assert (completed.guest_id, completed.provider) == ("guest-evd", "builtin")
    assert completed.envelope_id == envelope_id
    assert [d.document_id for d in completed.documents] == ["rental", "waiver"]
    assert [d.title for d in completed.documents] == ["Rental agreement", "Waiver"]
    for document, spec in zip(completed.documents, DOCS, strict=True):
        assert document.sha256 == sha256_hex(spec["text"].encode())
        assert document.signer_id == "guest-evd"
        assert document.ip_address == "192.0.2.44"  # the signing page honours the hops too
        assert document.user_agent == "SignerBrowser/2.0"
        assert abs(document.signed_at - datetime.now(UTC)) < timedelta(minutes=5)
    # Payment is asked for after the signatures, with the checkout's client (stored for it).
    [request] = await _published(booking_pool, booking_id, CheckoutRequestedV1.TYPE)
    assert (request["client_ip"], request["user_agent"]) == ("203.0.113.9", BROWSER)


async def test_an_accepted_smart_invite_carries_the_client_who_accepted(
    booking_pool: asyncpg.Pool, behind_proxy: tuple
) -> None:
    _, gateway = behind_proxy
    listing_id = await _listing(booking_pool)
    host = {"Authorization": f"Bearer {issue_token(SECRET, 'host-evd', Role.HOST)}"}
    stay = _stay(4)
    expires = datetime.fromisoformat(stay["starts_at"]) - timedelta(days=1)
    sent = await gateway.post(
        "/v1/invites",
        json={
            "guest_id": "guest-evd",
            "listing_id": listing_id,
            "amount": 9_000,
            "expires_at": expires.isoformat(),
            **stay,
        },
        headers=host,
    )
    assert sent.status_code == 201, sent.text
    accepted = await gateway.post(
        f"/v1/invites/{sent.json()['invite_id']}/accept",
        json={"payment_method": "pm_card_visa"},
        headers=_guest(),
    )
    assert accepted.status_code == 202, accepted.text
    [data] = await _published(booking_pool, accepted.json()["booking_id"], CheckoutRequestedV1.TYPE)
    assert (data["client_ip"], data["user_agent"]) == ("203.0.113.9", BROWSER)
    assert sum(line["amount"] for line in data["quote_lines"]) == data["amount"]
