"""Payments' own metrics (docs/observability.md); eventkit.metrics has the common ones.

Business figures (charge attempts, refund time, webhook lag) are noted in the handler's
transaction and counted once it commits (`eventkit.unit_of_work.after_commit`): a transaction
that rolls back and is retried counts once, and one that never commits counts nothing.
"""

from __future__ import annotations

from datetime import timedelta

from prometheus_client import Counter, Gauge, Histogram

from eventkit import metrics
from eventkit.periodic import every
from eventkit.runtime import ServiceRuntime, Worker
from eventkit.unit_of_work import after_commit
from payments.adapters.repository import PaymentsRepository
from payments.adapters.webhook_repository import WebhooksRepository

CHARGE_ATTEMPTS = Counter(
    "payments_charge_attempts_total",
    "Checkout payments asked of Stripe, by payment method type, outcome (authorized, "
    "requires_action, saved: a card saved for a request; processing: a bank debit; failed) "
    "and decline code (`none` when not declined).",
    ["payment_method", "outcome", "decline_code"],
)
REFUND_DURATION = Histogram(
    "payments_refund_duration_seconds",
    "From a refund's request to its success, by method (card, ...).",
    ["method"],
    buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 86400),
)
WEBHOOK_LAG = Histogram(
    "payments_webhook_lag_seconds",
    "From a Stripe event's `created` to payments having applied it, by event type.",
    ["event_type"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
)
AUTHORIZATIONS_EXPIRING = Gauge(
    "payments_authorizations_expiring_24h",
    "Card authorizations not captured or voided that lapse within 24 hours.",
)
WEBHOOKS_FAILED = Gauge(
    "payments_webhooks_failed",
    "Stored Stripe events set aside after failing to apply, waiting for ops (webhook-replay).",
)


def charge_attempted(payment_method: str, outcome: str, decline_code: str | None) -> None:
    counter = CHARGE_ATTEMPTS.labels(payment_method, outcome, decline_code or "none")
    after_commit(counter.inc)


def refund_succeeded(method: str, seconds: float) -> None:
    after_commit(lambda: REFUND_DURATION.labels(method).observe(seconds))


def webhook_applied(event_type: str, lag_seconds: float) -> None:
    after_commit(lambda: WEBHOOK_LAG.labels(event_type).observe(lag_seconds))


def gauges_worker(lifetime: timedelta) -> Worker:
    async def refresh(runtime: ServiceRuntime) -> None:
        # The card networks' limit as payments assumes it, minus a day.
        expiring = await PaymentsRepository(runtime.db).authorized_before(
            lifetime - timedelta(hours=24)
        )
        AUTHORIZATIONS_EXPIRING.set(expiring)
        WEBHOOKS_FAILED.set(await WebhooksRepository(runtime.db).failed_count())

    return every(metrics.refresh_seconds(), refresh, name="payments_gauges")
