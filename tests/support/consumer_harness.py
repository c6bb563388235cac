"""A service-like consumer for the eventkit tests: KeyedConsumer + MessageProcessor + a private
inbox and effects table, on a private topic and consumer group.

python -m tests.support.consumer_harness DSN BOOTSTRAP TOPIC GROUP INBOX EFFECTS runs one in its
own process (the crash test kills it with SIGKILL).
"""

from __future__ import annotations

import asyncio
import random
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from eventkit.consumer import MessageProcessor
from eventkit.db import create_pool
from eventkit.dead_letters import DeadLetters
from eventkit.keyed_consumer import KeyedConsumer
from eventkit.producer import durable_producer
from eventkit.routing import EventRouter
from marketplace_contracts import Envelope, EventModel, make_envelope
from tests.support import ping_model

Hook = Callable[[Any], Awaitable[None]]


class Harness:
    def __init__(
        self,
        bootstrap: str,
        pool: asyncpg.Pool,
        tables: tuple[str, str, str],
        model: type[EventModel],
        group: str,
        *,
        concurrency: int = 8,
        max_attempts: int = 3,
        before_apply: Hook | None = None,
        with_prepare: bool = False,
        max_buffered: int = 1000,
        service: str = "booking",
        retry_topic: str | None = None,
        fetch: dict[str, Any] | None = None,
    ) -> None:
        self.bootstrap, self.pool, self.model, self.group = bootstrap, pool, model, group
        _, self.inbox, self.effects_table = tables
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.before_apply = before_apply
        self.with_prepare = with_prepare
        self.max_buffered = max_buffered
        self.service = service  # names the dead-letter topic: `<service>.dlt`
        self.retry_topic = retry_topic  # also consumed, as the runtime does `<service>.retry`
        self.calls = 0
        # KeyedConsumer's fetch_min_bytes / fetch_wait_ms, instance_id / session_timeout_ms
        self.fetch = fetch or {}

    async def prepare(self, env: Envelope, event: Any) -> str:
        return f"prepared:{event.seq}"

    async def apply(self, conn: asyncpg.Connection, env: Envelope, event: Any, _: object) -> None:
        self.calls += 1
        if self.before_apply is not None:
            await self.before_apply(event)
        if event.fail == "always":
            raise RuntimeError(f"handler cannot process seq {event.seq}")
        await conn.execute(
            f"INSERT INTO booking.{self.effects_table} (event_id, key, seq) VALUES ($1, $2, $3)",
            env.event_id,
            event.key,
            event.seq,
        )

    async def __aenter__(self) -> Harness:
        self.producer = durable_producer(self.bootstrap, client_id="test")
        await self.producer.start()
        # Dead letters go to <service>.dlt (booking.dlt unless told); each test has its own
        # consumer group.
        router = EventRouter(self.service)
        router.add(self.model, self.apply, self.prepare if self.with_prepare else None)
        self.processor = MessageProcessor(
            self.pool,
            "booking",
            router,
            DeadLetters(self.producer, self.service),
            max_attempts=self.max_attempts,
            backoff_base=0.05,
            inbox_table=self.inbox,
        )
        self.consumer = KeyedConsumer(
            self.bootstrap,
            [self.model.TOPIC, *([self.retry_topic] if self.retry_topic else [])],
            self.group,
            self.processor,
            concurrency=self.concurrency,
            step_concurrency=self.concurrency,  # a test's bound holds for both kinds of unit
            max_buffered=self.max_buffered,
            max_records=50,
            commit_interval=0.1,
            **self.fetch,
        )
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(self.consumer.run(self.stop))
        return self

    async def __aexit__(self, *_: object) -> None:
        self.stop.set()
        await self.task
        await self.producer.stop()

    def envelope(self, seq: int, key: str = "k", fail: str = "") -> Envelope:
        return make_envelope(
            self.model(key=key, seq=seq, fail=fail),
            key=key,
            producer="test",
            correlation_id=uuid.uuid4(),
        )

    async def send(self, value: bytes, key: str = "k") -> None:
        await self.producer.send_and_wait(self.model.TOPIC, value, key=key.encode())

    async def effects(self, pool: asyncpg.Pool | None = None) -> list[asyncpg.Record]:
        """What the handler applied, read through `pool` (default: the consumer's own)."""
        return await (pool or self.pool).fetch(
            f"SELECT key, seq, event_id FROM booking.{self.effects_table} ORDER BY id"
        )


async def committed_offset(bootstrap: str, group: str, topic: str, partition: int = 0) -> int:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        return await consumer.committed(TopicPartition(topic, partition)) or 0
    finally:
        await consumer.stop()


async def _serve(
    dsn: str,
    bootstrap: str,
    topic: str,
    group: str,
    inbox: str,
    effects: str,
    instance_id: str = "",
    session_timeout_ms: str = "10000",
) -> None:
    """`instance_id`: a static member of the group under that id (empty: none)."""
    pool = await create_pool(dsn, min_size=1, max_size=10)
    assert pool is not None

    async def slow(_: Any) -> None:  # slow enough that a kill lands mid-work
        await asyncio.sleep(random.uniform(0.001, 0.01))

    membership = {"instance_id": instance_id or None, "session_timeout_ms": int(session_timeout_ms)}
    harness = Harness(
        bootstrap,
        pool,
        ("", inbox, effects),
        ping_model(topic),
        group,
        before_apply=slow,
        fetch=membership,
    )
    async with harness:
        await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    asyncio.run(_serve(*sys.argv[1:9]))
