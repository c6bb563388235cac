"""KeyedConsumer on real Kafka + PostgreSQL: concurrent by key, in order within a key, offsets
committed only below the lowest unfinished record, nothing lost when the process is killed."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.conftest import create_topic, service_dsn
from tests.support import ping_model, wait_for
from tests.support.consumer_harness import Harness, committed_offset
from tests.support.poll import at_once

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _group() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


async def _topic(bootstrap: str, partitions: int) -> str:
    topic = f"test.keyed.{uuid.uuid4().hex[:8]}"
    await create_topic(bootstrap, topic, partitions=partitions)
    return topic


def _per_key(effects: list[asyncpg.Record]) -> dict[str, list[int]]:
    seqs: dict[str, list[int]] = defaultdict(list)
    for row in effects:  # ordered by the effects' id: the order handlers committed in
        seqs[row["key"]].append(row["seq"])
    return dict(seqs)


@pytest.mark.parametrize("with_prepare", [False, True], ids=["simple", "prepare"])
async def test_events_of_one_key_stay_in_order_while_keys_run_concurrently(
    kafka_bootstrap: str,
    booking_pool: asyncpg.Pool,
    scratch_tables: tuple[str, str, str],
    with_prepare: bool,
) -> None:
    topic = await _topic(kafka_bootstrap, partitions=3)
    running, most = 0, 0

    async def jitter(_: Any) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            # A handler's work of random length: units of other keys overlap it, and one of a
            # later event of the same key would finish first if the runner did not order them.
            await asyncio.sleep(random.uniform(0, 0.005))
        finally:
            running -= 1

    keys, per_key = [f"key-{i}" for i in range(40)], 8
    harness = Harness(
        kafka_bootstrap,
        booking_pool,
        scratch_tables,
        ping_model(topic),
        _group(),
        before_apply=jitter,
        with_prepare=with_prepare,
    )
    async with harness as h:
        for seq in range(per_key):
            for key in keys:
                await h.send(h.envelope(seq, key).to_bytes(), key)
        await wait_for(lambda: _count(h, len(keys) * per_key), timeout=60)

        effects = await h.effects()
        assert len(effects) == len(keys) * per_key
        assert _per_key(effects) == {key: list(range(per_key)) for key in keys}
        assert most > 1, "handlers never overlapped: the consumer is not concurrent"


async def test_a_slow_key_does_not_hold_back_other_keys_nor_is_its_offset_committed(
    kafka_bootstrap: str, booking_pool: asyncpg.Pool, scratch_tables: tuple[str, str, str]
) -> None:
    topic = await _topic(kafka_bootstrap, partitions=1)
    release, slow_started = asyncio.Event(), asyncio.Event()

    async def block_key_a(event: Any) -> None:
        if event.key == "A":
            slow_started.set()
            await release.wait()

    # Routes with `prepare` (as all of payments' Stripe calls are) run one event per unit.
    harness = Harness(
        kafka_bootstrap,
        booking_pool,
        scratch_tables,
        ping_model(topic),
        _group(),
        before_apply=block_key_a,
        with_prepare=True,
    )
    async with harness as h:
        await h.send(h.envelope(0, "A").to_bytes(), "A")  # offset 0: blocks
        for seq in range(10):  # offsets 1..10, same partition, other keys
            key = f"B{seq % 3}"
            await h.send(h.envelope(seq, key).to_bytes(), key)
        await asyncio.wait_for(slow_started.wait(), timeout=30)
        await wait_for(lambda: _count(h, 10))
        assert {r["key"] for r in await h.effects()} == {"B0", "B1", "B2"}

        # Several commit rounds after B finished: none may pass A's unfinished offset 0.
        rounds = h.consumer.stats.commit_rounds
        await wait_for(lambda: at_once(h.consumer.stats.commit_rounds >= rounds + 3))
        assert await committed_offset(kafka_bootstrap, h.group, topic) == 0

        release.set()
        await wait_for(lambda: _count(h, 11))
        await wait_for(lambda: _committed(kafka_bootstrap, h.group, topic, 11))


async def test_a_partition_with_too_many_unfinished_records_is_paused_then_resumed(
    kafka_bootstrap: str, booking_pool: asyncpg.Pool, scratch_tables: tuple[str, str, str]
) -> None:
    topic = await _topic(kafka_bootstrap, partitions=1)
    release = asyncio.Event()

    async def block_until_released(_: Any) -> None:
        await release.wait()

    harness = Harness(
        kafka_bootstrap,
        booking_pool,
        scratch_tables,
        ping_model(topic),
        _group(),
        before_apply=block_until_released,
        with_prepare=True,
        max_buffered=10,
    )
    async with harness as h:
        for seq in range(60):
            await h.send(h.envelope(seq, "hot").to_bytes(), "hot")
        await wait_for(lambda: at_once(bool(h.consumer.status()["paused"])))
        # Paused at 10 (one fetch of up to 50 may land before the pause takes effect).
        assert h.consumer.status()["buffered"] <= 10 + 50
        release.set()
        await wait_for(lambda: _count(h, 60))
        await wait_for(lambda: at_once(not h.consumer.status()["paused"]))
        assert [r["seq"] for r in await h.effects()] == list(range(60))


async def test_partitions_moved_to_a_second_consumer_lose_nothing_and_apply_each_event_once(
    kafka_bootstrap: str, booking_pool: asyncpg.Pool, scratch_tables: tuple[str, str, str]
) -> None:
    topic = await _topic(kafka_bootstrap, partitions=3)
    model, group = ping_model(topic), _group()

    async def jitter(_: Any) -> None:  # slow enough that the rebalance lands mid-work
        await asyncio.sleep(random.uniform(0.03, 0.06))

    def consumer() -> Harness:
        return Harness(
            kafka_bootstrap,
            booking_pool,
            scratch_tables,
            model,
            group,
            concurrency=2,
            before_apply=jitter,
            with_prepare=True,
        )

    keys, per_key = [f"key-{i}" for i in range(12)], 25
    async with consumer() as first:
        for seq in range(per_key):
            for key in keys:
                await first.send(first.envelope(seq, key).to_bytes(), key)
        await wait_for(lambda: _count(first, 30))
        async with consumer() as second:  # joins: the group rebalances mid-work
            await wait_for(lambda: at_once(first.consumer.stats.revocations > 0))
            await wait_for(lambda: at_once(second.consumer.stats.fetched > 0))
            await wait_for(lambda: _count(first, len(keys) * per_key), timeout=90)
            assert first.consumer.stats.commit_failures == 0
    effects = await first.effects()
    assert len({r["event_id"] for r in effects}) == len(effects) == len(keys) * per_key
    assert _per_key(effects) == {key: list(range(per_key)) for key in keys}


async def test_a_consumer_killed_mid_work_loses_nothing_and_applies_each_event_once(
    kafka_bootstrap: str, booking_pool: asyncpg.Pool, scratch_tables: tuple[str, str, str]
) -> None:
    topic = await _topic(kafka_bootstrap, partitions=3)
    _, inbox, effects_table = scratch_tables
    model, group = ping_model(topic), _group()
    keys, per_key = [f"key-{i}" for i in range(30)], 20
    sender = Harness(kafka_bootstrap, booking_pool, scratch_tables, model, group)
    sender_producer = await _producer(kafka_bootstrap)
    try:
        for seq in range(per_key):
            for key in keys:
                await sender_producer.send_and_wait(
                    topic, sender.envelope(seq, key).to_bytes(), key=key.encode()
                )
    finally:
        await sender_producer.stop()
    total = len(keys) * per_key
    argv = [sys.executable, "-m", "tests.support.consumer_harness", service_dsn("booking")]
    argv += [kafka_bootstrap, topic, group, inbox, effects_table]

    async def effects() -> int:
        return int(await booking_pool.fetchval(f"SELECT count(*) FROM booking.{effects_table}"))

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = await asyncio.create_subprocess_exec(*argv, cwd=ROOT, env=env)
    try:
        await wait_for(lambda: _at_least(effects, total // 4), timeout=60)
    finally:
        first.send_signal(signal.SIGKILL)  # no drain, no final commit
        await asyncio.wait_for(first.wait(), timeout=10)
    assert await effects() < total, "the first consumer finished before it was killed"

    second = await asyncio.create_subprocess_exec(*argv, cwd=ROOT, env=env)
    try:
        await wait_for(lambda: _at_least(effects, total), timeout=90)
    finally:
        second.terminate()
        await asyncio.wait_for(second.wait(), timeout=20)
    rows = await booking_pool.fetch(
        f"SELECT key, seq, event_id FROM booking.{effects_table} ORDER BY id"
    )
    assert len(rows) == total
    assert len({r["event_id"] for r in rows}) == total  # each event applied once
    assert _per_key(rows) == {key: list(range(per_key)) for key in keys}


async def test_a_static_member_killed_and_started_again_takes_its_partitions_back_at_once(
    kafka_bootstrap: str, booking_pool: asyncpg.Pool, scratch_tables: tuple[str, str, str]
) -> None:
    """`make up`'s services are static members of their groups: after kill -9 and a start
    under the same instance id the consumer handles new events at once. A dynamic member
    started again would wait for the broker to time out the dead one's session (60 s here,
    longer than this test waits)."""
    topic = await _topic(kafka_bootstrap, partitions=3)
    _, inbox, effects_table = scratch_tables
    model, group = ping_model(topic), _group()
    sender = Harness(kafka_bootstrap, booking_pool, scratch_tables, model, group)
    argv = [sys.executable, "-m", "tests.support.consumer_harness", service_dsn("booking")]
    argv += [kafka_bootstrap, topic, group, inbox, effects_table, f"static-{group}", "60000"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    producer = await _producer(kafka_bootstrap)

    async def effects() -> int:
        return int(await booking_pool.fetchval(f"SELECT count(*) FROM booking.{effects_table}"))

    async def send(seqs: range) -> None:
        for seq in seqs:
            key = f"key-{seq}"  # keys over every partition
            await producer.send_and_wait(
                topic, sender.envelope(seq, key).to_bytes(), key=key.encode()
            )

    try:
        first = await asyncio.create_subprocess_exec(*argv, cwd=ROOT, env=env)
        try:
            await send(range(10))
            await wait_for(lambda: _at_least(effects, 10), timeout=60)
        finally:
            first.send_signal(signal.SIGKILL)  # no LeaveGroup, no final commit
            await asyncio.wait_for(first.wait(), timeout=10)
        second = await asyncio.create_subprocess_exec(*argv, cwd=ROOT, env=env)
        try:
            await send(range(10, 20))
            await wait_for(lambda: _at_least(effects, 20), timeout=40)
        finally:
            second.terminate()
            await asyncio.wait_for(second.wait(), timeout=20)
    finally:
        await producer.stop()
    rows = await booking_pool.fetch(f"SELECT seq FROM booking.{effects_table}")
    assert sorted(r["seq"] for r in rows) == list(range(20))  # each once


async def _producer(bootstrap: str) -> Any:
    from eventkit.producer import durable_producer

    producer = durable_producer(bootstrap, client_id="test-sender")
    await producer.start()
    return producer


async def test_a_batching_consumer_takes_events_that_trickle_in_together(
    kafka_bootstrap: str, booking_pool: asyncpg.Pool, scratch_tables: tuple[str, str, str]
) -> None:
    """Finance, disputes and ops ask the broker to gather a batch (1 MiB or 250 ms): events
    sent one by one then share a few transactions, instead of one fetch and one each."""
    topic = await _topic(kafka_bootstrap, partitions=1)
    harness = Harness(
        kafka_bootstrap,
        booking_pool,
        scratch_tables,
        ping_model(topic),
        _group(),
        concurrency=1,
        fetch={"fetch_min_bytes": 1 << 20, "fetch_wait_ms": 3000},
    )
    async with harness as h:
        for seq in range(10):
            await h.send(h.envelope(seq, f"key-{seq}").to_bytes(), f"key-{seq}")
            await asyncio.sleep(0.02)  # pacing: each event reaches the broker on its own
        await wait_for(lambda: _count(h, 10), timeout=30)
    transactions = await booking_pool.fetchval(
        f"SELECT count(DISTINCT xmin::text) FROM booking.{scratch_tables[2]}"
    )
    # One fetch of all ten: the first key's unit, then the other nine share one unit (a
    # broker answering at once would have handed them over one by one, ten transactions).
    assert transactions <= 3, transactions


async def _count(h: Harness, n: int) -> bool:
    return len(await h.effects()) >= n


async def _at_least(count: Any, n: int) -> bool:
    return bool(await count() >= n)


async def _committed(bootstrap: str, group: str, topic: str, offset: int) -> bool:
    return await committed_offset(bootstrap, group, topic) == offset
