"""Helpers shared by the integration tests."""

from __future__ import annotations

import socket
import uuid
from typing import Any, ClassVar

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from marketplace_contracts import EventModel, make_envelope

# The async poller, long imported from here; it lives with the others in tests/support/poll.py.
from tests.support.poll import wait_for as wait_for


def ping_model(topic: str) -> type[EventModel]:
    """A test-only contract on a private topic, so tests never touch the system's topics."""

    class PingV1(EventModel):
        TYPE: ClassVar[str] = "test.ping"
        VERSION: ClassVar[int] = 1
        TOPIC: ClassVar[str] = topic

        key: str
        seq: int
        fail: str = ""  # "always": the handler always raises

    return PingV1


async def add_outbox_rows(
    pool: asyncpg.Pool, table: str, model: type[EventModel], keys: list[str], per_key: int
) -> list[uuid.UUID]:
    """Interleave keys (k0#0, k1#0, ..., k0#1, ...) in one transaction, as the outbox does."""
    rows, ids = [], []
    for seq in range(per_key):
        for key in keys:
            env = make_envelope(
                model(key=key, seq=seq), key=key, producer="test", correlation_id=uuid.uuid4()
            )
            ids.append(env.event_id)
            rows.append((env.event_id, model.TOPIC, key, model.TYPE, env.to_bytes()))
    async with pool.acquire() as conn:
        await conn.executemany(
            f"INSERT INTO booking.{table} (event_id, topic, key, event_type, payload) "
            "VALUES ($1, $2, $3, $4, $5)",
            rows,
        )
    return ids


async def read_topic(bootstrap: str, topic: str) -> list[Any]:
    """Every record currently in the topic, read without a consumer group."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topic, p)
            for p in sorted(await consumer._client._wait_on_metadata(topic))
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        records: list[Any] = []
        while await _behind(consumer, end):
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()


async def _behind(consumer: AIOKafkaConsumer, end: dict[TopicPartition, int]) -> bool:
    for tp, offset in end.items():
        if await consumer.position(tp) < offset:
            return True
    return False


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
