"""Webhook delivery of the simulator: a bounded pool of workers fed from a queue, Stripe's
exponential retry schedule, and pending deliveries that survive a restart."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe
from fastapi.testclient import TestClient

from stripesim import create_app
from stripesim.testkit import AUTH, SECRET, eventually
from stripesim.webhooks import RetrySchedule

URL = "http://webhooks.test/stripe"


class Receiver(httpx.AsyncBaseTransport):
    """A webhook endpoint in the app's event loop: holds every request until ``open`` is
    called (from any thread), answers 500 to the first ``failures`` attempts of each event
    and 200 after, and counts how many requests it holds at once."""

    def __init__(self, *, failures: int = 0) -> None:
        self._opened = False
        self._gate: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.failures = failures
        self._lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.attempts: dict[str, int] = {}
        self.delivered: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        event = stripe.Webhook.construct_event(
            request.content.decode(), request.headers["stripe-signature"], SECRET
        )
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.attempts[event.id] = self.attempts.get(event.id, 0) + 1
            failing = self.attempts[event.id] <= self.failures
        try:
            await self._wait_open()
        finally:
            with self._lock:
                self.in_flight -= 1
        if failing:
            return httpx.Response(500)
        with self._lock:
            self.delivered.append(event.id)
        return httpx.Response(200)

    async def _wait_open(self) -> None:
        with self._lock:
            if self._gate is None:
                self._loop, self._gate = asyncio.get_running_loop(), asyncio.Event()
            if self._opened:
                self._gate.set()
        await self._gate.wait()

    def open(self) -> None:
        with self._lock:
            self._opened = True
            loop, gate = self._loop, self._gate
        if loop is not None and gate is not None:
            loop.call_soon_threadsafe(gate.set)


def customers(client: TestClient, count: int) -> None:
    for _ in range(count):
        assert client.post("/v1/customers", headers=AUTH).status_code == 200


def deliveries(client: TestClient, status: str | None = None) -> list[dict[str, Any]]:
    params = {"status": status} if status else {}
    data: list[dict[str, Any]] = client.get("/_sim/webhooks", params=params).json()["data"]
    return data


def test_no_more_deliveries_at_once_than_workers_and_none_dropped() -> None:
    receiver = Receiver()
    app = create_app(URL, SECRET, webhook_workers=3, webhook_transport=receiver)
    with TestClient(app) as client:
        customers(client, 40)
        # The workers are all busy with held requests; the rest wait in the queue.
        eventually(lambda: receiver.in_flight == 3, what="3 deliveries under way")
        health = client.get("/_sim/health").json()["webhooks"]
        assert (health["workers"], health["in_flight"], health["queued"]) == (3, 3, 37)
        receiver.open()
        eventually(lambda: len(receiver.delivered) == 40, what="every webhook delivered")
        assert receiver.max_in_flight == 3
        assert {d["status"] for d in deliveries(client)} == {"delivered"}
        assert deliveries(client, "undelivered") == []


def test_only_the_event_types_the_endpoint_is_subscribed_to_are_sent() -> None:
    receiver = Receiver()
    receiver.open()
    app = create_app(
        URL,
        SECRET,
        webhook_events=frozenset({"payment_intent.created"}),
        webhook_transport=receiver,
    )
    with TestClient(app) as client:
        customers(client, 2)  # customer.created: not subscribed
        intent = client.post(
            "/v1/payment_intents", headers=AUTH, data={"amount": 1000, "currency": "usd"}
        )
        assert intent.status_code == 200, intent.text
        eventually(lambda: len(receiver.delivered) == 1, what="the subscribed event delivered")
        [delivery] = deliveries(client)
        events = client.get("/v1/events", headers=AUTH).json()["data"]
    assert delivery["event_type"] == "payment_intent.created"
    # Every event is still an event (listed, retrievable), only not sent.
    assert {e["type"] for e in events} == {"customer.created", "payment_intent.created"}


def test_a_failing_endpoint_is_retried_with_exponential_backoff() -> None:
    receiver = Receiver(failures=3)
    receiver.open()
    app = create_app(URL, SECRET, webhook_backoff=0.05, webhook_transport=receiver)
    with TestClient(app) as client:
        customers(client, 1)
        delivered = eventually(lambda: deliveries(client, "delivered"), what="delivered")
    [delivery] = delivered
    assert delivery["attempts"] == 4
    assert delivery["last_error"] is None
    # The retries waited 0.05 + 0.1 + 0.2 s at least: the schedule, not a tight loop.
    assert delivery["delivered_at"] - delivery["first_attempt_at"] >= 0.35


def test_retry_schedule_doubles_up_to_the_cap_and_gives_up_after_the_horizon() -> None:
    schedule = RetrySchedule(base=60, cap=3600, horizon=3 * 86400)
    delays = [schedule.next_attempt(n, 0.0, 0.0) for n in range(1, 10)]
    assert delays == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    # Retried hourly once capped, for three days after the first attempt, then given up.
    assert schedule.next_attempt(70, 0.0, 3 * 86400 - 3600) == 3 * 86400
    assert schedule.next_attempt(71, 0.0, 3 * 86400 - 3599) is None
    assert RetrySchedule(max_attempts=2).next_attempt(2, 0.0, 0.0) is None


def test_an_endpoint_down_longer_than_the_horizon_gets_failed_deliveries() -> None:
    receiver = Receiver(failures=100)
    receiver.open()
    app = create_app(
        URL,
        SECRET,
        webhook_backoff=0.01,
        webhook_retry_horizon=0.1,
        webhook_transport=receiver,
    )
    with TestClient(app) as client:
        customers(client, 1)
        [failed] = eventually(lambda: deliveries(client, "failed"), what="given up")
    assert failed["attempts"] >= 3
    assert failed["last_error"] == "HTTP 500"
    assert failed["next_attempt_at"] is None


def test_pending_deliveries_survive_a_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "sim.sqlite3"
    down = Receiver(failures=1_000)
    down.open()
    first = create_app(
        URL, SECRET, state_file=state_file, webhook_backoff=0.5, webhook_transport=down
    )
    with TestClient(first) as client:
        customers(client, 2)
        eventually(lambda: sum(down.attempts.values()) >= 2, what="first attempts made")
        before = {d["event_id"]: d for d in deliveries(client)}
    assert {d["status"] for d in before.values()} == {"pending"}
    # The restarted simulator keeps each delivery's next attempt time, then delivers.
    up = Receiver()
    up.open()
    second = create_app(URL, SECRET, state_file=state_file, webhook_transport=up)
    with TestClient(second) as client:
        eventually(lambda: len(up.delivered) == 2, timeout=15, what="resumed deliveries")
        after = {d["event_id"]: d for d in deliveries(client)}
    assert sorted(up.delivered) == sorted(before)
    for event_id, delivery in after.items():
        assert delivery["status"] == "delivered"
        assert delivery["attempts"] == before[event_id]["attempts"] + 1
        assert delivery["delivered_at"] >= before[event_id]["next_attempt_at"]


@pytest.mark.parametrize("workers", [1, 8])
def test_deliveries_keep_the_order_of_events_with_one_worker(workers: int) -> None:
    receiver = Receiver()
    receiver.open()
    app = create_app(URL, SECRET, webhook_workers=workers, webhook_transport=receiver)
    with TestClient(app) as client:
        customers(client, 20)
        eventually(lambda: len(receiver.delivered) == 20, what="delivered")
        events = client.get("/v1/events", headers=AUTH, params={"limit": 20}).json()["data"]
    sent = [e["id"] for e in reversed(events)]
    if workers == 1:
        assert receiver.delivered == sent
    else:
        assert sorted(receiver.delivered) == sorted(sent)
