"""Outbox relay: publishes committed outbox rows to Kafka, in order per key, exactly once in effect.

* One active relay per schema: a Postgres advisory lock held on the relay's own connection. A
  standby polls for the lock and takes over within `standby_poll` seconds of the holder's death
  (its session ends, so the lock is released).
* Wakes on LISTEN/NOTIFY (a statement trigger on the outbox), with a slow poll as a safety net.
* Rows are claimed in id order, grouped per (topic, partition), and each group goes out as ONE
  record batch: Kafka writes a batch all-or-nothing, so a failed send never leaves a later event
  of a key ahead of an earlier one. A partition whose batch failed or filled up sends nothing
  more in that round; the next round restarts from its oldest unpublished row.
* Rows are marked published only after the broker acknowledged them (acks=all). A crash between
  the two re-sends them: consumers drop the duplicate by `event_id` in their inbox.
* The mark rides with the next round's select, one statement for both, when more rows come
  within `mark_delay` seconds; otherwise it goes alone then. Under load that is one statement
  per round instead of two; idle, a published row stays unmarked for at most `mark_delay`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import zlib
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from eventkit import metrics
from eventkit.db import connect
from eventkit.ddl import notify_channel
from eventkit.outages import Backoff, is_outage
from eventkit.tracing import PublishSpans

log = logging.getLogger("eventkit.relay")

# Test hook: makes the process die right after Kafka acknowledged a batch and before the rows
# are marked published, the exact window the "relay killed between send and commit" test needs.
FAULT_ENV = "EVENTKIT_RELAY_FAULT"


@dataclass
class RelayStats:
    published: int = 0
    rounds: int = 0
    selects: int = 0  # every look for unpublished rows, including those that found none
    marks_alone: int = 0  # marks not carried by a select (no row came within `mark_delay`)
    failed_batches: int = 0
    active: bool = False
    last_error: str | None = None
    partitions: dict[str, list[int]] = field(default_factory=dict)


class OutboxRelay:
    def __init__(
        self,
        dsn: str,
        schema: str,
        producer: AIOKafkaProducer,
        *,
        batch_size: int = 2000,
        poll_interval: float = 1.0,
        standby_poll: float = 1.0,
        retry_backoff: float = 0.5,
        mark_delay: float = 0.1,
        table: str = "outbox",
        channel: str | None = None,
    ) -> None:
        self.dsn = dsn
        self.schema = schema
        self.producer = producer
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.standby_poll = standby_poll
        self.retry_backoff = retry_backoff
        self.mark_delay = mark_delay
        self.stats = RelayStats()
        self.table = f"{schema}.{table}"
        self.channel = channel or notify_channel(schema)
        self.lock_id = zlib.crc32(f"{self.table}:relay".encode())
        self._wake = asyncio.Event()
        self._left_behind = False  # the last round left rows for the next: a full batch
        self._unmarked: list[int] = []  # published, to be marked with the next select
        self._partitioner = DefaultPartitioner()
        self._select = (
            f"SELECT id, topic, key, event_type, event_id, payload, traceparent FROM {self.table} "
            "WHERE published_at IS NULL ORDER BY id LIMIT $1"
        )
        self._mark = f"UPDATE {self.table} SET published_at = now() WHERE id = ANY($1::bigint[])"
        # The statement's select sees the rows as they were before its update: the ones it
        # marks are left out by id.
        self._mark_and_select = (
            f"WITH marked AS ({self._mark.replace('$1', '$2')}) "
            f"SELECT id, topic, key, event_type, event_id, payload, traceparent FROM {self.table} "
            "WHERE published_at IS NULL AND id <> ALL($2::bigint[]) ORDER BY id LIMIT $1"
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set: wait for the lock, then relay while holding it.

        Survives Postgres restarts (reconnects, takes the lock again) and broker outages
        (unsent rows stay unpublished and go out in a later round), backing off up to 5 s."""
        outage = Backoff(base=self.standby_poll / 4)
        while not stop.is_set():
            try:
                conn = await connect(self.dsn)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("relay %s: cannot connect: %s", self.schema, exc)
                await _sleep_or_stop(stop, outage.next_delay())
                continue
            try:
                if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.lock_id):
                    await _sleep_or_stop(stop, self.standby_poll)
                    continue
                log.info("relay %s: active (advisory lock %s)", self.schema, self.lock_id)
                self.stats.active = True
                outage.reset()
                await conn.add_listener(self.channel, self._on_notify)
                await self._relay_while_active(conn, stop)
            except Exception as exc:  # the relay must outlive any single failure
                self.stats.last_error = repr(exc)
                if is_outage(exc):
                    log.warning(
                        "relay %s: infrastructure unavailable, retrying: %r", self.schema, exc
                    )
                    await _sleep_or_stop(stop, outage.next_delay())
                else:
                    log.exception("relay %s: stopped relaying, will retry: %r", self.schema, exc)
                    await _sleep_or_stop(stop, self.standby_poll)
            finally:
                self.stats.active = False
                await _close_quietly(conn)

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _relay_while_active(self, conn: asyncpg.Connection, stop: asyncio.Event) -> None:
        self._unmarked = []  # a new session: what an earlier one left unmarked is sent again
        try:
            while not stop.is_set():
                self._wake.clear()
                sent, failed = await self.publish_once(conn)
                if failed:
                    await _sleep_or_stop(stop, self.retry_backoff)
                elif sent == 0 or not self._left_behind:
                    # Nothing was left behind: the next row's NOTIFY wakes us (one that came
                    # during this round has set `_wake` already). Selecting again at once found
                    # nothing in nearly every round and cost a statement per event relayed.
                    await self._wait_for_rows(conn, stop)
        finally:
            if self._unmarked and not conn.is_closed():
                with contextlib.suppress(Exception):  # unmarked rows are sent again: harmless
                    await self.mark(conn)

    async def _wait_for_rows(self, conn: asyncpg.Connection, stop: asyncio.Event) -> None:
        """Until a NOTIFY, `stop` or the poll; rows published and not yet marked are marked
        alone once `mark_delay` passes without one."""
        if self._unmarked and not await self._woken(stop, self.mark_delay):
            await self.mark(conn)
        if not self._unmarked:
            await self._woken(stop, self.poll_interval)

    async def _woken(self, stop: asyncio.Event, timeout: float) -> bool:
        if self._wake.is_set() or stop.is_set():
            return True
        waiter = asyncio.create_task(self._wake.wait())
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait(
            {waiter, stopper}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        waiter.cancel()
        stopper.cancel()
        return bool(done)

    async def mark(self, conn: asyncpg.Connection) -> None:
        """Mark what was published and not marked yet, in a statement of its own."""
        await conn.execute(self._mark, self._unmarked)
        self._unmarked = []
        self.stats.marks_alone += 1

    async def publish_once(self, conn: asyncpg.Connection) -> tuple[int, int]:
        """One round: mark the last round's rows and claim, send one batch per partition.
        Returns (published, failed); what was published is marked with the next select."""
        if self._unmarked:
            rows = await conn.fetch(self._mark_and_select, self.batch_size, self._unmarked)
            self._unmarked = []
        else:
            rows = await conn.fetch(self._select, self.batch_size)
        self.stats.selects += 1
        self._left_behind = len(rows) >= self.batch_size
        if not rows:
            return 0, 0
        spans = PublishSpans(self.schema)
        groups = await self._group(rows, spans)
        sends = [
            await self.producer.send_batch(batch, topic, partition=partition)
            for (topic, partition), (batch, _) in groups.items()
        ]
        results = await asyncio.gather(*sends, return_exceptions=True)
        published: list[int] = []
        failed = 0
        for ((topic, partition), (_, ids)), result in zip(groups.items(), results, strict=True):
            spans.finish((topic, partition), result if isinstance(result, BaseException) else None)
            if isinstance(result, BaseException):
                failed += 1
                self.stats.last_error = f"{topic}[{partition}]: {result!r}"
                log.warning(
                    "relay %s: batch to %s[%s] failed: %r", self.schema, topic, partition, result
                )
            else:
                published.extend(ids)
        if os.environ.get(FAULT_ENV) == "crash_after_send" and published:
            log.error("relay %s: injected crash after send, before commit", self.schema)
            os._exit(70)
        self._unmarked = published
        self.stats.published += len(published)
        metrics.relay_published(self.schema, len(published))
        self.stats.failed_batches += failed
        self.stats.rounds += 1
        return len(published), failed

    async def _group(
        self, rows: list[asyncpg.Record], spans: PublishSpans
    ) -> dict[tuple[str, int], tuple[Any, list[int]]]:
        groups: dict[tuple[str, int], tuple[Any, list[int]]] = {}
        full: set[tuple[str, int]] = set()
        for row in rows:
            key = row["key"].encode()
            partitions = await self._partitions(row["topic"])
            target = (row["topic"], self._partitioner(key, partitions, partitions))
            if target in full:
                self._left_behind = True
                continue  # order: nothing of this partition may overtake the row that did not fit
            if target not in groups:
                groups[target] = (self.producer.create_batch(), [])
            batch, ids = groups[target]
            headers = [
                ("event_type", row["event_type"].encode()),
                ("event_id", str(row["event_id"]).encode()),
                ("content-type", b"application/json"),
                *spans.start(target, row),  # each record its own row's trace
            ]
            appended = batch.append(
                key=key, value=bytes(row["payload"]), timestamp=None, headers=headers
            )
            if appended is None:  # the partition's batch is full
                self._left_behind = True
                spans.unsent(target)
                full.add(target)
                continue
            ids.append(row["id"])
        return {target: group for target, group in groups.items() if group[1]}

    async def _partitions(self, topic: str) -> list[int]:
        cached = self.stats.partitions.get(topic)
        if cached is None:
            cached = sorted(await self.producer.partitions_for(topic))
            self.stats.partitions[topic] = cached
        return cached


async def _close_quietly(conn: asyncpg.Connection) -> None:
    try:
        await asyncio.wait_for(conn.close(), timeout=5)
    except Exception:  # the session is gone either way
        conn.terminate()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
