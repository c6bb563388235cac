"""Malformed and extreme input to finance's HTTP API, on the real routes and the test database:
NUL and other control characters, integers beyond int64, dates outside the years 2000-2199 and
forged cursors are refused with 422 `validation_failed` (never a 500, and nothing stored); an
acknowledgement must name a day that has begun and an exception that exists, in its currency."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from tests.support.finance_queue import (
    QueueHarness,
    finance_api,
    finance_pool,
    open_books,
    unused_currency,
)

pytestmark = pytest.mark.integration
BIG = 2**63  # int64's largest + 1
YESTERDAY = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()


@pytest.fixture
async def pool(pg_ready: None) -> AsyncIterator[asyncpg.Pool]:
    async with finance_pool() as pool:
        yield pool


@pytest.fixture
async def api(pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    q = QueueHarness(pool)
    try:
        async with finance_api(pool, q) as client:
            yield client
    finally:
        await q.close()


def _ack(**fields: Any) -> dict[str, Any]:
    return {"item": "stripe_pending", "amount": 0, "note": "checked", **fields}


REFUSED: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", f"/v1/reconciliation/exceptions?after={BIG}", None),
    ("POST", f"/v1/reconciliation/exceptions/{BIG}/resolve", {"note": "x"}),
    ("POST", "/v1/reconciliation/exceptions/0/resolve", {"note": "x"}),
    ("POST", "/v1/reconciliation/exceptions/1/resolve", {"note": "a\u0000b"}),
    ("POST", f"/v1/closes/{YESTERDAY}/usd/acknowledgements", _ack(amount=BIG)),
    ("POST", f"/v1/closes/{YESTERDAY}/usd/acknowledgements", _ack(amount=-BIG - 1)),
    ("POST", f"/v1/closes/{YESTERDAY}/usd/acknowledgements", _ack(amount=True)),
    ("POST", f"/v1/closes/{YESTERDAY}/usd/acknowledgements", _ack(note="\u0000")),
    ("POST", f"/v1/closes/{YESTERDAY}/usd/acknowledgements", _ack(item="exception:" + "9" * 20)),
    ("POST", "/v1/closes/0001-01-01/usd/acknowledgements", _ack()),
    ("POST", "/v1/closes", {"business_date": "0001-01-01", "currency": "usd"}),
    ("POST", "/v1/closes", {"business_date": "2999-01-01", "currency": "usd"}),
    ("GET", "/v1/closes/0001-01-01/usd", None),
    ("GET", "/v1/payouts/queue?cursor=%00", None),
    ("GET", "/v1/payouts/queue?due_before=2026-01-01T00:00:00", None),
    ("GET", "/v1/payouts/queue?due_before=9999-01-01T00:00:00%2B00:00", None),
    ("PUT", "/v1/payouts/hosts/acct_edge", {"risk_tier": "a\u0000"}),
    ("PUT", "/v1/payouts/hosts/acct_edge", {"payout_delay_hours": True}),
    ("PUT", "/v1/payouts/hosts/acct_edge", {"payout_delay_hours": "5"}),
    ("POST", "/v1/payouts/reserve-policies", {"policy_id": "p", "kind": "fixed", "fixed_amount": BIG}),
    ("POST", "/v1/payouts/reserve-policies", {"policy_id": "p", "kind": "fixed", "currency": "a\u0000b"}),
    ("POST", "/v1/payouts/queue/x/hold", {"note": "\u0000"}),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body"), REFUSED)
async def test_malformed_and_extreme_input_is_refused_with_a_code(
    api: httpx.AsyncClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    answer = await api.request(method, path, json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "validation_failed", answer.text


async def test_an_acknowledgement_names_a_day_begun_and_an_exception_of_its_currency(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    currency = await unused_currency(pool)
    exception_id = await pool.fetchval(
        "INSERT INTO finance.recon_exceptions (kind, object_id, currency, detail, raised_at) "
        "VALUES ('missing_in_ledger', $1, 'usd', 'edge test', now()) RETURNING exception_id",
        f"ch_{uuid.uuid4().hex}",
    )
    acks = f"/v1/closes/{YESTERDAY}/{currency}/acknowledgements"
    for item in (f"exception:{2**63 - 1}", f"exception:{exception_id}"):  # none; another currency
        refused = await api.post(acks, json=_ack(item=item))
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "unknown_close_item", refused.text
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    future = await api.post(f"/v1/closes/{tomorrow}/{currency}/acknowledgements", json=_ack())
    assert (future.status_code, future.json()["error"]["code"]) == (409, "day_not_over")
    stored = await pool.fetchval(
        "SELECT count(*) FROM finance.close_acknowledgements WHERE currency = $1", currency
    )
    assert stored == 0
    never_held = await api.post(acks, json=_ack())
    assert (never_held.status_code, never_held.json()["error"]["code"]) == (409, "before_first_day")
    await open_books(pool, currency, date.fromisoformat(YESTERDAY))
    accepted = await api.post(acks, json=_ack())
    assert accepted.status_code == 200, accepted.text


@pytest.mark.parametrize(
    "path", ["/v1/payables/", "/v1/ledger/bookings/..%2f", "/v1/payouts/queue/"]
)
async def test_a_path_with_a_trailing_slash_is_not_found_not_redirected(
    api: httpx.AsyncClient, path: str
) -> None:
    answer = await api.get(path)
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, "not_found"), answer.text
