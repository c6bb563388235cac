"""The outbox relay against real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka.errors import KafkaTimeoutError

from eventkit.producer import durable_producer
from eventkit.relay import FAULT_ENV, OutboxRelay
from marketplace_contracts import Envelope
from tests.conftest import create_topic, service_dsn
from tests.support import add_outbox_rows, ping_model, read_topic, wait_for
from tests.support.poll import at_once, stays_async

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


async def _unpublished(pool: asyncpg.Pool, table: str) -> int:
    return await pool.fetchval(f"SELECT count(*) FROM booking.{table} WHERE published_at IS NULL")


async def _run_relay(
    bootstrap: str, table: str, **kwargs: object
) -> tuple[OutboxRelay, asyncio.Event, asyncio.Task[None]]:
    producer = durable_producer(bootstrap, client_id="test-relay")
    await producer.start()
    tag = table.removesuffix("_outbox")
    relay = OutboxRelay(
        service_dsn("booking"), "booking", producer, table=table, channel=f"{tag}_outbox", **kwargs
    )  # type: ignore[arg-type]
    stop = asyncio.Event()

    async def run() -> None:
        try:
            await relay.run(stop)
        finally:
            await producer.stop()

    return relay, stop, asyncio.create_task(run())


async def _parked_relay(
    bootstrap: str, table: str, tag: str, **kwargs: object
) -> tuple[OutboxRelay, asyncio.Event, asyncio.Task[None], str]:
    """A relay on a topic of its own, with a 5-minute poll, once its first (empty) look is
    done: from then on only a NOTIFY wakes it."""
    topic = f"test.{tag}.{uuid.uuid4().hex[:8]}"
    await create_topic(bootstrap, topic, partitions=1)
    relay, stop, task = await _run_relay(bootstrap, table, poll_interval=300.0, **kwargs)
    await wait_for(lambda: at_once(relay.stats.active and relay.stats.selects >= 1))
    return relay, stop, task, topic


async def test_relay_publishes_every_row_once_in_order_per_key_with_envelope_headers(
    kafka_bootstrap: str, booking_pool: asyncpg.Pool, scratch_tables: tuple[str, str, str]
) -> None:
    outbox, _, _ = scratch_tables
    topic = f"test.relay.{uuid.uuid4().hex[:8]}"
    await create_topic(kafka_bootstrap, topic, partitions=3)
    model = ping_model(topic)
    ids = await add_outbox_rows(booking_pool, outbox, model, [f"k{i}" for i in range(7)], 40)

    _, stop, task = await _run_relay(kafka_bootstrap, outbox, batch_size=64)
    await wait_for(lambda: _no_unpublished(booking_pool, outbox))
    stop.set()
    await task

    records = await read_topic(kafka_bootstrap, topic)
    seqs: dict[str, list[int]] = defaultdict(list)
    for record in records:
        envelope = Envelope.from_bytes(record.value)
        assert record.key.decode() == envelope.key
        headers = dict(record.headers)
        assert headers["event_id"].decode() == str(envelope.event_id)
        assert headers["event_type"] == b"test.ping"
        seqs[envelope.key].append(envelope.data["seq"])
    assert sorted(Envelope.from_bytes(r.value).event_id for r in records) == sorted(ids)
    assert all(s == list(range(40)) for s in seqs.values()), seqs


async def _no_unpublished(pool: asyncpg.Pool, table: str) -> bool:
    return await _unpublished(pool, table) == 0


async def test_relay_wakes_on_notify_instead_of_waiting_for_the_poll(
    kafka_bootstrap: str, booking_pool: asyncpg.Pool, scratch_tables: tuple[str, str, str]
) -> None:
    outbox, _, _ = scratch_tables
    relay, stop, task, topic = await _parked_relay(kafka_bootstrap, outbox, "notify")
    # It looks no more while nothing is notified.
    await stays_async(lambda: at_once(relay.stats.selects == 1), 0.5, what="the relay parked")
    await add_outbox_rows(booking_pool, outbox, ping_model(topic), ["k"], 3)
    # Far below the poll interval: only the NOTIFY can have woken it.
    await wait_for(lambda: _no_unpublished(booking_pool, outbox), timeout=20)
    stop.set()
    await task


async def test_a_round_that_left_nothing_behind_waits_for_the_next_notify(
    kafka_bootstrap: str, booking_pool: asyncpg.Pool, scratch_tables: tuple[str, str, str]
) -> None:
    """One look at the outbox per committed transaction of rows, not two: selecting again at
    once after a round that published all it found came back empty nearly every time."""
    outbox, _, _ = scratch_tables
    relay, stop, task, topic = await _parked_relay(kafka_bootstrap, outbox, "rounds")
    for n in (1, 2, 3):
        await add_outbox_rows(booking_pool, outbox, ping_model(topic), ["k"], 1)
        await wait_for(lambda n=n: at_once(relay.stats.published == n), timeout=20)
    assert relay.stats.selects == 1 + 3  # the first (empty) look, then one per NOTIFY
    stop.set()
    await task


async def test_a_round_marks_the_last_rounds_rows_in_its_select(
    kafka_bootstrap: str, booking_pool: asyncpg.Pool, scratch_tables: tuple[str, str, str]
) -> None:
    """Rows that keep coming cost one statement per round: the mark of what the last round
    published rides with the next select; the last round's rows are marked on the way out."""
    outbox, _, _ = scratch_tables
    relay, stop, task, topic = await _parked_relay(
        kafka_bootstrap, outbox, "marks", mark_delay=300.0
    )
    for n in (1, 2, 3):
        await add_outbox_rows(booking_pool, outbox, ping_model(topic), ["k"], 1)
        await wait_for(lambda n=n: at_once(relay.stats.published == n), timeout=20)
        # Only this round's row waits for its mark; the earlier ones went with its select.
        assert await _unpublished(booking_pool, outbox) == 1
    assert relay.stats.marks_alone == 0
    stop.set()
    await task
    assert await _unpublished(booking_pool, outbox) == 0
    assert relay.stats.marks_alone == 1
    assert len(await read_topic(kafka_bootstrap, topic)) == 3


async def test_a_published_row_is_marked_alone_when_no_other_comes(
    kafka_bootstrap: str, booking_pool: asyncpg.Pool, scratch_tables: tuple[str, str, str]
) -> None:
    outbox, _, _ = scratch_tables
    relay, stop, task, topic = await _parked_relay(
        kafka_bootstrap, outbox, "mark_alone", mark_delay=0.2
    )
    await add_outbox_rows(booking_pool, outbox, ping_model(topic), ["k"], 2)
    await wait_for(lambda: _no_unpublished(booking_pool, outbox), timeout=20)
    assert (relay.stats.published, relay.stats.marks_alone) == (2, 1)
    stop.set()
    await task


async def test_only_one_relay_is_active_and_a_standby_takes_over_when_it_dies(
    kafka_bootstrap: str, booking_pool: asyncpg.Pool, scratch_tables: tuple[str, str, str]
) -> None:
    outbox, _, _ = scratch_tables
    topic = f"test.failover.{uuid.uuid4().hex[:8]}"
    await create_topic(kafka_bootstrap, topic, partitions=1)
    first, stop_first, first_task = await _run_relay(kafka_bootstrap, outbox)
    await wait_for(lambda: at_once(first.stats.active))
    second, stop_second, second_task = await _run_relay(kafka_bootstrap, outbox, standby_poll=0.2)
    # The advisory lock is held by the first: the second keeps standing by.
    await stays_async(lambda: at_once(not second.stats.active), 1.0, what="the second standing by")

    stop_first.set()  # the first relay's session ends, releasing its lock
    await first_task
    await wait_for(lambda: at_once(second.stats.active), timeout=10)
    await add_outbox_rows(booking_pool, outbox, ping_model(topic), ["k"], 5)
    await wait_for(lambda: _no_unpublished(booking_pool, outbox))
    assert second.stats.published == 5
    stop_second.set()
    await second_task


async def test_relay_killed_between_send_and_commit_loses_nothing_and_resends(
    kafka_bootstrap: str, booking_pool: asyncpg.Pool, scratch_tables: tuple[str, str, str]
) -> None:
    outbox, _, _ = scratch_tables
    topic = f"test.crash.{uuid.uuid4().hex[:8]}"
    await create_topic(kafka_bootstrap, topic, partitions=2)
    ids = await add_outbox_rows(booking_pool, outbox, ping_model(topic), ["a", "b", "c"], 10)
    tag = outbox.removesuffix("_outbox")
    proc = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "tests.support.relay_proc",
            service_dsn("booking"),
            "booking",
            outbox,
            f"{tag}_outbox",
            kafka_bootstrap,
        ],
        env={**os.environ, FAULT_ENV: "crash_after_send", "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        timeout=60,
        capture_output=True,
    )
    assert proc.returncode == 70, proc.stderr.decode()[-2000:]
    sent_before_crash = await read_topic(kafka_bootstrap, topic)
    assert sent_before_crash, "the crash must come after Kafka acknowledged the batch"
    assert await _unpublished(booking_pool, outbox) == 30  # nothing was marked published

    _, stop, task = await _run_relay(kafka_bootstrap, outbox)
    await wait_for(lambda: _no_unpublished(booking_pool, outbox))
    stop.set()
    await task

    records = await read_topic(kafka_bootstrap, topic)
    delivered = [Envelope.from_bytes(r.value).event_id for r in records]
    assert set(delivered) == set(ids)  # no loss
    assert len(delivered) == 30 + len(sent_before_crash)  # the unmarked batch went out again


class FlakyProducer:
    """Delegates to a real producer, but the first batch sent to partition 0 fails."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.failed = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    async def send_batch(self, batch: Any, topic: str, *, partition: int) -> asyncio.Future[Any]:
        if partition == 0 and not self.failed:
            self.failed += 1
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            future.set_exception(KafkaTimeoutError("injected: batch expired"))
            return future
        return await self.real.send_batch(batch, topic, partition=partition)


async def test_a_failed_batch_is_resent_without_any_event_of_its_keys_overtaking_it(
    kafka_bootstrap: str, booking_pool: asyncpg.Pool, scratch_tables: tuple[str, str, str]
) -> None:
    outbox, _, _ = scratch_tables
    topic = f"test.flaky.{uuid.uuid4().hex[:8]}"
    await create_topic(kafka_bootstrap, topic, partitions=2)
    keys = [f"k{i}" for i in range(8)]  # murmur2 spreads these over both partitions
    await add_outbox_rows(booking_pool, outbox, ping_model(topic), keys, 20)
    real = durable_producer(kafka_bootstrap, client_id="test-flaky")
    await real.start()
    flaky = FlakyProducer(real)
    tag = outbox.removesuffix("_outbox")
    relay = OutboxRelay(
        service_dsn("booking"),
        "booking",
        flaky,
        table=outbox,  # type: ignore[arg-type]
        channel=f"{tag}_outbox",
        batch_size=50,
        retry_backoff=0.1,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await wait_for(lambda: _no_unpublished(booking_pool, outbox))
    finally:
        stop.set()
        await task
        await real.stop()

    assert flaky.failed == 1 and relay.stats.failed_batches == 1
    seqs: dict[str, list[int]] = defaultdict(list)
    partitions: dict[str, set[int]] = defaultdict(set)
    for record in await read_topic(kafka_bootstrap, topic):
        envelope = Envelope.from_bytes(record.value)
        seqs[envelope.key].append(envelope.data["seq"])
        partitions[envelope.key].add(record.partition)
    assert {p for ps in partitions.values() for p in ps} == {0, 1}
    assert all(s == list(range(20)) for s in seqs.values()), seqs  # in order, nothing twice
