"""Webhook delivery: Stripe-signed POSTs from a bounded pool of workers, retried like Stripe.

Events go into a queue; ``workers`` tasks take them one at a time and share one ``aiohttp``
session whose pool has exactly as many connections (aiohttp: about a tenth of httpx's CPU per
request under load; tests inject an ``httpx`` transport instead, ``transport=``), so a burst waits in the queue (cheap)
instead of piling up requests inside the pool (where each waiting request costs CPU on
every pool change and then times out). A failed attempt is retried after an exponential
backoff (``RetrySchedule``: ``base`` doubling up to ``cap``) for up to ``horizon`` (3 days, as
Stripe does). Pending deliveries and their next attempt time are part of the persisted state
(``dirty`` / ``restore``), so a restarted simulator resumes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import hmac
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx

from stripesim.jsonio import dumps

log = logging.getLogger("stripesim.webhooks")

DEFAULT_WORKERS = 8
# Stripe retries "for up to three days with an exponential back off"; the first retries come
# sooner here (seconds, not minutes), so a restarted receiver catches up quickly in dev.
DEFAULT_RETRY_BASE = 5.0
DEFAULT_RETRY_CAP = 3600.0
DEFAULT_RETRY_HORIZON = 3 * 24 * 3600.0
# Finished (delivered or failed) deliveries kept for ``GET /_sim/webhooks``; pending ones are
# all kept.
KEEP_FINISHED = 10_000


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """The ``Stripe-Signature`` header value that ``stripe.Webhook.construct_event`` accepts."""
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass(frozen=True)
class RetrySchedule:
    """Delay before attempt n+1: ``base * 2**(n-1)``, at most ``cap``; no attempt starts more
    than ``horizon`` seconds after the first. ``max_attempts`` (None: no limit) is for tests."""

    base: float = DEFAULT_RETRY_BASE
    cap: float = DEFAULT_RETRY_CAP
    horizon: float = DEFAULT_RETRY_HORIZON
    max_attempts: int | None = None

    def next_attempt(self, attempts: int, first_attempt_at: float, now: float) -> float | None:
        """When to try again after ``attempts`` failed ones; None: give up."""
        if self.max_attempts is not None and attempts >= self.max_attempts:
            return None
        delay = min(self.base * 2 ** min(attempts - 1, 62), self.cap)
        at = now + delay
        return at if at - first_attempt_at <= self.horizon else None


@dataclass
class Delivery:
    event_id: str
    event_type: str
    url: str
    status: str = "pending"  # pending | delivered | failed
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str | None = None
    delivered_at: float | None = None
    first_attempt_at: float | None = None
    next_attempt_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))  # flat: `asdict`'s recursive copy was for nothing


class WebhookDispatcher:
    """Delivers each event to ``url``. Signatures use the real wall clock (not the simulator
    clock), because receivers verify the timestamp against their own clock with a tolerance."""

    def __init__(
        self,
        url: str | None,
        secret: str,
        *,
        schedule: RetrySchedule | None = None,
        workers: int = DEFAULT_WORKERS,
        enabled_events: frozenset[str] = frozenset({"*"}),
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self.secret = secret
        # Like a Stripe webhook endpoint's `enabled_events`: an event of another type is not
        # sent at all (each send costs both sides an HTTP request).
        self.enabled_events = enabled_events
        self.schedule = schedule or RetrySchedule()
        self.workers = max(1, workers)
        self.timeout = timeout
        self.transport = transport
        self.deliveries: OrderedDict[str, Delivery] = OrderedDict()
        self.dirty: set[str] = set()  # deliveries changed since the last snapshot
        self.in_flight = 0
        self._finished = 0
        self._events: dict[str, dict[str, Any]] = {}  # payloads of pending deliveries
        self._retries: list[tuple[float, str]] = []
        self._ready: asyncio.Queue[str] | None = None
        self._wake: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._client: httpx.AsyncClient | None = None  # with an injected transport (tests)
        self._session: aiohttp.ClientSession | None = None

    @property
    def enabled(self) -> bool:
        return self.url is not None

    def configure(self, url: str | None, secret: str | None = None) -> None:
        self.url = url
        if secret is not None:
            self.secret = secret

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        if self.transport is not None:
            self._client = httpx.AsyncClient(timeout=self.timeout, transport=self.transport)
        else:
            self._session = aiohttp.ClientSession(
                # Idle connections dropped before the receiver (uvicorn: 5 s) would close them.
                connector=aiohttp.TCPConnector(limit=self.workers, keepalive_timeout=2.0),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            )
        self._ready, self._wake = asyncio.Queue(), asyncio.Event()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._work()) for _ in range(self.workers)]
        self._tasks.append(loop.create_task(self._schedule_retries()))
        for delivery in self.deliveries.values():
            if delivery.status == "pending":
                self._plan(delivery)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self._ready = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def reset(self) -> None:
        """Forget every delivery (attempts under way finish, unrecorded)."""
        self.deliveries.clear()
        self._events.clear()
        self._retries.clear()
        self.dirty.clear()
        self._finished = 0
        if self._ready is not None:
            while not self._ready.empty():
                self._ready.get_nowait()

    # -- deliveries ----------------------------------------------------------------------
    def enqueue(self, event: dict[str, Any]) -> None:
        """Event listener: called synchronously (on the event loop) for every new event."""
        if self.url is None or not self.subscribed(event["type"]):
            return
        delivery = Delivery(event_id=event["id"], event_type=event["type"], url=self.url)
        self.deliveries[event["id"]] = delivery
        self._events[event["id"]] = event
        self.dirty.add(event["id"])
        if self._ready is not None:
            self._ready.put_nowait(event["id"])

    def subscribed(self, event_type: str) -> bool:
        return "*" in self.enabled_events or event_type in self.enabled_events

    def restore(self, delivery: Delivery, event: dict[str, Any]) -> None:
        """A pending delivery read from the state file (resumed by ``start``)."""
        self.deliveries[delivery.event_id] = delivery
        self._events[delivery.event_id] = event

    def pending(self) -> list[tuple[Delivery, dict[str, Any]]]:
        return [
            (d, self._events[d.event_id]) for d in self.deliveries.values() if d.status == "pending"
        ]

    def listing(self, status: str | None = None) -> list[dict[str, Any]]:
        wanted = {"undelivered": {"pending", "failed"}}.get(status or "", {status})
        return [
            d.as_dict() for d in self.deliveries.values() if status is None or d.status in wanted
        ]

    def stats(self) -> dict[str, Any]:
        return {
            "workers": self.workers,
            "in_flight": self.in_flight,
            "queued": 0 if self._ready is None else self._ready.qsize(),
            "waiting_to_retry": len(self._retries),
            "pending": len(self._events),
        }

    def _plan(self, delivery: Delivery) -> None:
        """Queue ``delivery`` now or at its ``next_attempt_at``."""
        at = delivery.next_attempt_at
        if at is None or at <= time.time():
            assert self._ready is not None
            self._ready.put_nowait(delivery.event_id)
        else:
            heapq.heappush(self._retries, (at, delivery.event_id))
            if self._wake is not None:
                self._wake.set()

    async def _schedule_retries(self) -> None:
        """Move each delivery to the queue when its next attempt is due."""
        assert self._ready is not None and self._wake is not None
        while True:
            self._wake.clear()
            now = time.time()
            while self._retries and self._retries[0][0] <= now:
                _, event_id = heapq.heappop(self._retries)
                self._ready.put_nowait(event_id)
            timeout = self._retries[0][0] - now if self._retries else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _work(self) -> None:
        assert self._ready is not None
        ready = self._ready
        while True:
            event_id = await ready.get()
            delivery = self.deliveries.get(event_id)
            if delivery is None or delivery.status != "pending":
                continue  # forgotten by a reset, or a duplicate entry
            try:
                await self._deliver(delivery)
            except Exception:  # a bug must not kill a worker: the pool would shrink silently
                log.exception("webhook %s: delivery attempt failed unexpectedly", event_id)

    async def _deliver(self, delivery: Delivery) -> None:
        payload = dumps(self._events[delivery.event_id], pretty=True)
        now = time.time()
        delivery.first_attempt_at = delivery.first_attempt_at or now
        delivery.attempts += 1
        self.in_flight += 1
        try:
            delivered = await self._attempt(delivery, payload)
        finally:
            self.in_flight -= 1
        if self.deliveries.get(delivery.event_id) is not delivery:
            return  # reset while in flight
        self.dirty.add(delivery.event_id)
        if delivered:
            delivery.status, delivery.delivered_at = "delivered", time.time()
            self._finish(delivery)
            return
        at = self.schedule.next_attempt(delivery.attempts, delivery.first_attempt_at, time.time())
        delivery.next_attempt_at = at
        if at is not None:
            self._plan(delivery)
            return
        delivery.status = "failed"
        self._finish(delivery)
        log.warning(
            "webhook %s undeliverable after %d attempts: %s",
            delivery.event_id,
            delivery.attempts,
            delivery.last_error,
        )

    def _finish(self, delivery: Delivery) -> None:
        self._events.pop(delivery.event_id, None)
        self._finished += 1
        if self._finished > KEEP_FINISHED * 2:  # trim now and then, oldest finished first
            for event_id in [k for k, d in self.deliveries.items() if d.status != "pending"][
                :-KEEP_FINISHED
            ]:
                del self.deliveries[event_id]
            self._finished = KEEP_FINISHED

    async def _post(self, url: str, payload: bytes, headers: dict[str, str]) -> int:
        if self._client is not None:
            return (await self._client.post(url, content=payload, headers=headers)).status_code
        assert self._session is not None
        async with self._session.post(url, data=payload, headers=headers) as response:
            await response.read()  # the connection goes back to the pool once the body is read
            return response.status

    async def _attempt(self, delivery: Delivery, payload: bytes) -> bool:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks) stripesim",
            "Stripe-Signature": sign(payload, self.secret, int(time.time())),
        }
        try:
            status = await self._post(delivery.url, payload, headers)
        except (httpx.HTTPError, aiohttp.ClientError, TimeoutError) as exc:
            delivery.last_status_code = None
            delivery.last_error = f"{type(exc).__name__}: {exc}"
            return False
        delivery.last_status_code = status
        if 200 <= status < 300:
            delivery.last_error = None
            return True
        delivery.last_error = f"HTTP {status}"
        return False
