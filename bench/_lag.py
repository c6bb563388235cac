"""How far the services' consumers are behind their topics: the events of their subscriptions
not yet committed by their consumer group (one group per service, named after it). The sweep
reports it for the services off a checkout's path (the books, disputes, the staff console),
which yield the cores to the checkout when the machine is short of them and catch up after."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

BACKOFFICE = ("finance", "disputes", "ops")


class Lag:
    """Each back-office group's committed offsets against the ends of their partitions."""

    def __init__(self, bootstrap: str, groups: Sequence[str] = BACKOFFICE) -> None:
        self.groups = tuple(groups)
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        self._ends = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)

    async def __aenter__(self) -> Lag:
        await self._admin.start()
        await self._ends.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._ends.stop()
        await self._admin.close()

    async def behind(self) -> dict[str, int]:
        """Events to go, per group."""
        lag: dict[str, int] = {}
        for group in self.groups:
            committed = await self._admin.list_consumer_group_offsets(group)
            last = await self._ends.end_offsets(list(committed)) if committed else {}
            lag[group] = sum(
                max(last[tp] - meta.offset, 0) for tp, meta in committed.items() if meta.offset >= 0
            )
        return lag

    async def caught_up(self, timeout: float = 600.0, interval: float = 0.5) -> float | None:
        """Seconds until no group has an event to go (None: not within `timeout`)."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if not any((await self.behind()).values()):
                return time.monotonic() - start
            await asyncio.sleep(interval)
        return None
