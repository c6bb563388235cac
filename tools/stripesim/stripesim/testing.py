"""Helpers for tests that drive the simulator: serve it on a local port (for the official
``stripe`` SDK) and record the webhooks it sends, without a receiving server.

```
recorder = WebhookRecorder()
app = create_app("http://webhooks.test/stripe", SECRET, webhook_transport=recorder.transport)
with serve(app) as base_url:
    client = stripe.StripeClient("sk_test_x", base_addresses={"api": base_url})
    ...
    recorder.wait_for("transfer.created")
```
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import uvicorn
from fastapi import FastAPI


@dataclass(frozen=True)
class RecordedWebhook:
    body: bytes
    signature: str  # the ``Stripe-Signature`` header
    url: str


class WebhookRecorder:
    """An ``httpx`` transport for ``create_app(webhook_transport=...)`` that answers 200 to
    every webhook and keeps it (thread-safe: the app may run in another thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[RecordedWebhook] = []
        self.transport = httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        webhook = RecordedWebhook(
            request.content, request.headers.get("stripe-signature", ""), str(request.url)
        )
        with self._lock:
            self._received.append(webhook)
        return httpx.Response(200)

    @property
    def received(self) -> list[RecordedWebhook]:
        with self._lock:
            return list(self._received)

    def clear(self) -> None:
        with self._lock:
            self._received.clear()

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[RecordedWebhook]:
        """Block until at least ``count`` webhooks arrived; all of them."""
        deadline = time.monotonic() + timeout
        while len(received := self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(received)} webhooks within {timeout}s, not {count}")
            time.sleep(0.02)
        return received


@contextmanager
def serve(app: FastAPI, host: str = "127.0.0.1") -> Iterator[str]:
    """Run ``app`` with uvicorn in a background thread on a free port; its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    try:
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("stripesim did not start")
            time.sleep(0.02)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
