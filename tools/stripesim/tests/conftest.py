"""Fixtures of the stripesim unit tests (their helpers: ``stripesim/testkit.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import stripe

from stripesim import create_app
from stripesim.testing import WebhookRecorder, serve
from stripesim.testkit import KEY, SECRET


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    """The app in-process over ASGI (no lifespan: no webhook endpoint is configured)."""
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


@pytest.fixture
def sdk(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, WebhookRecorder]]:
    """The simulator on a local port, the global ``stripe`` SDK pointed at it: its base URL and
    the recorder of the webhooks it signs with ``SECRET``."""
    recorder = WebhookRecorder()
    app = create_app("http://webhooks.test/stripe", SECRET, webhook_transport=recorder.transport)
    with serve(app) as base_url:
        monkeypatch.setattr(stripe, "api_base", base_url)
        monkeypatch.setattr(stripe, "api_key", KEY)
        yield base_url, recorder
