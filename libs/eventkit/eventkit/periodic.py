"""The one periodic-task mechanism of every service: run a step every N seconds until stop;
and `Pace`, which keeps a long step to a share of the time.

A failing step is logged and tried again on the next round (the database or broker may be
briefly away); it never ends the loop. A draining worker (`drain=True`) goes again at once
while its step reports work done (a truthy result), and waits only once there is none.

At the stop a step under way is waited for (the runtime cancels it after its stop timeout),
except one whose cancellation loses nothing (`abandon_on_stop=True`), which is cancelled at
once: the gauges' refresh (read-only; its calls to a broker client the consumer is closing
could otherwise hang until that timeout) and finance's paced Stripe import (each batch its own
transaction, its cursor moved only at the end).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eventkit.runtime import ServiceRuntime, Worker

log = logging.getLogger("eventkit.periodic")

Step = Callable[["ServiceRuntime"], Awaitable[object]]


def every(
    seconds: float, step: Step, *, name: str, drain: bool = False, abandon_on_stop: bool = False
) -> Worker:
    """A runtime worker that runs `step(runtime)` now and then every `seconds` (draining: again
    at once while the step answers something truthy; `abandon_on_stop`: cancelled, not waited
    for, when the stop comes during a step)."""

    async def worker(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                work = step(runtime)
                more = await (_unless_stopped(work, stop) if abandon_on_stop else work)
            except Exception as exc:
                log.warning("%s %s failed, retried in %.1fs: %r", runtime.name, name, seconds, exc)
                more = False
            if drain and more:
                await asyncio.sleep(0)  # let the rest of the process run between batches
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=seconds)

    worker.__name__ = worker.__qualname__ = name
    return worker


async def _unless_stopped(work: Awaitable[object], stop: asyncio.Event) -> object:
    """`work`'s result; None, the work cancelled, when `stop` is set first."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not task.done():
            task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        return await task
    return None


@dataclass(frozen=True)
class Pace:
    """Background work done in steps that keeps to a share of the time, its `duty`: after a step
    that was busy `busy` seconds it waits `busy * (1 - duty) / duty`, so that a large round (a
    Stripe import of 20,000 transactions) spreads over a minute at a tenth of a core instead of
    taking a whole core for seconds while checkouts wait. Never longer than `most` seconds at a
    time: on a saturated machine every step takes longer, and the work must still keep up with
    what arrives. A duty of 1 never waits."""

    duty: float = 1.0
    most: float = 3.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def __post_init__(self) -> None:
        if not 0 < self.duty <= 1:
            raise ValueError(f"duty must be in (0, 1], not {self.duty}")

    async def after(self, busy: float) -> None:
        if self.duty < 1 and busy > 0:
            await self.sleep(min(busy * (1 - self.duty) / self.duty, self.most))


UNPACED = Pace()
