"""The books' use cases in one place: what bootstrap wires once and the REST API, the CLI and
the periodic workers share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from eventkit.periodic import UNPACED, Pace
from finance.adapters import close_repository as close_db
from finance.adapters import recon_repository as recon_db
from finance.adapters.stripe_balance import StripeBalance
from finance.service_layer.close import CloseOutcome, DailyClose
from finance.service_layer.reconcile import ImportResult, MatchResult, Reconciler


@dataclass
class Books:
    stripe: StripeBalance
    reconciler: Reconciler
    daily_close: DailyClose
    now: Callable[[], datetime]
    import_every: timedelta
    import_pace: Pace = UNPACED  # the scheduled rounds' share of the time (the others: all)

    async def tick(self, pool: asyncpg.Pool) -> None:
        """The periodic step: keep the posting calendar on the finance clock, then import if
        due."""
        async with pool.acquire() as conn:
            await self.sync_calendar(conn)
        await self.import_if_due(pool)

    async def import_if_due(self, pool: asyncpg.Pool) -> tuple[ImportResult, MatchResult] | None:
        """A round is due when a webhook fact asked for one since the last round started, or
        when the last one is older than the import period."""
        async with pool.acquire() as conn:
            cursor = await recon_db.cursor(conn, self.reconciler.cursor)
        started, requested = cursor["last_started_at"], cursor["requested_at"]
        due = (
            started is None
            or (requested is not None and requested > started)
            or self.now() - started >= self.import_every
        )
        return await self.reconciler.run(pool, pace=self.import_pace) if due else None

    async def sync_calendar(self, conn: asyncpg.Connection) -> None:
        """Tell the posting trigger the cutoff and how far the finance clock runs from the
        database's (a simulated clock moves business dates with it)."""
        db_now = await recon_db.database_now(conn)
        cutoff = self.daily_close.cutoff
        await close_db.set_calendar(
            conn, cutoff.hour * 60 + cutoff.minute, (self.now() - db_now).total_seconds()
        )

    async def close_due(
        self, pool: asyncpg.Pool, currency: str | None = None
    ) -> list[CloseOutcome]:
        return await self.daily_close.close_due(pool, currency)
