"""Finance's own metrics (docs/observability.md); eventkit.metrics has the common ones.

Ages and lags are measured on finance's clock (`FINANCE_CLOCK_URL`: the simulator's under
`make up`), the clock its due dates and exceptions are written in.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from prometheus_client import Gauge, Histogram

from eventkit import metrics
from eventkit.periodic import every
from eventkit.runtime import ServiceRuntime, Worker
from eventkit.unit_of_work import after_commit
from finance.adapters import close_repository

PAYOUT_LAG = Histogram(
    "finance_payout_lag_seconds",
    "From a payout entry's due time (scheduled) to its transfer created, by currency.",
    ["currency"],
    buckets=(1, 5, 30, 60, 300, 900, 3600, 4 * 3600, 86400, 3 * 86400, 7 * 86400),
)
RECON_OPEN = Gauge("finance_recon_exceptions_open", "Open reconciliation exceptions.")
RECON_OLDEST = Gauge(
    "finance_recon_exception_oldest_open_age_seconds",
    "Age of the oldest open reconciliation exception (0 when none).",
)
CLOSE_SUCCEEDED = Gauge(
    "finance_daily_close_last_succeeded",
    "1 when the latest business day's close of the currency succeeded, 0 when it failed.",
    ["currency"],
)
CLOSE_AT = Gauge(
    "finance_daily_close_last_run_timestamp_seconds",
    "When the latest business day's close of the currency was last tried (Unix time).",
    ["currency"],
)


def payout_transferred(currency: str, due_at: datetime | None, now: datetime) -> None:
    """Observed once the transaction that records the transfer commits."""
    if due_at is not None:
        lag = max(0.0, (now - due_at).total_seconds())
        after_commit(lambda: PAYOUT_LAG.labels(currency).observe(lag))


def gauges_worker(now: Callable[[], datetime]) -> Worker:
    async def refresh(runtime: ServiceRuntime) -> None:
        recon = await close_repository.open_exceptions(runtime.db, now())
        RECON_OPEN.set(recon["open"])
        RECON_OLDEST.set(max(0.0, recon["oldest"]))
        for row in await close_repository.latest_closes(runtime.db):
            CLOSE_SUCCEEDED.labels(row["currency"]).set(1 if row["status"] == "closed" else 0)
            CLOSE_AT.labels(row["currency"]).set(row["at"])

    return every(metrics.refresh_seconds(), refresh, name="finance_gauges")
