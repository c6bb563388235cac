"""Prometheus metrics of every service (docs/observability.md): HTTP, consumer, outbox, relay.

One registry per process, prometheus-client's default one (it also carries the process
collector: CPU, memory, open files). Metric objects are declared at import, as prometheus-client
expects; that only registers names, nothing connects. Every metric has a `service` label, so
services that share a process (tests) stay apart; labels are bounded: route templates, event
types of the routing table, never ids.

`METRICS_ENABLED=0` (default on) leaves out the HTTP middleware and the consumer's
observations: the switch the cost benchmark (docs/benchmarks.md) flips. `/metrics` answers
either way.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from functools import cache
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

if TYPE_CHECKING:
    from aiokafka.structs import ConsumerRecord

    from eventkit.routing import EventRouter

ENABLED_ENV = "METRICS_ENABLED"
# How often the gauges read from the database and the broker (outbox, lag, dead-letter depth).
REFRESH_ENV = "METRICS_REFRESH_SECONDS"
DEFAULT_REFRESH_SECONDS = 15.0

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]


@cache
def enabled() -> bool:
    return os.environ.get(ENABLED_ENV, "1").strip().lower() not in {"0", "false", "no", "off"}


def refresh_seconds() -> float:
    return float(os.environ.get(REFRESH_ENV, DEFAULT_REFRESH_SECONDS))


# Seconds: from a fast SELECT to a Stripe call that times out.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests answered, by route template and status code.",
    ["service", "method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["service", "method", "route"],
    buckets=LATENCY_BUCKETS,
)
CONSUMER_EVENTS = Counter(
    "eventkit_consumer_events_total",
    "Consumed events by type and outcome: handled, duplicate, ignored, dead_lettered.",
    ["service", "event_type", "outcome"],
)
HANDLER_DURATION = Histogram(
    "eventkit_consumer_handler_duration_seconds",
    "Time to handle one event (a run of events sharing a transaction: its time per event).",
    ["service", "event_type"],
    buckets=LATENCY_BUCKETS,
)
CONSUMER_RETRIES = Counter(
    "eventkit_consumer_retries_total",
    "Handler retries by reason: error (an attempt spent), outage, conflict, dead_letter_send.",
    ["service", "event_type", "reason"],
)
DEAD_LETTERS = Counter(
    "eventkit_dead_letters_total",
    "Events sent to the service's dead-letter topic.",
    ["service", "event_type"],
)
DEAD_LETTER_DEPTH = Gauge(
    "eventkit_dead_letter_topic_messages",
    "Dead letters retained in the service's dead-letter topic (replayed and skipped included).",
    ["service"],
)
CONSUMER_LAG = Gauge(
    "eventkit_consumer_lag_messages",
    "Records behind: the partition's high watermark minus the group's committed offset.",
    ["service", "group", "topic", "partition"],
)
OUTBOX_BACKLOG = Gauge(
    "eventkit_outbox_unpublished_rows", "Outbox rows not yet published.", ["service"]
)
OUTBOX_OLDEST_AGE = Gauge(
    "eventkit_outbox_oldest_unpublished_age_seconds",
    "Age of the oldest unpublished outbox row (0 when none).",
    ["service"],
)
RELAY_PUBLISHED = Counter(
    "eventkit_relay_published_events_total", "Outbox rows the relay published.", ["service"]
)


def install(app: FastAPI, service: str) -> None:
    """`GET /metrics`, and the HTTP middleware unless metrics are disabled."""
    if enabled():
        app.add_middleware(HttpMetrics, service=service)

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


class HttpMetrics:
    """ASGI middleware: requests and latency by the matched route's template (`/v1/bookings/
    {booking_id}`), never the raw path; an unmatched path counts as `unmatched`."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception that escapes every handler

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"]
            HTTP_REQUESTS.labels(self.service, method, route, str(status)).inc()
            HTTP_DURATION.labels(self.service, method, route).observe(time.perf_counter() - started)


class ConsumerMetrics:
    """What `MessageProcessor` reports; event types outside its routing table count as
    `other` (a poison record may carry any header)."""

    def __init__(self, router: EventRouter) -> None:
        self.service = router.service
        self.known = router.handled_types
        # Every series at 0 from the start: the first dead letter is then an increase that
        # `increase()` sees (a series born at 1 has none), and the alert fires on it.
        for event_type in (*self.known, "other"):
            DEAD_LETTERS.labels(self.service, event_type)
        # The labelled children, looked up once: `.labels()` takes a lock and builds a key
        # (about 3 µs per event against 1 µs for the cached child; consumer_bench runs
        # ~7,000 events/s, ~140 µs each).
        self._counted: dict[tuple[str, str], Any] = {}
        self._timed: dict[str, Any] = {}

    def event_type(self, record: ConsumerRecord) -> str:
        for name, value in record.headers or ():
            if name == "event_type":
                decoded = value.decode(errors="replace")
                return decoded if decoded in self.known else "other"
        return "other"

    def finished(self, event_type: str, outcome: str, seconds: float | None) -> None:
        counter = self._counted.get((event_type, outcome))
        if counter is None:
            counter = CONSUMER_EVENTS.labels(self.service, event_type, outcome)
            self._counted[(event_type, outcome)] = counter
        counter.inc()
        if seconds is not None and outcome == "handled":
            histogram = self._timed.get(event_type)
            if histogram is None:
                histogram = self._timed[event_type] = HANDLER_DURATION.labels(
                    self.service, event_type
                )
            histogram.observe(seconds)

    def retry(self, event_type: str, reason: str) -> None:
        CONSUMER_RETRIES.labels(self.service, event_type, reason).inc()

    def dead_letter(self, event_type: str) -> None:
        DEAD_LETTERS.labels(self.service, event_type).inc()


class _Off(ConsumerMetrics):
    def __init__(self, router: EventRouter) -> None:
        self.service = router.service
        self.known = router.handled_types

    def finished(self, event_type: str, outcome: str, seconds: float | None) -> None:
        pass

    def retry(self, event_type: str, reason: str) -> None:
        pass

    def dead_letter(self, event_type: str) -> None:
        pass

    def event_type(self, record: ConsumerRecord) -> str:
        return "other"


def consumer_metrics(router: EventRouter) -> ConsumerMetrics:
    return ConsumerMetrics(router) if enabled() else _Off(router)


def relay_published(service: str, count: int) -> None:
    if count and enabled():
        RELAY_PUBLISHED.labels(service).inc(count)
