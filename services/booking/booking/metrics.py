"""Booking's own metrics (docs/observability.md); eventkit.metrics has the common ones.

Measured in the handler's transaction, from the booking row's own timestamps (`created_at` is
when the gateway accepted the POST; `updated_at` its last change), so no clock of ours is
needed between the stages; observed once it commits (`eventkit.unit_of_work.after_commit`), so
a transaction rolled back and retried is counted once.
"""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import Histogram

from eventkit.unit_of_work import after_commit

# Seconds: a checkout normally takes well under one; a request waits hours for its host.
_BUCKETS = (0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60, 300, 3600, 86400)

CHECKOUT_DURATION = Histogram(
    "booking_checkout_duration_seconds",
    "From POST /v1/bookings to the payment captured, by booking mode (instant, request).",
    ["mode"],
    buckets=_BUCKETS,
)
SAGA_STAGE = Histogram(
    "booking_saga_stage_duration_seconds",
    "Time a checkout spent in one stage: payment_secured (POST to authorized or card saved), "
    "payment_failed (POST to declined), capture (last change before capture to captured).",
    ["stage", "mode"],
    buckets=_BUCKETS,
)


def _since(at: datetime) -> float:
    return max(0.0, (datetime.now(UTC) - at).total_seconds())


def stage_done(stage: str, mode: str, since: datetime) -> None:
    took = _since(since)
    after_commit(lambda: SAGA_STAGE.labels(stage, mode).observe(took))


def captured(mode: str, created_at: datetime, last_change: datetime) -> None:
    took = _since(created_at)
    after_commit(lambda: CHECKOUT_DURATION.labels(mode).observe(took))
    stage_done("capture", mode, last_change)
