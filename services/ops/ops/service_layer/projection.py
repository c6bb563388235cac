"""The timeline projection: every event topic and every dead-letter topic into ops' tables.

Why not eventkit's routing consumer: it decodes each record into its contract and dead-letters
what it cannot decode. The timeline must keep *everything* as it was sent, the poison messages
of the dead-letter topics first of all, and it has no handler to retry. So it reads raw records
in batches and writes them with `ON CONFLICT DO NOTHING`; offsets are committed only after the
batch is in Postgres, so a crash re-reads at most one batch and adds nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord, TopicPartition

from eventkit.outages import Backoff, is_outage
from marketplace_contracts.topics import CATALOGUE
from ops.adapters import timeline_repository as repo
from ops.domain.timeline import (
    H_REPLAYED_FROM,
    MAX_RAW,
    clean,
    dead_letter_facts,
    find_ids,
    id_values,
    read_envelope,
)

log = logging.getLogger("ops.projection")


def projected_topics() -> list[str]:
    """Every services' event topic and every dead-letter topic (the catalogue says which)."""
    return sorted(n for n, t in CATALOGUE.items() if "ops" in t.consumers)


def to_rows(
    records: Sequence[ConsumerRecord],
) -> tuple[list[repo.EventRow], list[repo.DeadLetterRow]]:
    events: list[repo.EventRow] = []
    letters: list[repo.DeadLetterRow] = []
    for r in records:
        env = read_envelope(r.value)
        ids = find_ids(env.data)
        if r.topic.endswith(".dlt"):
            facts = dead_letter_facts(r.topic, r.headers or ())
            raw = clean((r.value or b"")[:MAX_RAW].decode(errors="replace"))
            letters.append(
                repo.DeadLetterRow(
                    r.topic, r.partition, r.offset, facts.service, facts.original_topic,
                    facts.error_type, facts.error_message, facts.attempts, facts.failed_at,
                    env.event_id, env.type, env.version, env.producer, env.key,
                    env.correlation_id, env.causation_id, env.occurred_at, ids, id_values(ids),
                    raw, r.timestamp,
                )
            )  # fmt: skip
            continue
        if env.event_id is None or env.correlation_id is None or env.type is None:
            # Not an envelope: the services dead-letter it, and the timeline shows it from there.
            continue
        headers = {k: clean(v.decode(errors="replace")) for k, v in r.headers or ()}
        events.append(
            repo.EventRow(
                env.event_id, env.type, env.version or 1, env.producer or r.topic.split(".")[0],
                env.key or (r.key or b"").decode(errors="replace"), env.correlation_id,
                env.causation_id, env.occurred_at, r.topic, ids, id_values(ids),
                headers.get(H_REPLAYED_FROM),
            )
        )  # fmt: skip
    return events, letters


class Projection:
    CLIENT_ID = "ops-projection"

    def __init__(
        self,
        bootstrap: str,
        group: str,
        *,
        fetch_min_bytes: int = 1,
        fetch_wait_ms: int = 500,
        instance_id: str | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.group = group
        # A static member of its group (`OPS_CONSUMER_INSTANCE_ID`, eventkit.keyed_consumer):
        # started again after a crash, it takes its partitions back at once.
        self.instance_id = instance_id
        # The broker answers a fetch once this much waits, or after this long: each batch is
        # one transaction and one offset commit (OpsSettings sets a quarter of a second).
        self.fetch = {"fetch_min_bytes": fetch_min_bytes, "fetch_max_wait_ms": fetch_wait_ms}
        self.recorded = 0
        self.refused = 0
        self._consumer: AIOKafkaConsumer | None = None
        # Offsets this consumer committed, per partition: the lag gauge reads them instead of
        # asking the broker for each of the ~100 partitions it follows.
        self._committed: dict[TopicPartition, int] = {}

    @property
    def group_id(self) -> str:
        return self.group

    async def lag(self) -> dict[TopicPartition, int]:
        """Per assigned partition fetched from, the high watermark minus the committed offset
        (eventkit.metrics_refresh reports it as `eventkit_consumer_lag_messages`)."""
        consumer = self._consumer
        lags: dict[TopicPartition, int] = {}
        if consumer is None:
            return lags
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is None:
                continue
            committed = self._committed.get(tp)
            if committed is None:
                committed = self._committed[tp] = await consumer.committed(tp) or 0
            lags[tp] = max(0, high - committed)
        return lags

    async def run(self, pool: asyncpg.Pool, stop: asyncio.Event) -> None:
        backoff = Backoff()
        while not stop.is_set():
            consumer = AIOKafkaConsumer(
                *projected_topics(),
                bootstrap_servers=self.bootstrap,
                group_id=self.group,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                client_id=self.CLIENT_ID,
                group_instance_id=self.instance_id,
                **self.fetch,
            )
            self._committed.clear()  # partitions may be assigned afresh
            try:
                await consumer.start()
                self._consumer = consumer
                backoff.reset()
                await self._consume(consumer, pool, stop)
            except Exception as exc:  # broker or database away: start again after a pause
                await backoff.sleep("ops projection", exc)
            finally:
                self._consumer = None
                await consumer.stop()

    async def _consume(
        self, consumer: AIOKafkaConsumer, pool: asyncpg.Pool, stop: asyncio.Event
    ) -> None:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=500, max_records=500)
            records = [r for batch in batches.values() for r in batch]
            if not records:
                continue
            await self._record(pool, records)
            # Only now: a crash before this line re-reads the batch, which adds nothing twice.
            await consumer.commit()
            for tp, batch in batches.items():
                if batch:
                    self._committed[tp] = batch[-1].offset + 1
            self.recorded += len(records)

    async def _record(self, pool: asyncpg.Pool, records: Sequence[ConsumerRecord]) -> None:
        """The batch in one transaction; if Postgres refuses it (not an outage: an outage
        restarts the consumer), record by record, so one odd record cannot stall the timeline."""
        events, letters = to_rows(records)
        try:
            async with pool.acquire() as conn, conn.transaction():
                await repo.record(conn, events, letters)
            return
        except Exception as exc:
            if is_outage(exc):
                raise
            log.warning("ops projection: batch refused (%r), recording one by one", exc)
        for event in events:
            await self._one(pool, [event], [])
        for letter in letters:
            await self._one(pool, [], [letter])

    async def _one(
        self, pool: asyncpg.Pool, events: list[repo.EventRow], letters: list[repo.DeadLetterRow]
    ) -> None:
        try:
            async with pool.acquire() as conn, conn.transaction():
                await repo.record(conn, events, letters)
        except Exception as exc:
            if is_outage(exc):
                raise
            self.refused += 1
            log.error(
                "ops projection: left out of the timeline %r: %r", (events or letters)[0], exc
            )
