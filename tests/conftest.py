"""Shared fixtures: addresses come from the environment (`make test` sets them)."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from eventkit.db import create_pool
from tests.support.poll import eventually

KAFKA = os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:19092")
TEST_DB = os.environ.get("MP_TEST_DB", "marketplace_test")
PG_HOST = os.environ.get("MP_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("MP_PG_PORT", "5432"))


def service_dsn(service: str, database: str = TEST_DB) -> str:
    role = f"{service}_svc"
    return f"postgresql://{role}:{role}@{PG_HOST}:{PG_PORT}/{database}"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    host, port = KAFKA.rsplit(":", 1)
    if not _reachable(host, int(port)):
        pytest.fail(f"Kafka is not reachable at {KAFKA}: run the tests with `make test`")
    return KAFKA


@pytest.fixture(scope="session")
def pg_ready() -> None:
    if not _reachable(PG_HOST, PG_PORT):
        pytest.fail(f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT}: use `make test`")


@pytest.fixture
async def booking_pool(pg_ready: None) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(service_dsn("booking"), min_size=1, max_size=10)
    assert pool is not None
    yield pool
    await pool.close()


async def create_topic(bootstrap: str, name: str, partitions: int = 3) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1)])
        # Created is not yet writable: the first produce waits until every partition has a
        # leader in the broker's metadata.
        await eventually(
            lambda: _led_partitions(admin, name),
            lambda led: led == partitions,
            timeout=30,
            interval=0.05,
            what=f"every partition of {name} led",
        )
    finally:
        await admin.close()


async def _led_partitions(admin: AIOKafkaAdminClient, name: str) -> int:
    [topic] = await admin.describe_topics([name])
    if topic["error_code"]:
        return 0
    return sum(1 for p in topic["partitions"] if p["error_code"] == 0 and p["leader"] >= 0)


@pytest.fixture
async def scratch_tables(booking_pool: asyncpg.Pool) -> AsyncIterator[tuple[str, str, str]]:
    """Private outbox/inbox/effects tables in the booking schema, dropped afterwards."""
    tag = f"t{uuid.uuid4().hex[:10]}"
    outbox, inbox, effects = f"{tag}_outbox", f"{tag}_inbox", f"{tag}_effects"
    async with booking_pool.acquire() as conn:
        await conn.execute(f"CREATE TABLE booking.{outbox} (LIKE booking.outbox INCLUDING ALL)")
        await conn.execute(f"CREATE TABLE booking.{inbox} (LIKE booking.inbox INCLUDING ALL)")
        await conn.execute(
            f"CREATE TABLE booking.{effects} (id bigserial PRIMARY KEY, event_id uuid NOT NULL, "
            "key text NOT NULL, seq integer NOT NULL)"
        )
        # Same notify trigger as the real outbox, on the scratch table's own channel.
        await conn.execute(
            f"CREATE FUNCTION booking.{tag}_notify() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN PERFORM pg_notify('{tag}_outbox', ''); RETURN NULL; END $$"
        )
        await conn.execute(
            f"CREATE TRIGGER {tag}_notify AFTER INSERT ON booking.{outbox} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION booking.{tag}_notify()"
        )
    yield outbox, inbox, effects
    async with booking_pool.acquire() as conn:
        for table in (outbox, inbox, effects):
            await conn.execute(f"DROP TABLE IF EXISTS booking.{table}")
        await conn.execute(f"DROP FUNCTION IF EXISTS booking.{tag}_notify()")
