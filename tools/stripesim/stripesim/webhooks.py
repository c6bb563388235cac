"""Webhook delivery: Stripe-signed POSTs from background tasks, retried with backoff."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from dataclasses import asdict, dataclass
from typing import Any

import httpx

log = logging.getLogger("stripesim.webhooks")


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """The ``Stripe-Signature`` header value that ``stripe.Webhook.construct_event`` accepts."""
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class WebhookDispatcher:
    """Delivers each event to ``url``; ``max_attempts`` tries, delay doubling from ``backoff``.

    Signatures use the real wall clock (not the simulator clock), because receivers verify
    the timestamp against their own clock with a tolerance.
    """

    def __init__(
        self,
        url: str | None,
        secret: str,
        *,
        max_attempts: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self.secret = secret
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        self.transport = transport
        self.deliveries: dict[str, Delivery] = {}
        self._events: dict[str, dict[str, Any]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None

    @property
    def enabled(self) -> bool:
        return self.url is not None

    def configure(self, url: str | None, secret: str | None = None) -> None:
        self.url = url
        if secret is not None:
            self.secret = secret

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self.timeout, transport=self.transport)
        for delivery in self.deliveries.values():
            if delivery.status == "pending":
                self._spawn(delivery)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def reset(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self.deliveries.clear()
        self._events.clear()

    def enqueue(self, event: dict[str, Any]) -> None:
        """Event listener: called synchronously (on the event loop) for every new event."""
        if self.url is None:
            return
        delivery = Delivery(event_id=event["id"], event_type=event["type"], url=self.url)
        self.deliveries[event["id"]] = delivery
        self._events[event["id"]] = event
        if self._client is not None:
            self._spawn(delivery)

    def listing(self, status: str | None = None) -> list[dict[str, Any]]:
        wanted = {"undelivered": {"pending", "failed"}}.get(status or "", {status})
        return [
            d.as_dict() for d in self.deliveries.values() if status is None or d.status in wanted
        ]

    def _spawn(self, delivery: Delivery) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, delivery: Delivery) -> None:
        payload = json.dumps(self._events[delivery.event_id], indent=2).encode("utf-8")
        delay = self.backoff
        while delivery.attempts < self.max_attempts:
            delivery.attempts += 1
            if await self._attempt(delivery, payload):
                delivery.status = "delivered"
                delivery.delivered_at = time.time()
                return
            if delivery.attempts < self.max_attempts:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff)
        delivery.status = "failed"
        log.warning(
            "webhook %s undeliverable after %d attempts: %s",
            delivery.event_id,
            delivery.attempts,
            delivery.last_error,
        )

    async def _attempt(self, delivery: Delivery, payload: bytes) -> bool:
        assert self._client is not None
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks) stripesim",
            "Stripe-Signature": sign(payload, self.secret, int(time.time())),
        }
        try:
            response = await self._client.post(delivery.url, content=payload, headers=headers)
        except httpx.HTTPError as exc:
            delivery.last_status_code = None
            delivery.last_error = f"{type(exc).__name__}: {exc}"
            return False
        delivery.last_status_code = response.status_code
        if 200 <= response.status_code < 300:
            delivery.last_error = None
            return True
        delivery.last_error = f"HTTP {response.status_code}"
        return False
