"""What a service hands its runtime to close is closed on stop, each once, in order, and one
that fails does not keep the others (nor the pool and producer) from closing."""

from __future__ import annotations

import pytest

from eventkit.routing import EventRouter
from eventkit.runtime import ServiceRuntime
from eventkit.settings import ServiceSettings

pytestmark = pytest.mark.asyncio


async def test_stop_runs_every_closer_once_even_after_one_fails() -> None:
    closed: list[str] = []

    async def first() -> None:
        closed.append("first")
        raise ConnectionResetError("already gone")

    async def second() -> None:
        closed.append("second")

    runtime = ServiceRuntime(
        "toy",
        ServiceSettings(database_url="postgresql://unused"),
        EventRouter("toy"),
        closers=(first, second),
    )
    await runtime.stop()
    assert closed == ["first", "second"]
