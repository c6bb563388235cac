"""Disputes' own metrics (docs/observability.md); eventkit.metrics has the common ones.

Deadlines are counted on the disputes clock (`DISPUTES_CLOCK_URL`), the one `due_by` is
compared with everywhere else in the service.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from prometheus_client import Gauge

from disputes.domain.case import REMINDED, RESPONDABLE
from eventkit import metrics
from eventkit.periodic import every
from eventkit.runtime import ServiceRuntime, Worker

DUE_72H = Gauge(
    "disputes_due_within_72h",
    "Open disputes (evidence still to be submitted or under review) due within 72 hours.",
)
DUE_24H_NO_EVIDENCE = Gauge(
    "disputes_due_within_24h_without_evidence",
    "Disputes due within 24 hours whose evidence is not submitted yet (status needs_response).",
)

_DUE = (
    "SELECT count(*) FILTER (WHERE due_by <= $1::timestamptz + interval '72 hours') AS due72, "
    "count(*) FILTER (WHERE due_by <= $1::timestamptz + interval '24 hours' "
    "  AND status = ANY($2::text[])) AS due24 "
    "FROM disputes.cases WHERE due_by >= $1::timestamptz AND status = ANY($3::text[])"
)
# Still before the bank's decision (the statuses reminders go out for): due_by matters.
_OPEN = sorted(REMINDED)


def gauges_worker(now: Callable[[], datetime]) -> Worker:
    async def refresh(runtime: ServiceRuntime) -> None:
        row = await runtime.db.fetchrow(_DUE, now(), sorted(RESPONDABLE), _OPEN)
        DUE_72H.set(row["due72"])
        DUE_24H_NO_EVIDENCE.set(row["due24"])

    return every(metrics.refresh_seconds(), refresh, name="disputes_gauges")
