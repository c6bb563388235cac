"""Service-like consumers for the dead-letter tests (tests.support.consumer_harness).

`FailingConsumer` consumes a private topic and its own `<service>.retry`, as eventkit.runtime
wires a service, and fails on events marked `fail` until it is fixed (`broken = False`).
`bystander` is another service consuming the same topic in its own group, with its own inbox:
it must see each event once, never a replay.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from marketplace_contracts import EventModel
from tests.conftest import create_topic
from tests.support import ping_model, read_topic
from tests.support.consumer_harness import Harness

PARTITIONS = 3


class Counting(Harness):
    async def applied(self) -> dict[int, int]:
        """seq -> how many times its effect was applied."""
        rows = await self.pool.fetch(
            f"SELECT seq, count(*) AS n FROM booking.{self.effects_table} GROUP BY seq"
        )
        return {r["seq"]: r["n"] for r in rows}

    async def effects_are(self, expected: dict[int, int]) -> bool:
        return await self.applied() == expected


class FailingConsumer(Counting):
    def __init__(self, bootstrap: str, pool: asyncpg.Pool, tables: tuple[str, str, str]) -> None:
        tag = uuid.uuid4().hex[:8]
        service = f"clitest{tag}"
        super().__init__(
            bootstrap,
            pool,
            tables,
            ping_model(f"test.cli.{tag}"),
            service,
            max_attempts=2,
            before_apply=self._fail_while_broken,
            service=service,
            retry_topic=f"{service}.retry",
        )
        self.dlt = f"{service}.dlt"
        self.retry = f"{service}.retry"
        self.broken = True

    async def _fail_while_broken(self, event: Any) -> None:
        if event.fail and self.broken:
            raise RuntimeError(f"bug: cannot handle seq {event.seq}")

    async def __aenter__(self) -> FailingConsumer:
        for topic in (self.model.TOPIC, self.dlt, self.retry):
            await create_topic(self.bootstrap, topic, partitions=PARTITIONS)
        await create_topic(self.bootstrap, f"{self.service}.dlt-notes", partitions=1)
        await super().__aenter__()
        return self

    async def send_event(self, key: str, seq: int, fail: bool = False) -> uuid.UUID:
        env = self.envelope(seq, key, fail="yes" if fail else "")
        await self.send(env.to_bytes(), key)
        return env.event_id

    async def dead_letters(self) -> list[Any]:
        return await read_topic(self.bootstrap, self.dlt)

    async def dead(self, count: int) -> bool:
        return len(await self.dead_letters()) >= count


@asynccontextmanager
async def bystander(
    bootstrap: str, pool: asyncpg.Pool, model: type[EventModel]
) -> AsyncIterator[Counting]:
    """Another service on `model`'s topic: its own group, inbox and effects table."""
    tag = f"t{uuid.uuid4().hex[:10]}"
    inbox, effects = f"{tag}_inbox", f"{tag}_effects"
    await pool.execute(f"CREATE TABLE booking.{inbox} (LIKE booking.inbox INCLUDING ALL)")
    await pool.execute(
        f"CREATE TABLE booking.{effects} (id bigserial PRIMARY KEY, event_id uuid NOT NULL, "
        "key text NOT NULL, seq integer NOT NULL)"
    )
    other = Counting(bootstrap, pool, ("", inbox, effects), model, f"other{tag}", service=tag)
    try:
        async with other:
            yield other
    finally:
        for table in (inbox, effects):
            await pool.execute(f"DROP TABLE IF EXISTS booking.{table}")
