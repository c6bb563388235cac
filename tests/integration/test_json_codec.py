"""Every service's pool (eventkit.db) reads json/jsonb as Python values, and what the services
write through it is stored as JSON objects and arrays, never as a JSON string of encoded text."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from booking.adapters import repository as booking_db
from eventkit import scheduler
from eventkit.db import connect, create_pool
from ops.adapters import mutations_repository as ops_db
from payments.adapters.webhook_repository import WebhooksRepository
from tests.conftest import service_dsn

pytestmark = pytest.mark.integration


@pytest.fixture
async def pools(pg_ready: None) -> AsyncIterator[dict[str, asyncpg.Pool]]:
    found = {s: await create_pool(service_dsn(s), min_size=1, max_size=1) for s in SERVICES}
    yield found
    for pool in found.values():
        await pool.close()


SERVICES = ("booking", "payments", "finance", "disputes", "ops")


@pytest.mark.parametrize("service", SERVICES)
async def test_a_service_pool_reads_json_and_jsonb_as_python_values(
    pools: dict[str, asyncpg.Pool], service: str
) -> None:
    value = {"b": [1, {"c": None}], "a": "x"}
    pool = pools[service]
    assert await pool.fetchval("SELECT $1::jsonb", value) == value
    assert await pool.fetchval("""SELECT '{"z": 1, "a": [true]}'::json""") == {
        "z": 1,
        "a": [True],
    }
    assert await pool.fetchval("SELECT jsonb_typeof($1::jsonb)", value) == "object"
    with pytest.raises(
        asyncpg.DataError, match="pass the value itself"
    ):  # else stored as a JSON string
        await pool.fetchval("SELECT $1::jsonb", '{"a": 1}')


async def test_a_single_connection_of_eventkit_has_the_codec_too(pg_ready: None) -> None:
    """The relay's own connection and the CLIs' come from eventkit.db.connect."""
    conn = await connect(service_dsn("booking"))
    try:
        assert await conn.fetchval("SELECT '[1, 2]'::jsonb") == [1, 2]
    finally:
        await conn.close()


async def _scheduled(conn: asyncpg.Connection) -> str:
    subject = f"codec-{uuid.uuid4().hex[:8]}"
    due = datetime.now(UTC) + timedelta(days=1)
    await scheduler.schedule(conn, "booking", "test.codec", subject, due, {"attempt": 1})
    return await _typeof(
        conn,
        "SELECT jsonb_typeof(payload) FROM booking.scheduled_jobs WHERE subject_id = $1",
        subject,
    )


async def _policy(conn: asyncpg.Connection) -> str:
    name = f"codec-{uuid.uuid4().hex[:8]}"
    await booking_db.insert_policy(conn, {"name": name, "version": 1, "bands": []})
    assert (await booking_db.latest_policy(conn, name)) == {"name": name, "version": 1, "bands": []}
    return await _typeof(
        conn,
        "SELECT jsonb_typeof(definition) FROM booking.cancellation_policies WHERE name = $1",
        name,
    )


async def _stripe_event(conn: asyncpg.Connection) -> str:
    event = {"id": f"evt_{uuid.uuid4().hex}", "type": "charge.updated", "data": {"object": {}}}
    assert await WebhooksRepository(conn).store_event(event)
    return await _typeof(
        conn,
        "SELECT jsonb_typeof(payload) FROM payments.stripe_webhook_events "
        "WHERE stripe_event_id = $1",
        event["id"],
    )


async def _staff_mutation(conn: asyncpg.Connection) -> str:
    token = f"codec-{uuid.uuid4().hex}"
    assert await ops_db.claim(conn, token, "test.codec", "tester", {"entry_id": "e1"})
    earlier = await ops_db.earlier(conn, token, {"entry_id": "e1"})
    assert earlier is not None and earlier["same_request"]
    return await _typeof(
        conn, "SELECT jsonb_typeof(request) FROM ops.mutations WHERE token = $1", token
    )


async def _typeof(conn: asyncpg.Connection, query: str, *args: Any) -> str:
    found: str = await conn.fetchval(query, *args)
    return found


WRITES: dict[str, tuple[str, Callable[[asyncpg.Connection], Awaitable[str]]]] = {
    "eventkit scheduler payload": ("booking", _scheduled),
    "booking cancellation policy": ("booking", _policy),
    "payments stripe event": ("payments", _stripe_event),
    "ops mutation request": ("ops", _staff_mutation),
}


@pytest.mark.parametrize("write", list(WRITES))
async def test_what_a_service_writes_is_stored_as_a_json_object(
    pools: dict[str, asyncpg.Pool], write: str
) -> None:
    """Rolled back: the rows are only looked at inside the transaction that wrote them."""
    service, run = WRITES[write]
    async with pools[service].acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            assert await run(conn) == "object"
        finally:
            await transaction.rollback()
