"""Finance's books worker gives up a round under way at the stop: a paced import can last a
minute, and the runtime would otherwise wait its stop timeout before cancelling it."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from finance.bootstrap import books_workers
from finance.config import FinanceSettings


class EndlessRound:
    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.cancelled = False

    async def tick(self, _db: Any) -> None:
        self.started.set()
        try:
            await asyncio.Event().wait()  # a round that is still pacing itself
        except asyncio.CancelledError:
            self.cancelled = True
            raise


async def test_a_round_under_way_is_cancelled_when_the_service_stops() -> None:
    books = EndlessRound()
    settings = FinanceSettings(close_check_seconds=0)
    [worker] = books_workers(settings, books)  # type: ignore[arg-type]
    stop = asyncio.Event()
    task = asyncio.create_task(worker(SimpleNamespace(db=None, name="finance"), stop))  # type: ignore[arg-type]
    await asyncio.wait_for(books.started.wait(), timeout=5)
    stop.set()
    await asyncio.wait_for(task, timeout=5)  # returns without the round ending by itself
    assert books.cancelled
