"""Checkouts in flight survive a broker killed with SIGKILL and restarted, and every service's
database connections being terminated (what a Postgres restart does to them): every saga ends
captured, and nothing is dead-lettered."""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
import httpx
import pytest

from tests.conftest import service_dsn
from tests.e2e.conftest import SERVICES, System
from tests.e2e.test_instant_book import slot, wait_for_booking
from tests.support import read_topic
from tests.support.private_kafka import PrivateKafka

pytestmark = pytest.mark.e2e


async def _terminate_service_backends() -> int:
    """Every backend of every service role in the test database (pools, relays, listeners),
    as a Postgres restart would end them; other databases on the shared cluster are untouched."""
    killed = 0
    for service in SERVICES:
        conn = await asyncpg.connect(service_dsn(service))
        try:
            killed += await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND usename = current_user "
                "AND pid <> pg_backend_pid()"
            )
        finally:
            await conn.close()
    return killed


def _checkout(guest: httpx.Client) -> str:
    response = guest.post(
        "/v1/bookings",
        json={"listing_id": "lst_loft_01", **slot(1), "payment_method": "pm_card_visa"},
    )
    assert response.status_code == 202, response.text
    return str(response.json()["booking_id"])


def _wait_listed(guest: httpx.Client) -> None:
    deadline = time.monotonic() + 60
    while not any(i["listing_id"] == "lst_loft_01" for i in guest.get("/v1/listings").json()):
        assert time.monotonic() < deadline, "seeded listings never replicated"
        time.sleep(0.2)


def test_sagas_in_flight_survive_a_broker_kill_and_broken_database_connections(
    outage_system: System, private_kafka: PrivateKafka
) -> None:
    guest = outage_system.client("booking", sub=f"guest-outage-{uuid.uuid4().hex[:6]}")
    _wait_listed(guest)
    ids = [_checkout(guest) for _ in range(4)]
    private_kafka.kill9()  # mid-sagas: some requested, some authorized, some captured
    ids += [_checkout(guest) for _ in range(3)]  # accepted into the outbox meanwhile
    assert asyncio.run(_terminate_service_backends()) > 0
    private_kafka.start()
    ids += [_checkout(guest) for _ in range(3)]
    assert asyncio.run(_terminate_service_backends()) > 0  # again, with sagas moving

    for booking_id in ids:
        done = wait_for_booking(
            guest, booking_id, lambda b: b["payment_status"] == "captured", timeout=180
        )
        assert done["status"] == "confirmed"
    for service in SERVICES:
        health = httpx.get(f"{outage_system.urls[service]}/healthz", timeout=5).json()
        assert health["consumer"].get("dead_lettered", 0) == 0, health
        dead = asyncio.run(read_topic(private_kafka.bootstrap, f"{service}.dlt"))
        assert dead == [], f"{service} dead-lettered {len(dead)} records"
