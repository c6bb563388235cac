"""A real Prometheus scraping the four services: a checkout moves the checkout histogram, a
decline moves the charge success ratio, a poison message fires the dead-letter alert."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from eventkit.producer import durable_producer
from marketplace_contracts import retry_topic
from tests.conftest import KAFKA
from tests.e2e.conftest import SERVICES, System
from tests.e2e_observability.conftest import Prometheus
from tests.support.e2e import wait_until_listed
from tests.support.poll import wait_until

pytestmark = pytest.mark.e2e

Observed = tuple[System, Prometheus]


def _slot() -> dict[str, str]:
    start = datetime(2030, 1, 1, tzinfo=UTC) + timedelta(hours=random.randrange(0, 24 * 3000))
    return {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat()}


def _book(system: System, payment_method: str) -> dict[str, Any]:
    """POST a checkout and wait until the payment is captured or failed."""
    with system.client("booking", sub=f"guest-{uuid.uuid4().hex[:6]}") as guest:
        wait_until_listed(guest, "lst_loft_01", what="the seeded listings")
        posted = guest.post(
            "/v1/bookings",
            json={"listing_id": "lst_loft_01", **_slot(), "payment_method": payment_method},
        )
        assert posted.status_code == 202, posted.text
        booking_id = posted.json()["booking_id"]
        finished: dict[str, Any] = wait_until(
            lambda: guest.get(f"/v1/bookings/{booking_id}").json(),
            lambda body: body["payment_status"] in ("captured", "failed"),
            timeout=30,
            interval=0.1,
            what="the checkout finished",
        )
        return finished


def test_every_service_is_scraped(observed: Observed) -> None:
    _, prometheus = observed
    up = prometheus.wait_for(
        "all four targets up",
        lambda: (
            {r["metric"]["service"] for r in prometheus.query('up{job="marketplace"} == 1')}
            >= set(SERVICES)
        ),
    )
    assert up
    # The gauges each runtime refreshes (METRICS_REFRESH_SECONDS=1 here) come with them.
    outbox = prometheus.wait_for(
        "every service's outbox gauge",
        lambda: (
            {r["metric"]["service"] for r in prometheus.query("eventkit_outbox_unpublished_rows")}
            >= set(SERVICES)
        ),
    )
    assert outbox
    lag = prometheus.wait_for(
        "booking's consumer lag per partition",
        lambda: prometheus.query('eventkit_consumer_lag_messages{service="booking"}'),
    )
    assert {r["metric"]["group"] for r in lag} == {"booking"}


def test_checkouts_move_the_checkout_histogram_and_the_charge_ratio(observed: Observed) -> None:
    system, prometheus = observed
    count = 'sum(booking_checkout_duration_seconds_count{mode="instant"})'
    attempts = 'sum by (outcome) (payments_charge_attempts_total{payment_method="card"})'

    def outcomes() -> dict[str, float]:
        return {r["metric"]["outcome"]: float(r["value"][1]) for r in prometheus.query(attempts)}

    before, tried = prometheus.value(count), outcomes()
    # Two of each, one scrape apart: a counter series is born at its first value, and rate()
    # sees an increase only from the second.
    # An Instant Book's card is charged at checkout: its attempt's outcome is `captured`.
    for card, outcome in (("pm_card_visa", "captured"), ("pm_card_chargeDeclined", "failed")) * 2:
        had, checkouts = outcomes().get(outcome, 0), prometheus.value(count)
        done = _book(system, card)
        assert done["payment_status"] == outcome

        def scraped(outcome: str = outcome, had: float = had, checkouts: float = checkouts) -> bool:
            counted = outcomes().get(outcome, 0) > had
            return counted and (outcome == "failed" or prometheus.value(count) > checkouts)

        prometheus.wait_for(f"the checkout with {card} scraped", scraped)

    assert prometheus.value(count) >= before + 2
    after = outcomes()
    assert after["captured"] >= tried.get("captured", 0) + 2
    assert after["failed"] >= tried.get("failed", 0) + 2
    declined = prometheus.query(
        'payments_charge_attempts_total{outcome="failed", decline_code!="none"}'
    )
    assert declined, "a decline is counted with its decline code"
    # The recording rule sees the declines one evaluation after their series is born: wait for
    # the evaluation that has both outcomes (a ratio stuck at 1 or 0 never gets here).
    prometheus.wait_for(
        "a charge success ratio between 0 and 1",
        lambda: [
            r
            for r in prometheus.query("payments:charge_success_ratio:rate15m")
            if 0 < float(r["value"][1]) < 1
        ],
    )
    p99 = prometheus.query('mode:booking_checkout_duration_seconds:p99_5m{mode="instant"}')
    assert p99 and float(p99[0]["value"][1]) > 0
    # Payments' authorizations went through the timed Stripe client.
    stripe = prometheus.query(
        'stripe_request_duration_seconds_count{service="payments", '
        'operation="POST /v1/payment_intents"}'
    )
    assert stripe and float(stripe[0]["value"][1]) >= 4


def test_a_poison_message_fires_the_dead_letter_alert(observed: Observed) -> None:
    _, prometheus = observed
    letters = 'sum(eventkit_dead_letters_total{service="payments"})'
    prometheus.wait_for("payments' dead-letter counter", lambda: prometheus.query(letters))
    before = prometheus.value(letters)

    async def poison() -> None:
        producer = durable_producer(KAFKA, client_id="e2e-observability")
        await producer.start()
        try:
            # Not JSON: payments cannot decode it and dead-letters it at once.
            await producer.send_and_wait(retry_topic("payments"), b"{poison", key=b"poison")
        finally:
            await producer.stop()

    asyncio.run(poison())
    prometheus.wait_for("the dead letter counted", lambda: prometheus.value(letters) > before)

    def firing() -> list[dict[str, Any]]:
        return [
            a
            for a in prometheus.alerts()
            if a["labels"]["alertname"] == "DeadLettersPresent"
            and a["labels"].get("service") == "payments"
            and a["state"] == "firing"
        ]

    [alert] = prometheus.wait_for("DeadLettersPresent firing for payments", firing)
    assert alert["annotations"]["runbook"] == "docs/observability.md#deadletterspresent"
    with httpx.Client() as client:  # the service's own /metrics says the same
        text = client.get(f"{observed[0].urls['payments']}/metrics").text
    assert 'eventkit_dead_letters_total{event_type="other",service="payments"}' in text
