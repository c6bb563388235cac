"""The one poller of the tests: wait until a condition holds, or check that one keeps holding.

A test never sleeps a fixed time before an assertion. To wait for something, poll it with
`wait_until` (or `wait_for`/`eventually` in async code) and fail with the last value seen. To
check that nothing happens, poll with `stays` (or `stays_async`) for the whole window and fail
the moment it changes, instead of sleeping and looking once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


def wait_until(
    fetch: Callable[[], Any],
    done: Callable[[Any], Any] = bool,
    timeout: float = 40.0,
    interval: float = 0.2,
    what: str = "the expected state",
) -> Any:
    """Poll ``fetch`` until ``done`` holds for its value, and return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"never reached {what} within {timeout}s: {value!r}"
        time.sleep(interval)


def stays(
    fetch: Callable[[], Any],
    holds: Callable[[Any], Any],
    seconds: float,
    interval: float = 0.1,
    what: str = "the state",
) -> Any:
    """Poll ``fetch`` for ``seconds``; ``holds`` must be true of every value. The last one."""
    deadline = time.monotonic() + seconds
    while True:
        value = fetch()
        assert holds(value), f"{what} changed: {value!r}"
        if time.monotonic() >= deadline:
            return value
        time.sleep(interval)


async def at_once(value: T) -> T:
    """``value`` as an awaitable: `eventually`/`wait_for` on state kept in memory."""
    return value


async def wait_for(
    check: Callable[[], Awaitable[bool]], timeout: float = 30.0, interval: float = 0.1
) -> None:
    """Await ``check`` until it answers true."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


async def eventually(
    fetch: Callable[[], Awaitable[Any]],
    done: Callable[[Any], Any] = bool,
    timeout: float = 40.0,
    interval: float = 0.2,
    what: str = "the expected state",
) -> Any:
    """Await ``fetch`` until ``done`` holds for its value, and return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = await fetch()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"never reached {what} within {timeout}s: {value!r}"
        await asyncio.sleep(interval)


async def stays_async(
    check: Callable[[], Awaitable[bool]], seconds: float, interval: float = 0.1, what: str = ""
) -> None:
    """Await ``check`` for ``seconds``; it must answer true every time."""
    deadline = time.monotonic() + seconds
    while True:
        assert await check(), f"{what or 'the condition'} stopped holding"
        if time.monotonic() >= deadline:
            return
        await asyncio.sleep(interval)
