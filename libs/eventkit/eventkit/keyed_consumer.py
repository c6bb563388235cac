"""A Kafka consumer that handles records concurrently by key, strictly in order within a key.

Modelled on Confluent's Parallel Consumer in key-ordering mode:

* Fetching goes on while records are being handled; a slow key (a slow payment-provider call)
  holds back only its own later records, never other keys, even in the same partition.
* At most `concurrency` units of simple events run at once, each on its own pooled connection
  (the runtime sizes the pool for it): one key's run of simple events (routes without
  `prepare`) in one transaction. Besides them, at most `step_concurrency` units of one event
  with a `prepare` step (a payment-provider call) run at once: such a unit holds a connection
  only for its short transaction after the call, so many can wait on the provider together
  without taking connections from the rest of the service. Only when more keys are ready than
  slots are free do the runs of several keys of a partition share a unit (up to `unit_size`
  records): under a backlog one transaction per few keys is what keeps throughput up, and a
  slow simple handler then delays only the keys of its own unit.
* Offsets are committed every `commit_interval` seconds, and on revocation and shutdown, up to
  each partition's lowest unfinished record: never past a record not yet handled.
* Backpressure: a partition with `max_buffered` records fetched and not finished is paused
  until half of them are done.
* Rebalance: a revoked partition's queued records are dropped, its units get `drain_timeout`
  seconds to finish (then are cancelled: their transactions roll back), and what is finished
  is committed. The new owner starts at that offset; the inbox drops what it redelivers.
* The broker being away is not fatal: the consumer keeps handling what it has, and starting,
  fetching and committing are retried with a capped backoff.
* With an `instance_id` the consumer is a static member of its group (Kafka's
  `group.instance.id`): started again under the same id after a crash, it takes back its own
  partitions at once instead of waiting for the broker to time the dead member's session out.
  Such a member does not leave the group when it stops: until it is back (or its session times
  out) its partitions wait for it. Two live consumers must never share an id (the broker
  fences the older one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from aiokafka.structs import TopicPartition

from eventkit.consumer import MessageProcessor
from eventkit.outages import Backoff
from eventkit.partition_work import PartitionWork, Unit

log = logging.getLogger("eventkit.keyed_consumer")


@dataclass
class ConsumerStats:
    fetched: int = 0
    commit_rounds: int = 0  # every look at what to commit, including "nothing new"
    commits: int = 0
    commit_failures: int = 0
    restarts: int = 0
    revocations: int = 0


class KeyedConsumer:
    def __init__(
        self,
        bootstrap: str,
        topics: list[str],
        group_id: str,
        processor: MessageProcessor,
        *,
        concurrency: int = 8,
        step_concurrency: int = 32,
        max_buffered: int = 1000,
        max_records: int = 500,
        poll_ms: int = 20,
        commit_interval: float = 0.5,
        unit_size: int = 100,
        drain_timeout: float = 5.0,
        fetch_min_bytes: int = 1,
        fetch_wait_ms: int = 500,
        client_id: str | None = None,
        instance_id: str | None = None,
        session_timeout_ms: int = 10_000,
    ) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self.group_id = group_id
        self.processor = processor
        self.concurrency = concurrency
        self.step_concurrency = step_concurrency
        self._running = {True: 0, False: 0}  # units in flight, by `Unit.step`
        self.max_buffered = max_buffered
        self.max_records = max_records
        self.poll_ms = poll_ms
        self.commit_interval = commit_interval
        self.unit_size = unit_size
        self.drain_timeout = drain_timeout
        self.fetch = {"fetch_min_bytes": fetch_min_bytes, "fetch_max_wait_ms": fetch_wait_ms}
        self.membership = {
            "group_instance_id": instance_id,
            "session_timeout_ms": session_timeout_ms,
            "heartbeat_interval_ms": min(3_000, session_timeout_ms // 3),
        }
        self.client_id = client_id or f"{group_id}-consumer"
        self.stats = ConsumerStats()
        self._works: dict[TopicPartition, PartitionWork] = {}
        self._tasks: dict[asyncio.Task[None], Unit] = {}
        self._rotation = 0
        self._consumer: AIOKafkaConsumer | None = None
        self._accepting = False

    # -- lifecycle -----------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; survives broker outages and unexpected errors."""
        backoff = Backoff(base=0.5)
        while not stop.is_set():
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap,
                group_id=self.group_id,
                client_id=self.client_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                **self.fetch,
                **self.membership,
            )
            consumer.subscribe(self.topics, listener=_Listener(self))
            try:
                await consumer.start()
            except Exception as exc:
                with contextlib.suppress(Exception):
                    await consumer.stop()
                await backoff.sleep(f"{self.group_id}: consumer start", exc)
                continue
            backoff.reset()
            self._consumer = consumer
            self._accepting = True
            try:
                await self._consume(consumer, stop)
            except Exception as exc:  # a fetch error aiokafka does not retry: start afresh
                self.stats.restarts += 1
                log.exception("%s: consumer failed, restarting: %r", self.group_id, exc)
                await backoff.sleep(f"{self.group_id}: consumer", exc)
            finally:
                await self._drain(consumer)

    async def _consume(self, consumer: AIOKafkaConsumer, stop: asyncio.Event) -> None:
        last_commit = time.monotonic()
        while not stop.is_set():
            fetched = await consumer.getmany(timeout_ms=self.poll_ms, max_records=self.max_records)
            for tp, records in fetched.items():
                work = self._works.get(tp)
                if work is None:
                    continue  # revoked meanwhile: its new owner reads it again
                items = [self.processor.classify(record) for record in records]
                self.processor.outcomes["ignored"] += sum(item.ignored for item in items)
                work.add(items)
                self.stats.fetched += len(records)
            self._apply_backpressure(consumer)
            self._dispatch()
            if time.monotonic() - last_commit >= self.commit_interval:
                await self._commit(consumer, self._works.values())
                last_commit = time.monotonic()

    async def _drain(self, consumer: AIOKafkaConsumer) -> None:
        """Give running units `drain_timeout` seconds, commit what finished, close."""
        self._accepting = False  # units finishing now must not start new ones
        await self._settle(list(self._tasks))
        await self._commit(consumer, self._works.values())
        self._works.clear()
        self._consumer = None
        with contextlib.suppress(Exception):
            await asyncio.wait_for(consumer.stop(), timeout=10)

    async def _settle(self, tasks: list[asyncio.Task[None]]) -> None:
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=self.drain_timeout)
        for task in pending:
            task.cancel()  # its transaction rolls back; the record stays uncommitted
        await asyncio.gather(*pending, return_exceptions=True)
        await asyncio.sleep(0)  # let the done callbacks record what finished

    # -- rebalance -----------------------------------------------------------------------
    def on_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        for tp in assigned:
            self._works.setdefault(tp, PartitionWork(tp))
        log.info("%s: assigned %s", self.group_id, sorted(assigned))

    async def on_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        works = [self._works[tp] for tp in revoked if tp in self._works]
        self.stats.revocations += len(works)
        for work in works:
            work.drop_queued()
        tps = {work.tp for work in works}
        await self._settle([task for task, unit in self._tasks.items() if unit.work.tp in tps])
        if self._consumer is not None:
            await self._commit(self._consumer, works)
        for work in works:
            self._works.pop(work.tp, None)

    # -- work ----------------------------------------------------------------------------
    def _dispatch(self) -> None:
        works = list(self._works.values())
        if not self._accepting or not works:
            return
        free = self.concurrency - self._running[False]
        ready = sum(work.ready_count() for work in works)
        max_keys = max(1, -(-ready // max(1, free)))  # share units only when keys outnumber slots
        started = True
        while started:
            started = False
            # Round-robin over partitions, so a busy partition cannot take every slot.
            self._rotation = (self._rotation + 1) % len(works)
            for work in works[self._rotation :] + works[: self._rotation]:
                runs = self._running[False] < self.concurrency
                steps = self._running[True] < self.step_concurrency
                if not (runs or steps):
                    return
                unit = work.take(self.unit_size, max_keys, steps=steps, runs=runs)
                if unit is not None:
                    self._start(unit)
                    started = True

    def _start(self, unit: Unit) -> None:
        task = asyncio.create_task(self._run_unit(unit))
        self._tasks[task] = unit
        self._running[unit.step] += 1
        task.add_done_callback(self._unit_done)

    async def _run_unit(self, unit: Unit) -> None:
        while True:
            try:
                await self.processor.process_items(unit.items)
                return
            except Exception:  # a bug, not an outage (those are waited out inside): retry
                log.exception("%s: unit of %d failed, retrying", self.group_id, len(unit.items))
                await asyncio.sleep(1.0)

    def _unit_done(self, task: asyncio.Task[None]) -> None:
        unit = self._tasks.pop(task)
        self._running[unit.step] -= 1
        if task.cancelled():
            return  # unfinished: its records stay uncommitted
        unit.work.finish(unit)
        if self._works.get(unit.work.tp) is unit.work:
            self._dispatch()

    def _apply_backpressure(self, consumer: AIOKafkaConsumer) -> None:
        for tp, work in self._works.items():
            if not work.paused and work.buffered >= self.max_buffered:
                consumer.pause(tp)
                work.paused = True
            elif work.paused and work.buffered <= self.max_buffered // 2:
                consumer.resume(tp)
                work.paused = False

    async def _commit(self, consumer: AIOKafkaConsumer, works: Iterable[PartitionWork]) -> None:
        self.stats.commit_rounds += 1
        offsets: dict[TopicPartition, int] = {}
        for work in works:
            offset = work.committable()
            if offset is not None and offset != work.committed:
                offsets[work.tp] = offset
        if not offsets:
            return
        try:
            # Bounded: aiokafka retries a commit while the coordinator is away, and the loop
            # must keep dispatching meanwhile. The next round commits the newer offsets.
            await asyncio.wait_for(consumer.commit(offsets), timeout=10)
        except Exception as exc:
            self.stats.commit_failures += 1
            log.warning("%s: commit of %s failed, retried later: %r", self.group_id, offsets, exc)
            return
        self.stats.commits += 1
        for tp, offset in offsets.items():
            if tp in self._works:
                self._works[tp].committed = offset

    async def lag(self) -> dict[TopicPartition, int]:
        """Per assigned partition, the high watermark of the last fetch minus the committed
        offset (eventkit.metrics_refresh); partitions not fetched yet are left out."""
        consumer = self._consumer
        lags: dict[TopicPartition, int] = {}
        if consumer is None:
            return lags
        for tp, work in list(self._works.items()):
            high = consumer.highwater(tp)
            if high is None:
                continue
            committed = work.committed
            if committed is None:
                committed = await consumer.committed(tp) or 0
            lags[tp] = max(0, high - committed)
        return lags

    async def topic_depth(self, topic: str, partitions: Iterable[int]) -> int | None:
        """Records retained in `topic` (end minus beginning offsets), or None when not running."""
        consumer = self._consumer
        tps = [TopicPartition(topic, p) for p in partitions]
        if consumer is None or not tps:
            return None
        begin = await consumer.beginning_offsets(tps)
        end = await consumer.end_offsets(tps)
        return sum(end[tp] - begin[tp] for tp in tps)

    def status(self) -> dict[str, Any]:
        return {
            "in_flight": len(self._tasks),
            "buffered": sum(w.buffered for w in self._works.values()),
            "paused": sorted(str(w.tp) for w in self._works.values() if w.paused),
            "fetched": self.stats.fetched,
            "commits": self.stats.commits,
            "commit_failures": self.stats.commit_failures,
        }


class _Listener(ConsumerRebalanceListener):
    def __init__(self, owner: KeyedConsumer) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.owner.on_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.owner.on_assigned(assigned)
