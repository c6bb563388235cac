"""Checkouts in flight survive a broker killed with SIGKILL and restarted, every service's
database connections being terminated (what a Postgres restart does to them), and Postgres'
socket gone for seconds (a restart as the services see it: they reach Postgres over its Unix
socket, as under `make up`): every saga ends captured, nothing is dead-lettered, and a checkout
sent while the database is away is answered 503 `unavailable`, never 500."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import service_dsn
from tests.e2e.conftest import SERVICES, System
from tests.e2e.test_instant_book import slot, wait_for_booking
from tests.support import read_topic
from tests.support.pg_socket import SocketLink
from tests.support.poll import wait_until
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


def _post_checkout(guest: httpx.Client) -> httpx.Response:
    return guest.post(
        "/v1/bookings",
        json={"listing_id": "lst_loft_01", **slot(1), "payment_method": "pm_card_visa"},
    )


def _checkout(guest: httpx.Client) -> str:
    response = _post_checkout(guest)
    assert response.status_code == 202, response.text
    return str(response.json()["booking_id"])


def _database_away(guest: httpx.Client, pg_socket: SocketLink, seconds: float) -> None:
    """No socket file and every connection ended, for longer than an event's five attempts
    would last; every checkout sent meanwhile is refused 503 with `Retry-After`."""
    pg_socket.cut()
    try:
        assert asyncio.run(_terminate_service_backends()) > 0
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            refused = _post_checkout(guest)
            assert refused.status_code == 503, refused.text
            assert refused.json()["error"]["code"] == "unavailable"
            assert refused.headers["retry-after"] == "2"
            time.sleep(0.5)  # the pace of a client retrying: the outage's length is the test's
    finally:
        pg_socket.restore()


async def _unpublished() -> int:
    total = 0
    for service in SERVICES:
        conn = await asyncpg.connect(service_dsn(service))
        try:
            total += await conn.fetchval(
                f"SELECT count(*) FROM {service}.outbox WHERE published_at IS NULL"
            )
        finally:
            await conn.close()
    return total


def _dead_letters(system: System, kafka: PrivateKafka) -> dict[str, tuple[int, int]]:
    """Per service: dead letters counted by its consumer, and records in its DLT topic."""
    counts = {}
    for service in SERVICES:
        health = httpx.get(f"{system.urls[service]}/healthz", timeout=5).json()
        dlt = asyncio.run(read_topic(kafka.bootstrap, f"{service}.dlt"))
        counts[service] = (health["consumer"].get("dead_lettered", 0), len(dlt))
    return counts


def _settled(system: System) -> bool:
    """Every outbox published and every consumer idle."""
    if asyncio.run(_unpublished()):
        return False
    for service in SERVICES:
        status = httpx.get(f"{system.urls[service]}/healthz", timeout=5).json()["consumer_status"]
        if status and (status["in_flight"] or status["buffered"]):
            return False
    return True


def _baseline(system: System, kafka: PrivateKafka, guest: httpx.Client) -> dict[str, Any]:
    """Dead letters before the outage. The test database's outboxes hold rows that other
    tests wrote and never published (no relay ran for them); this system's relays publish
    them to the new broker at start, and their consumers dead-letter those that name
    bookings that do not exist. Only what happens after them is this test's business."""
    warm_up = _checkout(guest)
    wait_for_booking(guest, warm_up, lambda b: b["payment_status"] == "captured", timeout=120)
    wait_until(
        lambda: _settled(system) and _settled(system),
        timeout=120,
        interval=0.5,
        what="the system settled before the outage",
    )
    return _dead_letters(system, kafka)


def _wait_listed(guest: httpx.Client) -> None:
    wait_until(
        lambda: any(i["listing_id"] == "lst_loft_01" for i in guest.get("/v1/listings").json()),
        timeout=60,
        what="the seeded listings replicated",
    )


def test_sagas_in_flight_survive_a_broker_kill_and_broken_database_connections(
    outage_system: System, private_kafka: PrivateKafka, pg_socket: SocketLink
) -> None:
    guest = outage_system.client("booking", sub=f"guest-outage-{uuid.uuid4().hex[:6]}")
    _wait_listed(guest)
    before = _baseline(outage_system, private_kafka, guest)
    ids = [_checkout(guest) for _ in range(4)]
    private_kafka.kill9()  # mid-sagas: some requested, some authorized, some captured
    ids += [_checkout(guest) for _ in range(3)]  # accepted into the outbox meanwhile
    assert asyncio.run(_terminate_service_backends()) > 0
    private_kafka.start()
    ids += [_checkout(guest) for _ in range(3)]
    assert asyncio.run(_terminate_service_backends()) > 0  # again, with sagas moving
    ids += [_checkout(guest) for _ in range(3)]
    _database_away(guest, pg_socket, seconds=6)  # with those three in flight
    ids += [_checkout(guest) for _ in range(2)]

    for booking_id in ids:
        done = wait_for_booking(
            guest, booking_id, lambda b: b["payment_status"] == "captured", timeout=180
        )
        assert done["status"] == "confirmed"
    assert _dead_letters(outage_system, private_kafka) == before
