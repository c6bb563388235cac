"""Stripe call latency and errors by operation, for every service that calls Stripe.

Payments, finance and booking (Stripe Tax) each build a `stripe.StripeClient` over
the SDK's aiohttp client; `http_client()` returns that client traced (`eventkit.stripe_tracing`)
and with every call timed. A call is the
SDK's `request_with_retries_async`: what the caller waits for, the SDK's own retries included.
The operation is the method and the path with its ids replaced by `{id}`
(`POST /v1/payment_intents/{id}/capture`): Stripe's ids (and the simulator's) carry digits or
capitals, its resource names never do, so the label stays bounded.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import stripe
from prometheus_client import Counter, Histogram

from eventkit import metrics
from eventkit.stripe_tracing import TracedStripeHTTPClient, operation

STRIPE_CALLS = Histogram(
    "stripe_request_duration_seconds",
    "Time of one Stripe API call (the SDK's retries included), by operation.",
    ["service", "operation"],
    buckets=metrics.LATENCY_BUCKETS,
)
STRIPE_ERRORS = Counter(
    "stripe_request_errors_total",
    "Stripe API calls that failed, by operation and kind: 4xx status, 5xx status or network.",
    ["service", "operation", "kind"],
)


class MeteredStripeHTTPClient(TracedStripeHTTPClient):
    """The traced client (a span per try), timed per call: what the caller waits for."""

    def __init__(self, service: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.service = service

    async def request_with_retries_async(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        post_data: Any = None,
        max_network_retries: int | None = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[Any, int, Any]:
        op = operation(method, url)
        started = time.perf_counter()
        try:
            answer = await super().request_with_retries_async(
                method, url, headers, post_data, max_network_retries, _usage=_usage
            )
        except Exception:
            STRIPE_ERRORS.labels(self.service, op, "network").inc()
            raise
        finally:
            STRIPE_CALLS.labels(self.service, op).observe(time.perf_counter() - started)
        status = answer[1]
        if status >= 400:
            STRIPE_ERRORS.labels(self.service, op, "4xx" if status < 500 else "5xx").inc()
        return answer


def http_client(service: str, **kwargs: Any) -> stripe.AIOHTTPClient:
    """The SDK's aiohttp client, traced and timed unless metrics are disabled (`METRICS_ENABLED=0`)."""
    if not metrics.enabled():
        return TracedStripeHTTPClient(**kwargs)
    return MeteredStripeHTTPClient(service, **kwargs)
