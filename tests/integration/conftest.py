"""Fixtures the integration tests share: the Stripe simulator of a test module and a client of
it reset for each test (a module may define its own to serve it differently), and finance's
payout queue harness on the test database (`q`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.support.finance_queue import QueueHarness, finance_pool
from tests.support.payments_harness import reset_simulator, simulator


@pytest.fixture(scope="module")
def sim_base() -> Iterator[str]:
    """The simulator served in a thread for the whole module; its base URL."""
    with simulator() as base:
        yield base


@pytest.fixture
async def sim(sim_base: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the module's simulator, reset to no objects, events or injected failures."""
    async with reset_simulator(sim_base) as client:
        yield client


@pytest.fixture
async def q(pg_ready: None) -> AsyncIterator[QueueHarness]:
    """Finance's payout queue harness on its own pool of the test database."""
    async with finance_pool() as pool:
        harness = QueueHarness(pool)
        yield harness
        await harness.close()
