"""The load generator's HTTP client: aiohttp, behind the few calls the saga benchmarks make.

A load generator on the machine it measures must cost little: httpx and httpcore spent about
1.8 ms of CPU per request here under load (the pool is scanned on every request, anyio wraps
every socket call), aiohttp about 0.13 ms (docs/benchmarks.md). Idle connections are dropped
after 2 s, before the gateway (uvicorn: 5 s) would close one under a request.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp

HTTPError = (aiohttp.ClientError, asyncio.TimeoutError)
"""What a failed request raises (no answer at all), as `except HTTPError` catches it."""


@dataclass(frozen=True)
class Reply:
    status_code: int
    headers: Mapping[str, str]  # case-insensitive, as HTTP headers are
    body: bytes

    def json(self) -> Any:
        return jsonlib.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


class Client:
    """`async with Client(base_url) as client`: GET and POST relative paths, `headers` sent
    with every request."""

    def __init__(self, base_url: str, *, timeout: float = 10.0, connections: int = 64) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.connections = connections
        self.headers: dict[str, str] = {}
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Client:
        connector = aiohttp.TCPConnector(limit=self.connections, keepalive_timeout=2.0)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=self.timeout)
        )
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(self, method: str, path: str, **kwargs: Any) -> Reply:
        assert self._session is not None, "use `async with Client(...)`"
        headers = {**self.headers, **kwargs.pop("headers", {})}
        if "timeout" in kwargs:
            kwargs["timeout"] = aiohttp.ClientTimeout(total=kwargs["timeout"])
        async with self._session.request(
            method, self.base_url + path, headers=headers, **kwargs
        ) as response:
            return Reply(response.status, response.headers.copy(), await response.read())

    async def get(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("POST", path, **kwargs)
