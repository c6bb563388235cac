"""Trim what the eventing tables no longer need, so they stay small and their indexes hot.

* Published outbox rows are kept `outbox_days` for audit, then deleted.
* Inbox rows must outlive every way a duplicate can still arrive: topic retention (14 days) and
  a replay from the dead-letter topic (30 days). `inbox_days` defaults past both.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING

from eventkit.periodic import every

if TYPE_CHECKING:
    from eventkit.runtime import ServiceRuntime, Worker

log = logging.getLogger("eventkit.housekeeping")


async def trim(runtime: ServiceRuntime, *, outbox_days: int, inbox_days: int) -> None:
    """One round: delete what is past its days (a failure is retried on the next round)."""
    schema = runtime.name
    async with runtime.db.acquire() as conn:
        outbox = await conn.execute(
            f"DELETE FROM {schema}.outbox WHERE published_at < now() - make_interval(days => $1)",
            outbox_days,
        )
        inbox = await conn.execute(
            f"DELETE FROM {schema}.inbox WHERE handled_at < now() - make_interval(days => $1)",
            inbox_days,
        )
    log.debug("%s housekeeping: outbox %s, inbox %s", schema, outbox, inbox)


def housekeeping(every_seconds: float = 600, outbox_days: int = 7, inbox_days: int = 45) -> Worker:
    """The worker every runtime starts: `trim` every `every_seconds`."""
    step = partial(trim, outbox_days=outbox_days, inbox_days=inbox_days)
    return every(every_seconds, step, name="housekeeping")


trim_eventing_tables = housekeeping()
