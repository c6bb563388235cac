"""What the stripesim unit tests share: a test key, form-encoded requests to the in-process
app, response checks, the event log, and the official SDK's verification of signed webhooks.

The ``api`` and ``sdk`` fixtures that go with these are in ``tools/stripesim/tests/conftest.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import stripe
from stripe._encode import _api_encode

from stripesim.testing import WebhookRecorder

KEY = "sk_test_unit"
AUTH = {"Authorization": f"Bearer {KEY}"}
SECRET = "whsec_unit"
T = TypeVar("T")


async def post(
    api: httpx.AsyncClient, path: str, data: dict[str, Any] | None = None, key: str | None = None
) -> httpx.Response:
    """POST ``data`` form-encoded as Stripe's SDKs do (``key``: an ``Idempotency-Key``)."""
    headers = {**AUTH, "Content-Type": "application/x-www-form-urlencoded"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return await api.post(path, content=urlencode(list(_api_encode(data or {}))), headers=headers)


async def get(api: httpx.AsyncClient, path: str, **params: Any) -> dict[str, Any]:
    """GET ``path`` with ``params`` encoded as Stripe's SDKs do; the object (a 200 asserted)."""
    query = urlencode(list(_api_encode(params)))
    return ok(await api.get(f"{path}?{query}" if query else path, headers=AUTH))


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    err: dict[str, Any] = response.json()["error"]
    return err


# Events of the platform's balance that sim time brings about (funds becoming available, daily
# payouts): ``event_types`` leaves them out, the balance tests look at them.
BALANCE_EVENTS = ("balance.available", "payout.created", "payout.paid", "payout.failed")


async def event_types(api: httpx.AsyncClient, *, balance: bool = False) -> list[str]:
    """The types of the (at most 100) events so far, oldest first (without the balance events
    unless ``balance``)."""
    events = (await get(api, "/v1/events", limit=100))["data"]
    types = [e["type"] for e in reversed(events)]
    return types if balance else [t for t in types if t not in BALANCE_EVENTS]


async def paid_intent(api: httpx.AsyncClient, amount: int, **params: Any) -> dict[str, Any]:
    """A PaymentIntent of ``amount`` confirmed with a card that succeeds (captured)."""
    return ok(
        await post(
            api,
            "/v1/payment_intents",
            {
                "amount": amount,
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "confirm": True,
                **params,
            },
        )
    )


def signed_events(recorder: WebhookRecorder, count: int) -> list[stripe.Event]:
    """The first ``count`` webhooks, each verified as a Stripe-signed event."""
    return [
        stripe.Webhook.construct_event(w.body.decode(), w.signature, SECRET)
        for w in recorder.wait_for(count)
    ]


def eventually(check: Callable[[], T], timeout: float = 10.0, what: str = "condition") -> T:
    """Poll ``check`` (every 10 ms) until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"{what} not met within {timeout}s (last: {value!r})"
        time.sleep(0.01)
    return value
