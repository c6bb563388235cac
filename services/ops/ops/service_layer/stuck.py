"""The stuck-saga detector: one round reads each active saga's state and keeps the stuck ones.

It runs on eventkit's periodic mechanism (`eventkit.periodic.every`), like every other
recurring job of the platform; a failed round is logged and the next one tries again.
"""

from __future__ import annotations

import asyncpg

from ops.adapters import timeline_repository as repo
from ops.config import OpsSettings
from ops.domain.sagas import Stuck, stuck


async def detect(pool: asyncpg.Pool, settings: OpsSettings) -> list[Stuck]:
    async with pool.acquire() as conn:
        now = await repo.database_now(conn)
        # No saga waited less than the shortest limit is stuck: those are not even read.
        shortest = min([settings.stuck_after_seconds, *settings.stuck_after.values()])
        states = await repo.saga_states(conn, settings.stuck_window_hours, shortest)
        found = stuck(states, now, settings.stuck_after_seconds, settings.stuck_after)
        await repo.replace_stuck(conn, found)
    return found
