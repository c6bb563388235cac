"""Finance follows the simulator's clock (`FINANCE_CLOCK_URL`, as `make up` sets it): moving
simulated time past a stay makes the scheduler pay its host, with no change to the system
clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from eventkit.clock import FollowedClock
from tests.support.finance_queue import QueueHarness, entry_id, finance_pool

pytestmark = pytest.mark.integration


@pytest.fixture
async def pool(pg_ready: None) -> AsyncIterator[asyncpg.Pool]:
    async with finance_pool() as pool:
        yield pool


async def test_moving_simulated_time_past_the_stay_pays_the_host(
    pool: asyncpg.Pool, sim: httpx.AsyncClient, sim_base: str
) -> None:
    clock = FollowedClock(f"{sim_base}/_sim/clock")
    await clock.refresh()
    q = QueueHarness(pool, clock=clock)
    try:
        checkout, captured = q.booking(starts_at=datetime.now(UTC) + timedelta(hours=1))
        await q.deliver(checkout, captured)
        await q.run_due()
        assert (await q.entry(entry_id(captured)))["state"] == "scheduled"

        moved = await sim.post("/_sim/clock/advance", json={"seconds": 26 * 3600})
        assert moved.status_code == 200
        await clock.refresh()
        assert clock.now() - datetime.now(UTC) > timedelta(hours=25)
        await q.run_due()
        assert (await q.entry(entry_id(captured)))["state"] == "released"
    finally:
        await q.close()
