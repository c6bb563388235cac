"""eventkit.periodic.every: the one worker loop of every service."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from eventkit.periodic import every

RUNTIME: Any = SimpleNamespace(name="test")


async def _run_until(worker: Any, stop: asyncio.Event, done: asyncio.Event) -> None:
    task = asyncio.create_task(worker(RUNTIME, stop))
    await asyncio.wait_for(done.wait(), timeout=5)
    stop.set()
    await asyncio.wait_for(task, timeout=5)


async def test_a_failing_step_is_retried_on_the_next_round_and_never_ends_the_loop() -> None:
    stop, done, calls = asyncio.Event(), asyncio.Event(), []

    async def step(runtime: Any) -> None:
        calls.append(runtime.name)
        if len(calls) < 3:
            raise OSError("the database is away")
        done.set()

    await _run_until(every(0.01, step, name="flaky"), stop, done)
    assert calls == ["test", "test", "test"]


async def test_a_draining_worker_goes_again_at_once_while_there_is_work() -> None:
    stop, done, batches = asyncio.Event(), asyncio.Event(), [5, 5, 2, 0]
    taken: list[int] = []

    async def step(_: Any) -> int:
        taken.append(batches.pop(0) if batches else 0)
        if not batches:
            done.set()
        return taken[-1]

    loop = asyncio.get_running_loop()
    started = loop.time()
    # An hour between rounds: only draining can take all four batches in time.
    await _run_until(every(3600, step, name="drain", drain=True), stop, done)
    assert taken == [5, 5, 2, 0]
    assert loop.time() - started < 5


async def test_without_drain_a_truthy_result_still_waits_for_the_next_round() -> None:
    stop, first, calls = asyncio.Event(), asyncio.Event(), []

    async def step(_: Any) -> int:
        calls.append(1)
        first.set()
        return 10

    task = asyncio.create_task(every(3600, step, name="plain")(RUNTIME, stop))
    await asyncio.wait_for(first.wait(), timeout=5)
    for _ in range(50):  # many turns of the loop: no second round without waiting an hour
        await asyncio.sleep(0)
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    assert calls == [1]


@pytest.mark.parametrize("abandon", [False, True])
async def test_at_the_stop_a_step_is_waited_for_unless_it_may_be_abandoned(abandon: bool) -> None:
    stop, started, finished = asyncio.Event(), asyncio.Event(), []

    async def step(_: Any) -> None:
        started.set()
        await asyncio.sleep(0.5)  # a broker call under way
        finished.append(1)

    task = asyncio.create_task(
        every(3600, step, name="gauges", abandon_on_stop=abandon)(RUNTIME, stop)
    )
    await asyncio.wait_for(started.wait(), timeout=5)
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    # Waited for, the step has finished when the worker ends; abandoned, it never finishes.
    assert finished == ([] if abandon else [1])
    await asyncio.sleep(0.6)  # past the step's own end: an abandoned step never finishes
    assert finished == ([] if abandon else [1])


async def test_an_abandonable_step_that_ends_before_the_stop_runs_every_round() -> None:
    stop, done, calls = asyncio.Event(), asyncio.Event(), []

    async def step(_: Any) -> None:
        calls.append(1)
        if len(calls) == 3:
            done.set()

    await _run_until(every(0.01, step, name="gauges", abandon_on_stop=True), stop, done)
    assert len(calls) >= 3
