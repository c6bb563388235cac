"""Callback delivery as Dropbox Sign does it: a multipart POST with a ``json`` field, in order,
retried until the receiver answers 200 with the body ``Hello API Event Received``."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from fake_dropbox_sign.state import ACCOUNT_ID, event_hash

log = logging.getLogger("fake_dropbox_sign.callbacks")
ACK = "Hello API Event Received"


@dataclass
class Delivery:
    delivery_id: int
    event_type: str
    signature_request_id: str | None
    url: str
    tampered: bool
    payload: dict[str, Any]
    status: str = "pending"  # pending | delivered | failed
    attempts: int = 0
    last_status_code: int | None = None
    last_body: str | None = None
    last_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_event(
    api_key: str,
    event_type: str,
    signature_request: dict[str, Any] | None,
    *,
    related_signature_id: str | None = None,
    event_time: int | None = None,
    tamper: bool = False,
) -> dict[str, Any]:
    when = str(event_time if event_time is not None else int(time.time()))
    digest = event_hash(api_key, when, event_type)
    if tamper:  # flip the last hex digit: a forged or corrupted callback
        digest = digest[:-1] + ("0" if digest[-1] != "0" else "1")
    payload: dict[str, Any] = {
        "event": {
            "event_time": when,
            "event_type": event_type,
            "event_hash": digest,
            "event_metadata": {
                "related_signature_id": related_signature_id,
                "reported_for_account_id": ACCOUNT_ID,
                "reported_for_app_id": None,
                "event_message": None,
            },
        }
    }
    if signature_request is not None:
        payload["signature_request"] = signature_request
    return payload


class CallbackDispatcher:
    def __init__(
        self,
        url: str | None,
        *,
        max_attempts: int = 3,
        backoff: float = 0.2,
        timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.timeout = timeout
        self.deliveries: list[Delivery] = []
        self._queue: asyncio.Queue[Delivery] | None = None
        self._worker: asyncio.Task[None] | None = None

    def enqueue(self, event_type: str, payload: dict[str, Any], *, tampered: bool) -> None:
        """Queue a delivery (no-op without a callback URL). Starts the worker lazily, so the
        app also delivers when no lifespan runs (e.g. under httpx's ASGITransport)."""
        if self.url is None:
            return
        request = payload.get("signature_request") or {}
        delivery = Delivery(
            len(self.deliveries) + 1,
            event_type,
            request.get("signature_request_id"),
            self.url,
            tampered,
            payload,
        )
        self.deliveries.append(delivery)
        worker = self._worker
        if (
            self._queue is None
            or worker is None
            or worker.done()
            or worker.get_loop() is not asyncio.get_running_loop()
        ):
            self._queue = asyncio.Queue()
            for pending in self.deliveries:
                if pending.status == "pending":
                    self._queue.put_nowait(pending)
            self._worker = asyncio.create_task(self._run(self._queue))
        else:
            self._queue.put_nowait(delivery)

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None
            self._queue = None

    def reset(self) -> None:
        self.deliveries.clear()

    async def _run(self, queue: asyncio.Queue[Delivery]) -> None:
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            while True:
                delivery = await queue.get()
                if delivery.status == "pending":
                    await self._deliver(client, delivery)

    async def _deliver(self, client: httpx.AsyncClient, delivery: Delivery) -> None:
        body = json.dumps(delivery.payload)
        delay = self.backoff
        while delivery.attempts < self.max_attempts:
            delivery.attempts += 1
            try:
                # Dropbox Sign posts multipart/form-data with one field, "json".
                response = await client.post(
                    delivery.url,
                    files={"json": (None, body.encode())},
                    headers={"User-Agent": "fake-dropbox-sign"},
                )
                delivery.last_status_code = response.status_code
                delivery.last_body = response.text[:200]
                delivery.last_error = None
                if response.status_code == 200 and ACK in response.text:
                    delivery.status = "delivered"
                    return
            except httpx.HTTPError as exc:
                delivery.last_error = repr(exc)
            await asyncio.sleep(delay)
            delay *= 2
        delivery.status = "failed"
        log.warning("callback %s to %s failed", delivery.event_type, delivery.url)
