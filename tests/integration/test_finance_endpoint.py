"""Finance's one endpoint dependency (finance/entrypoints/staff.py over eventkit.endpoint), on
the real routes and the test database: a command under an Idempotency-Key runs once and its
answer (or refusal) is replayed; the key with another request is refused; keys are the
caller's own; a caller the route does not admit leaves nothing behind."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import HTTPException

from eventkit import idempotency
from tests.support.finance_queue import (
    QueueHarness,
    bearer,
    entry_id,
    finance_api,
    finance_pool,
)

pytestmark = pytest.mark.integration
NOTE = {"note": "checking a complaint"}
REPLAYED = "Idempotent-Replayed"


def keyed(key: str, **headers: str) -> dict[str, str]:
    return {"Idempotency-Key": key, **headers}


@pytest.fixture
async def pool(pg_ready: None) -> AsyncIterator[asyncpg.Pool]:
    async with finance_pool() as pool:
        yield pool


@pytest.fixture
async def q(pool: asyncpg.Pool) -> AsyncIterator[QueueHarness]:
    harness = QueueHarness(pool)
    yield harness
    await harness.close()


@pytest.fixture
async def api(pool: asyncpg.Pool, q: QueueHarness) -> AsyncIterator[httpx.AsyncClient]:
    async with finance_api(pool, q) as client:
        yield client


async def _stored(pool: asyncpg.Pool, key: str) -> int:
    count: int = await pool.fetchval(
        "SELECT count(*) FROM finance.idempotency_keys WHERE key = $1", key
    )
    return count


async def test_a_replayed_key_serves_the_first_answer_and_does_not_act_again(
    q: QueueHarness, api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    checkout, captured = q.booking()
    await q.deliver(checkout, captured)
    entry = f"/v1/payouts/queue/{entry_id(captured)}"
    assert (await api.post(f"{entry}/hold", json=NOTE)).json()["state"] == "held"
    key = f"k-{uuid.uuid4()}"
    first = await api.post(f"{entry}/unhold", json=NOTE, headers=keyed(key))
    again = await api.post(f"{entry}/unhold", json=NOTE, headers=keyed(key))
    assert first.status_code == 200 and first.json()["state"] != "held"
    assert REPLAYED not in first.headers
    assert (again.status_code, again.json(), again.headers[REPLAYED]) == (200, first.json(), "true")
    # Run again, the unhold is refused: the replay above did not run it.
    unkeyed = await api.post(f"{entry}/unhold", json=NOTE)
    assert (unkeyed.status_code, unkeyed.json()["error"]["code"]) == (409, "illegal_transition")
    history = (await api.get(entry)).json()["history"]
    assert [h["trigger"] for h in history].count("unhold") == 1
    assert await _stored(pool, key) == 1


async def test_the_key_with_another_body_is_refused_with_a_code(
    q: QueueHarness, api: httpx.AsyncClient
) -> None:
    checkout, captured = q.booking()
    await q.deliver(checkout, captured)
    hold = f"/v1/payouts/queue/{entry_id(captured)}/hold"
    key = f"k-{uuid.uuid4()}"
    assert (await api.post(hold, json=NOTE, headers=keyed(key))).status_code == 200
    other = await api.post(hold, json={"note": "another reason"}, headers=keyed(key))
    assert (other.status_code, other.json()["error"]["code"]) == (422, "idempotency_key_reused")


async def test_a_refusal_under_a_key_is_replayed_even_once_the_command_would_succeed(
    api: httpx.AsyncClient,
) -> None:
    policy = f"pol_{uuid.uuid4().hex[:8]}"
    assign = {"scope": "host", "scope_key": f"acct_{uuid.uuid4().hex[:8]}", "policy_id": policy}
    key = f"k-{uuid.uuid4()}"
    url = "/v1/payouts/reserve-policies/assignments"
    refused = await api.put(url, json=assign, headers=keyed(key))
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "unknown_reserve_policy")
    created = await api.post(
        "/v1/payouts/reserve-policies",
        json={"policy_id": policy, "kind": "rolling_percent", "percent_bps": 500, "hold_days": 5},
    )
    assert created.status_code == 201, created.text
    again = await api.put(url, json=assign, headers=keyed(key))
    assert (again.status_code, again.json(), again.headers[REPLAYED]) == (
        422,
        refused.json(),
        "true",
    )
    assert (await api.put(url, json=assign)).json() == assign  # unkeyed, it is done now
    keyless = await api.put(url, json={**assign, "scope_key": ""})  # the policy exists
    assert (keyless.status_code, keyless.json()["error"]["code"]) == (
        422,
        "invalid_reserve_policy",
    )


async def test_keys_are_the_callers_own(api: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    host = f"/v1/payouts/hosts/acct_{uuid.uuid4().hex[:8]}"
    key = f"k-{uuid.uuid4()}"
    alice = await api.put(
        host, json={"risk_tier": "a"}, headers=keyed(key, **bearer(sub="alice@example.com"))
    )
    bob = await api.put(
        host, json={"risk_tier": "b"}, headers=keyed(key, **bearer(sub="bob@example.com"))
    )
    assert (alice.json()["updated_by"], bob.json()["updated_by"]) == (
        "alice@example.com",
        "bob@example.com",
    )
    assert REPLAYED not in bob.headers
    assert await _stored(pool, key) == 2


async def test_a_caller_the_route_does_not_admit_is_refused_before_anything_is_kept(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    host = f"/v1/payouts/hosts/acct_{uuid.uuid4().hex[:8]}"
    key = f"k-{uuid.uuid4()}"
    for role, status, code in (("guest", 403, "forbidden"), ("trust", 403, "forbidden")):
        refused = await api.put(host, json={"risk_tier": "a"}, headers=keyed(key, **bearer(role)))
        assert (refused.status_code, refused.json()["error"]["code"]) == (status, code)
    anonymous = await api.put(host, json={"risk_tier": "a"}, headers=keyed(key, Authorization=""))
    assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (401, "unauthenticated")
    assert await _stored(pool, key) == 0


async def test_work_with_transactions_of_its_own_runs_once_per_key(pool: asyncpg.Pool) -> None:
    """A close or a reconciliation run commits as it goes: its answer is kept once it is done,
    and a refusal is kept as the error body."""
    store = idempotency.Store("finance")
    runs: list[int] = []

    async def work() -> dict[str, Any]:
        runs.append(1)
        return {"closes": len(runs)}

    async def refuse() -> dict[str, Any]:
        raise HTTPException(409, {"code": "close_blocked", "message": "not yet"})

    key = idempotency.Key.of("ops@example.com", f"k-{uuid.uuid4()}", "POST", "/v1/closes", {})
    async with pool.acquire() as conn:
        first = await idempotency.run_outside(conn, store, key, 200, work)
        again = await idempotency.run_outside(conn, store, key, 200, work)
        assert (first.body, first.replayed, again.body, again.replayed) == (
            {"closes": 1},
            False,
            {"closes": 1},
            True,
        )
        assert runs == [1]
        other = idempotency.Key.of("ops@example.com", f"k-{uuid.uuid4()}", "POST", "/x", {})
        refused = await idempotency.run_outside(conn, store, other, 200, refuse)
        replayed = await idempotency.run_outside(conn, store, other, 200, work)
    assert refused.refusal is not None and refused.status == 409
    assert (replayed.status, replayed.body, replayed.replayed) == (409, refused.body, True)
    assert replayed.body == {"error": {"code": "close_blocked", "message": "not yet"}}
