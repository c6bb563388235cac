"""Trim what the eventing tables no longer need, so they stay small and their indexes hot.

* Published outbox rows are kept `outbox_days` for audit, then deleted.
* Inbox rows must outlive every way a duplicate can still arrive: topic retention (14 days) and
  a replay from the dead-letter topic (30 days). `inbox_days` defaults past both.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eventkit.runtime import ServiceRuntime

log = logging.getLogger("eventkit.housekeeping")


async def trim_eventing_tables(
    runtime: ServiceRuntime,
    stop: asyncio.Event,
    *,
    every_seconds: float = 600,
    outbox_days: int = 7,
    inbox_days: int = 45,
) -> None:
    schema = runtime.name
    while not stop.is_set():
        try:
            async with runtime.db.acquire() as conn:
                outbox = await conn.execute(
                    f"DELETE FROM {schema}.outbox WHERE published_at < now() - make_interval("
                    "days => $1)",
                    outbox_days,
                )
                inbox = await conn.execute(
                    f"DELETE FROM {schema}.inbox WHERE handled_at < now() - make_interval("
                    "days => $1)",
                    inbox_days,
                )
            log.debug("%s housekeeping: outbox %s, inbox %s", schema, outbox, inbox)
        except Exception as exc:  # retried on the next round
            log.warning("%s housekeeping failed: %r", schema, exc)
        try:
            await asyncio.wait_for(stop.wait(), timeout=every_seconds)
        except TimeoutError:
            pass
