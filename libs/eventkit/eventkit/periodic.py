"""The one periodic-task mechanism of every service: run a step every N seconds until stop.

A failing step is logged and tried again on the next round (the database or broker may be
briefly away); it never ends the loop. A draining worker (`drain=True`) goes again at once
while its step reports work done (a truthy result), and waits only once there is none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eventkit.runtime import ServiceRuntime, Worker

log = logging.getLogger("eventkit.periodic")

Step = Callable[["ServiceRuntime"], Awaitable[object]]


def every(seconds: float, step: Step, *, name: str, drain: bool = False) -> Worker:
    """A runtime worker that runs `step(runtime)` now and then every `seconds` (draining: again
    at once while the step answers something truthy)."""

    async def worker(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                more = await step(runtime)
            except Exception as exc:
                log.warning("%s %s failed, retried in %.1fs: %r", runtime.name, name, seconds, exc)
                more = False
            if drain and more:
                await asyncio.sleep(0)  # let the rest of the process run between batches
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=seconds)

    worker.__name__ = name
    return worker
