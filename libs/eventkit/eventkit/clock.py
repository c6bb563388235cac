"""The time a service acts on: the system's, or a simulator's that tests move forward.

`FollowedClock(url)` follows a clock served at `url` (the Stripe simulator's `/_sim/clock`:
`{"now": <unix seconds>, "offset": <seconds>}`): it refreshes the offset every
`refresh_seconds` in the background and adds it to the system time, so `now()` never blocks
on the network. While the clock cannot be read, the last offset known is kept (a simulator
restarting must not move time backwards by the whole offset).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

import httpx

log = logging.getLogger("eventkit.clock")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock a test sets by hand."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, by: timedelta) -> None:
        self.at += by


class FollowedClock:
    def __init__(self, url: str, *, refresh_seconds: float = 1.0, timeout: float = 2.0) -> None:
        self.url = url
        self.refresh_seconds = refresh_seconds
        self.timeout = timeout
        self.offset = 0.0

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self.offset, UTC)

    async def refresh(self, client: httpx.AsyncClient | None = None) -> float:
        """Read the followed clock once; returns its offset (the simulator's `now` minus ours
        when it gives no offset)."""
        async with _client(client, self.timeout) as http:
            response = await http.get(self.url)
            response.raise_for_status()
            self.offset = _offset(response.json())
        return self.offset

    def read_once(self) -> None:
        """Read the followed clock now, blocking (a command line tool, or a service starting:
        before its first background refresh). Unreadable: the offset stays, with a warning."""
        try:
            response = httpx.get(self.url, timeout=self.timeout)
            response.raise_for_status()
            self.offset = _offset(response.json())
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            log.warning("clock %s unreadable, keeping offset %.0fs: %r", self.url, self.offset, exc)

    async def run(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(timeout=self.timeout) as http:
            while not stop.is_set():
                try:
                    await self.refresh(http)
                except (httpx.HTTPError, ValueError, KeyError) as exc:
                    log.warning(
                        "clock %s unreadable, keeping offset %.0fs: %r", self.url, self.offset, exc
                    )
                try:
                    await asyncio.wait_for(stop.wait(), timeout=self.refresh_seconds)
                except TimeoutError:
                    pass


def _offset(body: dict[str, object]) -> float:
    """The followed clock's offset from ours: its `now` minus ours, else its `offset`."""
    if body.get("now") is not None:
        return float(body["now"]) - time.time()  # type: ignore[arg-type]
    return float(body["offset"])  # type: ignore[arg-type]


class _client:
    """The given client, or a new one closed on exit."""

    def __init__(self, client: httpx.AsyncClient | None, timeout: float) -> None:
        self.client = client
        self.own: httpx.AsyncClient | None = None
        self.timeout = timeout

    async def __aenter__(self) -> httpx.AsyncClient:
        if self.client is not None:
            return self.client
        self.own = httpx.AsyncClient(timeout=self.timeout)
        return self.own

    async def __aexit__(self, *exc: object) -> None:
        if self.own is not None:
            await self.own.aclose()


def clock_from(url: str | None) -> SystemClock | FollowedClock:
    """The service's clock: followed when a URL is configured, else the system's."""
    return FollowedClock(url) if url else SystemClock()


def service_clock(url: str | None, refresh_seconds: float) -> SystemClock | FollowedClock:
    """The time a service acts on (`<SERVICE>_CLOCK_URL`): a followed clock is read once now,
    then refreshed every `refresh_seconds` by the service's clock worker (`run`)."""
    clock = clock_from(url)
    if isinstance(clock, FollowedClock):
        clock.refresh_seconds = refresh_seconds
        clock.read_once()
    return clock
