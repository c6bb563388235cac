"""eventkit.clock: a service follows the simulator's clock (`GET /_sim/clock`)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from eventkit.clock import FollowedClock, SystemClock, clock_from
from tests.support.servers import serve

DAY = 86_400


def sim_clock(offset: float) -> httpx.AsyncClient:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/_sim/clock"
        return httpx.Response(200, json={"now": int(time.time() + offset), "offset": offset})

    return httpx.AsyncClient(transport=httpx.MockTransport(answer))


async def test_a_followed_clock_is_as_far_ahead_as_the_simulator() -> None:
    clock = FollowedClock("http://sim/_sim/clock")
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=1)  # before any read
    async with sim_clock(3 * DAY) as client:
        await clock.refresh(client)
    ahead = clock.now() - datetime.now(UTC)
    assert timedelta(days=3) - timedelta(seconds=2) < ahead < timedelta(days=3, seconds=2)


async def test_an_unreadable_clock_keeps_the_last_offset() -> None:
    clock = FollowedClock("http://sim/_sim/clock")
    async with sim_clock(DAY) as client:
        await clock.refresh(client)

    def down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503)

    async with httpx.AsyncClient(transport=httpx.MockTransport(down)) as client:
        with pytest.raises(httpx.HTTPStatusError):
            await clock.refresh(client)
    assert clock.now() - datetime.now(UTC) > timedelta(hours=23)


async def test_the_refresh_loop_stops_when_asked() -> None:
    clock = FollowedClock("http://127.0.0.1:9/_sim/clock", refresh_seconds=0.01, timeout=0.1)
    stop = asyncio.Event()
    task = asyncio.create_task(clock.run(stop))
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    assert clock.offset == 0.0  # nothing readable there: still the system's time


def test_no_url_is_the_system_clock() -> None:
    assert isinstance(clock_from(""), SystemClock)
    assert isinstance(clock_from("http://127.0.0.1:12111/_sim/clock"), FollowedClock)


def test_a_command_reads_the_followed_clock_once_before_acting() -> None:
    """A CLI (close-day, payouts) has no refresh loop: it reads the clock at start, and keeps
    the system's time when the clock cannot be read."""

    async def sim(_: Request) -> JSONResponse:
        return JSONResponse({"now": time.time() + 2 * DAY, "offset": 2 * DAY})

    app = Starlette(routes=[Route("/_sim/clock", sim)])
    with serve(app, "the clock") as base_url:
        clock = FollowedClock(f"{base_url}/_sim/clock")
        clock.read_once()
        ahead = clock.now() - datetime.now(UTC)
        assert timedelta(days=2) - timedelta(seconds=2) < ahead < timedelta(days=2, seconds=2)
    unreadable = FollowedClock("http://127.0.0.1:9/_sim/clock", timeout=0.2)
    unreadable.read_once()
    assert unreadable.offset == 0.0
