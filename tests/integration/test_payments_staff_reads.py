"""Payments' staff read API over HTTP (the real routes, in process, on the test database):
staff and services read; nobody without a token, no guest or host; refunds need a filter."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from types import SimpleNamespace

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from eventkit import http_errors
from eventkit.auth import DEV_JWT_SECRET, issue_token, service_token
from eventkit.db import create_pool
from payments.entrypoints import staff_http
from tests.conftest import service_dsn

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(pg_ready: None) -> AsyncIterator[tuple[httpx.AsyncClient, asyncpg.Pool]]:
    pool = await create_pool(service_dsn("payments"), min_size=1, max_size=2)
    app = FastAPI()
    http_errors.install(app)
    staff_http.install(app)
    app.state.jwt_secret = DEV_JWT_SECRET
    app.state.runtime = SimpleNamespace(db=pool)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://payments") as http:
        yield http, pool
    await pool.close()


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_staff_read_payments_and_others_are_refused(
    client: tuple[httpx.AsyncClient, asyncpg.Pool],
) -> None:
    http, pool = client
    booking, payment = f"bk_{uuid.uuid4().hex[:10]}", f"pay_{uuid.uuid4().hex[:10]}"
    await pool.execute(
        "INSERT INTO payments.payments (payment_id, booking_id, guest_id, amount, platform_fee, "
        "currency, host_account_id, payment_method, status, correlation_id) "
        "VALUES ($1, $2, 'guest-1', 5000, 500, 'eur', 'acct_h', 'pm_card_visa', 'authorized', $3)",
        payment, booking, uuid.uuid4(),
    )  # fmt: skip
    trust = _as(issue_token(DEV_JWT_SECRET, "tom", "trust"))
    found = await http.get(f"/v1/payments/{payment}", headers=trust)
    assert found.status_code == 200
    assert (found.json()["booking_id"], found.json()["amount"]) == (booking, 5000)
    ops = _as(service_token(DEV_JWT_SECRET, "ops"))
    listed = await http.get("/v1/payments", params={"booking_id": booking}, headers=ops)
    assert [p["payment_id"] for p in listed.json()] == [payment]
    none = await http.get("/v1/refunds", params={"booking_id": booking}, headers=ops)
    assert none.json() == []
    # A group's payment says what it was for as its facts do, not its per-booking slot.
    group, grouped = f"grp_{uuid.uuid4().hex[:10]}", f"pay_{uuid.uuid4().hex[:10]}"
    await pool.execute(
        "INSERT INTO payments.payments (payment_id, booking_id, group_id, payment_purpose, "
        "guest_id, amount, platform_fee, currency, host_account_id, payment_method, status, "
        "correlation_id) VALUES ($1, $2, $2, 'group_checkout', 'guest-1', 9000, 900, 'eur', "
        "'acct_h', 'pm_card_visa', 'captured', $3)",
        grouped, group, uuid.uuid4(),
    )  # fmt: skip
    of_group = await http.get("/v1/payments", params={"booking_id": group}, headers=ops)
    assert [(p["payment_id"], p["purpose"]) for p in of_group.json()] == [
        (grouped, "group_checkout")
    ]

    missing = await http.get("/v1/payments/pay_nope", headers=trust)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "payment_not_found")
    unfiltered = await http.get("/v1/refunds", headers=trust)
    assert (unfiltered.status_code, unfiltered.json()["error"]["code"]) == (
        422,
        "validation_failed",
    )
    anonymous = await http.get(f"/v1/payments/{payment}")
    assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (401, "unauthenticated")
    guest = _as(issue_token(DEV_JWT_SECRET, "guest-1", "guest"))
    refused = await http.get(f"/v1/payments/{payment}", headers=guest)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
