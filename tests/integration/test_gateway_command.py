"""The gateway's one command dependency (booking/entrypoints/command.py): the role is checked
before anything runs, an Idempotency-Key replays the first answer (a refusal too) and refuses a
different body, and the answer served is the route's response model, replay included.

The gateway runs in process (HTTP + database, no lifespan), as in test_gateway_edge.py.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest

from booking.bootstrap import build_app, build_runtime
from booking.config import BookingSettings
from booking.entrypoints.auth import Role, issue_token
from booking.features.cancellations.schemas import PolicyOut
from booking.features.checkout.schemas import QuoteOut

pytestmark = pytest.mark.integration
SECRET = "command-dependency-secret-long-enough"
START = (datetime.now(UTC) + timedelta(days=30)).replace(hour=10, minute=0, second=0, microsecond=0)


@pytest.fixture
async def gateway(booking_pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(build_runtime(BookingSettings(jwt_secret=SECRET)))
    app.state.runtime = SimpleNamespace(db=booking_pool)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


@pytest.fixture
async def listing(booking_pool: asyncpg.Pool) -> str:
    listing_id = f"lst_cmd_{uuid.uuid4().hex[:8]}"
    await booking_pool.execute(
        "INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, hourly_rate,"
        " currency, platform_fee_bps, cancellation_policy) "
        "VALUES ($1, 'host-cmd', 'acct_cmd', 'Command', 4500, 'usd', 1000, 'flexible')",
        listing_id,
    )
    return listing_id


def headers(sub: str, role: Role = Role.GUEST, key: str | None = None) -> dict[str, str]:
    found = {"Authorization": f"Bearer {issue_token(SECRET, sub, role)}"}
    return found if key is None else {**found, "Idempotency-Key": key}


def quote(listing: str, hours: int = 2) -> dict[str, Any]:
    return {
        "listing_id": listing,
        "starts_at": START.isoformat(),
        "ends_at": (START + timedelta(hours=hours)).isoformat(),
    }


async def quotes_of(pool: asyncpg.Pool, guest: str) -> int:
    count: int = await pool.fetchval(
        "SELECT count(*) FROM booking.quotes WHERE guest_id = $1", guest
    )
    return count


async def test_a_key_replays_the_first_answer_and_runs_the_work_once(
    gateway: httpx.AsyncClient, booking_pool: asyncpg.Pool, listing: str
) -> None:
    guest, key = f"guest-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    first = await gateway.post("/v1/quotes", json=quote(listing), headers=headers(guest, key=key))
    again = await gateway.post("/v1/quotes", json=quote(listing), headers=headers(guest, key=key))

    assert first.status_code == again.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert await quotes_of(booking_pool, guest) == 1


async def test_the_same_key_with_another_body_is_refused(
    gateway: httpx.AsyncClient, listing: str
) -> None:
    guest, key = f"guest-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    await gateway.post("/v1/quotes", json=quote(listing), headers=headers(guest, key=key))
    other = await gateway.post(
        "/v1/quotes", json=quote(listing, hours=3), headers=headers(guest, key=key)
    )

    assert other.status_code == 422, other.text
    assert other.json()["error"]["code"] == "idempotency_key_reused"


async def test_a_refusal_under_a_key_is_replayed_too(gateway: httpx.AsyncClient) -> None:
    guest, key = f"guest-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    body = quote(f"lst_missing_{uuid.uuid4().hex[:8]}")
    first = await gateway.post("/v1/quotes", json=body, headers=headers(guest, key=key))
    again = await gateway.post("/v1/quotes", json=body, headers=headers(guest, key=key))

    assert first.status_code == again.status_code == 404, first.text
    assert first.json()["error"]["code"] == "listing_not_found"
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"


async def test_a_caller_of_another_role_is_refused_before_anything_runs(
    gateway: httpx.AsyncClient, booking_pool: asyncpg.Pool, listing: str
) -> None:
    host = f"host-{uuid.uuid4().hex[:8]}"
    refused = await gateway.post(
        "/v1/quotes", json=quote(listing), headers=headers(host, Role.HOST, key="k")
    )

    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "forbidden"
    assert await quotes_of(booking_pool, host) == 0
    stored = await booking_pool.fetchval(
        "SELECT count(*) FROM booking.idempotency_keys WHERE principal = $1", f"host:{host}"
    )
    assert stored == 0


async def test_the_answer_and_its_replay_are_the_response_model(
    gateway: httpx.AsyncClient, listing: str
) -> None:
    admin, key = f"admin-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    policy = {
        "name": f"cmd-{uuid.uuid4().hex[:8]}",
        "bands": [{"hours_before": 48, "refund_bps": 5000}],
    }
    first = await gateway.post(
        "/v1/cancellation-policies", json=policy, headers=headers(admin, Role.ADMIN, key=key)
    )
    again = await gateway.post(
        "/v1/cancellation-policies", json=policy, headers=headers(admin, Role.ADMIN, key=key)
    )
    priced = await gateway.post(
        "/v1/quotes", json=quote(listing), headers=headers(f"guest-{uuid.uuid4().hex[:8]}")
    )

    assert first.status_code == again.status_code == 201, first.text
    assert set(first.json()) == set(PolicyOut.model_fields) == set(again.json())
    assert first.json()["version"] == 1
    assert priced.status_code == 201, priced.text
    assert set(priced.json()) == set(QuoteOut.model_fields)
