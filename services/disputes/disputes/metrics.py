"""Disputes' own metrics (docs/observability.md); eventkit.metrics has the common ones.

Deadlines are counted on the disputes clock (`DISPUTES_CLOCK_URL`), the one `due_by` is
compared with everywhere else in the service.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from prometheus_client import Gauge

from disputes.adapters.cases_repository import CasesRepository
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

# Still before the bank's decision (the statuses reminders go out for): due_by matters.
_OPEN = sorted(REMINDED)


def gauges_worker(now: Callable[[], datetime]) -> Worker:
    async def refresh(runtime: ServiceRuntime) -> None:
        async with runtime.db.acquire() as conn:
            due72, due24 = await CasesRepository(conn).due_counts(now(), sorted(RESPONDABLE), _OPEN)
        DUE_72H.set(due72)
        DUE_24H_NO_EVIDENCE.set(due24)

    return every(metrics.refresh_seconds(), refresh, name="disputes_gauges")
