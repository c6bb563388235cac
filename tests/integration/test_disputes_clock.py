"""Disputes follows the simulator's clock (`DISPUTES_CLOCK_URL`, as `make up` sets it): moving
simulated time to the auto-submit margin before due_by submits the evidence, with no change
to the system clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from disputes.bootstrap import build_clock
from disputes.config import DisputesSettings
from eventkit.clock import FollowedClock
from eventkit.db import create_pool
from marketplace_contracts.events import disputes as out
from tests.conftest import service_dsn
from tests.support.disputes_harness import DisputesHarness, ids, opened

pytestmark = pytest.mark.integration


@pytest.fixture
async def pool(pg_ready: None) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(service_dsn("disputes"), min_size=1, max_size=4)
    assert pool is not None
    yield pool
    await pool.close()


async def test_advancing_simulated_time_fires_the_auto_submit(
    pool: asyncpg.Pool, sim: httpx.AsyncClient, sim_base: str
) -> None:
    clock = build_clock(DisputesSettings(clock_url=f"{sim_base}/_sim/clock"))
    assert isinstance(clock, FollowedClock)
    harness = DisputesHarness(pool, clock=clock)
    dispute_id, payment_id = ids()
    due_by = datetime.now(UTC) + timedelta(days=7)
    await harness.deliver(
        opened(dispute_id, payment_id, due_by=due_by, opened_at=datetime.now(UTC)), payment_id
    )

    await harness.fire()
    submitted = [
        e
        for e in await harness.emitted(dispute_id)
        if isinstance(e, out.EvidenceSubmissionRequestedV1)
    ]
    assert submitted == []
    moved = await sim.post("/_sim/clock/advance", json={"seconds": 6 * 86400 + 60})
    assert moved.status_code == 200
    await clock.refresh()
    assert clock.now() - datetime.now(UTC) > timedelta(days=6)
    await harness.fire()
    submitted = [
        e
        for e in await harness.emitted(dispute_id)
        if isinstance(e, out.EvidenceSubmissionRequestedV1)
    ]
    assert [(e.auto, e.actor) for e in submitted] == [(True, "system:auto_submit")]
    reminders = {
        e.hours_before
        for e in await harness.emitted(dispute_id)
        if isinstance(e, out.DeadlineApproachingV1)
    }
    assert reminders == {72, 24}  # the 24 h one due with the auto-submit, in either order
