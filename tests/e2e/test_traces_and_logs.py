"""One Instant Book checkout is one trace across booking, payments and finance (exported by the
services' real OTLP exporters to a receiver in the test), and its log lines are JSON carrying
its correlation id and trace id (docs/observability-traces.md)."""

from __future__ import annotations

import json
import random
import secrets
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import System
from tests.e2e.test_instant_book import slot, wait_for_booking
from tests.support.e2e import wait_until
from tests.support.otlp_collector import ReceivedSpan

pytestmark = pytest.mark.e2e

# What one checkout's trace must hold, per service: (kind, name) of at least one span each.
EXPECTED = {
    ("booking", "SERVER", "POST /v1/bookings"),
    ("booking", "INTERNAL", "booking place_booking"),
    ("booking", "PRODUCER", "booking publish booking.events"),
    ("payments", "CONSUMER", "payments handle booking.checkout_requested"),
    ("payments", "CLIENT", "stripe POST /v1/payment_intents"),
    ("payments", "PRODUCER", "payments publish payments.events"),
    # An Instant Book: charged at checkout, confirmed on the capture (its booking_confirmed
    # says the payment is captured: payments passes it over, with no span).
    ("booking", "CONSUMER", "booking handle payments.payment_captured"),
    ("booking", "PRODUCER", "booking publish booking.events"),
    ("finance", "CONSUMER", "finance handle payments.payment_captured"),
    ("finance", "INTERNAL", "finance post journal"),
}


def _shape(spans: list[ReceivedSpan]) -> set[tuple[str, str, str]]:
    return {(s.service, s.kind, s.name) for s in spans}


def test_one_checkout_is_one_trace_across_booking_payments_and_finance(system: System) -> None:
    assert system.collector is not None
    guest = system.client("booking", sub=f"guest-{uuid.uuid4().hex[:6]}")
    wait_until(lambda: guest.get("/v1/listings").json(), lambda ls: ls, timeout=30)
    # The client starts the trace: the gateway's span continues it (W3C traceparent).
    trace_id, root_span = secrets.token_hex(16), secrets.token_hex(8)
    correlation = uuid.uuid4()
    response = guest.post(
        "/v1/bookings",
        json={
            "listing_id": "lst_loft_01",
            **slot(random.choice((2, 3))),
            "payment_method": "pm_card_visa",
        },
        headers={
            "traceparent": f"00-{trace_id}-{root_span}-01",
            "X-Correlation-Id": str(correlation),
        },
    )
    assert response.status_code == 202, response.text
    assert response.headers["X-Correlation-Id"] == str(correlation)
    booking_id = response.json()["booking_id"]
    wait_for_booking(guest, booking_id, lambda b: b["payment_status"] == "captured")

    spans = wait_until(
        lambda: system.collector.trace(trace_id),  # type: ignore[union-attr]
        lambda got: EXPECTED <= _shape(got),
        timeout=30,
    )
    # One tree: every span's parent is a span of the trace, up to the client's own span.
    ids = {s.span_id for s in spans} | {root_span}
    orphans = [s for s in spans if s.parent_span_id not in ids]
    assert not orphans, orphans
    assert {s.service for s in spans} >= {"booking", "payments", "finance"}

    lines = {
        name: _json_lines(system.logs / f"{name}.log")
        for name in ("booking", "payments", "finance")
    }
    for name, parsed in lines.items():
        ours = [line for line in parsed if line.get("trace_id") == trace_id]
        assert ours, f"{name} wrote no line of the checkout's trace"
        # Every line written in the checkout's trace carries its correlation id, and its service.
        assert {line.get("correlation_id") for line in ours} == {str(correlation)}, ours
        assert {line["service"] for line in ours} == {name}
    booking_lines = [line for line in lines["booking"] if line.get("trace_id") == trace_id]
    assert any(line.get("booking_id") == booking_id for line in booking_lines), booking_lines


def _json_lines(path: Path) -> list[dict[str, Any]]:
    """Every line of a service's log, each one JSON object (a line that is not fails here)."""
    parsed = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"{path.name}:{number} is not JSON: {line[:300]}")
    return parsed
