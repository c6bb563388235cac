"""Handle a batch of Kafka records: inbox dedupe, one transaction per event, retry, dead-letter.

Every record ends in exactly one of: handled (effects + inbox row committed together), duplicate
(inbox row already there), ignored (a type this service does not consume) or dead-lettered
(after `max_attempts`, or at once when it can never succeed). Only then may the caller commit
the batch's offsets; if this raises (Kafka or Postgres unreachable), the caller must rewind.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from eventkit.dead_letters import DeadLetters
from eventkit.routing import EventRouter, PermanentError, Route
from marketplace_contracts import Envelope, UnknownEventError

log = logging.getLogger("eventkit.consumer")

_UNDECODABLE = (ValidationError, UnicodeDecodeError, ValueError, UnknownEventError)


@dataclass(frozen=True)
class _Decoded:
    record: ConsumerRecord
    envelope: Envelope
    route: Route
    event: Any


class MessageProcessor:
    def __init__(
        self,
        pool: asyncpg.Pool,
        schema: str,
        router: EventRouter,
        dead_letters: DeadLetters,
        *,
        max_attempts: int = 5,
        backoff_base: float = 0.2,
        backoff_max: float = 5.0,
        inbox_table: str = "inbox",
    ) -> None:
        self.pool = pool
        self.router = router
        self.dead_letters = dead_letters
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.outcomes: Counter[str] = Counter()
        self._claim = (
            f'INSERT INTO {schema}.{inbox_table} (event_id, event_type, topic, partition, "offset") '
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_id) DO NOTHING RETURNING 1"
        )
        self._claim_many = (
            f'INSERT INTO {schema}.{inbox_table} (event_id, event_type, topic, partition, "offset") '
            "SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::bigint[]) "
            "ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
        )
        self._seen = f"SELECT 1 FROM {schema}.{inbox_table} WHERE event_id = $1"

    async def process(self, records: Sequence[ConsumerRecord]) -> None:
        """Handle a batch: partitions concurrently, each one strictly in order.

        Order only matters within a key, and a key lives in one partition, so one partition's
        slow payment-provider call must not hold back the others. Raises (after every partition
        has finished) if any partition could not be handled, so the caller rewinds the batch.
        """
        partitions: dict[tuple[str, int], list[ConsumerRecord]] = {}
        for record in records:
            partitions.setdefault((record.topic, record.partition), []).append(record)
        results = await asyncio.gather(
            *(self._process_partition(batch) for batch in partitions.values()),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _process_partition(self, records: list[ConsumerRecord]) -> None:
        """Runs of simple events (no `prepare`) share one transaction; anything else, and any
        run whose transaction fails, goes through `_process_one`."""
        async with self.pool.acquire() as conn:
            run: list[_Decoded] = []
            for record in records:
                decoded = self._decode_for_batch(record)
                if isinstance(decoded, _Decoded):
                    run.append(decoded)
                elif decoded == "ignored":
                    self.outcomes["ignored"] += 1
                else:
                    await self._flush(conn, run)
                    run = []
                    self.outcomes[await self._process_one(conn, record)] += 1
            await self._flush(conn, run)

    def _decode_for_batch(self, record: ConsumerRecord) -> _Decoded | str | None:
        """A decoded record fit for the batch path, "ignored", or None for the per-event path."""
        try:
            envelope = Envelope.from_bytes(record.value or b"")
            route = self.router.route_for(envelope)
            if route is None:
                return "ignored"
            if route.prepare is not None:
                return None
            return _Decoded(record, envelope, route, route.model.model_validate(envelope.data))
        except (*_UNDECODABLE, PermanentError):
            return None  # the per-event path dead-letters it with the reason

    async def _flush(self, conn: asyncpg.Connection, run: list[_Decoded]) -> None:
        """One transaction for the whole run: a few round trips instead of four per event.

        If any handler fails, the transaction rolls back as a whole and every event of the run
        is handled again one by one, with the usual retries and dead-lettering.
        """
        if not run:
            return
        try:
            async with conn.transaction():
                claimed = {
                    row["event_id"]
                    for row in await conn.fetch(
                        self._claim_many,
                        [d.envelope.event_id for d in run],
                        [d.envelope.type for d in run],
                        [d.record.topic for d in run],
                        [d.record.partition for d in run],
                        [d.record.offset for d in run],
                    )
                }
                applied: set[uuid.UUID] = set()
                for d in run:
                    # A duplicate inside the run is claimed once: apply only its first copy.
                    if d.envelope.event_id in claimed and d.envelope.event_id not in applied:
                        applied.add(d.envelope.event_id)
                        await d.route.apply(conn, d.envelope, d.event, None)
        except Exception as exc:
            log.info(
                "%s: batch of %d fell back to one-by-one: %r", self.router.service, len(run), exc
            )
            for d in run:
                self.outcomes[await self._process_one(conn, d.record)] += 1
            return
        self.outcomes["handled"] += len(applied)
        self.outcomes["duplicate"] += len(run) - len(applied)

    async def _process_one(self, conn: asyncpg.Connection, record: ConsumerRecord) -> str:
        try:
            envelope = Envelope.from_bytes(record.value or b"")
            route = self.router.route_for(envelope)
            if route is None:
                return "ignored"
            event = route.model.model_validate(envelope.data)
        except (*_UNDECODABLE, PermanentError) as exc:
            await self._dead_letter(record, exc, attempts=1)
            return "dead_lettered"
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._handle(conn, record, envelope, event, route)
            except PermanentError as exc:
                await self._dead_letter(record, exc, attempts=attempt)
                return "dead_lettered"
            except Exception as exc:
                if attempt >= self.max_attempts:
                    await self._dead_letter(record, exc, attempts=attempt)
                    return "dead_lettered"
                delay = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
                log.warning(
                    "%s: %s %s failed (attempt %d/%d), retrying in %.1fs: %r",
                    self.router.service,
                    envelope.type,
                    envelope.event_id,
                    attempt,
                    self.max_attempts,
                    delay,
                    exc,
                )
                await asyncio.sleep(delay)

    async def _handle(
        self,
        conn: asyncpg.Connection,
        record: ConsumerRecord,
        envelope: Envelope,
        event: object,
        route: Route,
    ) -> str:
        prepared = None
        if route.prepare is not None:
            if await conn.fetchval(self._seen, envelope.event_id):
                return "duplicate"
            prepared = await route.prepare(envelope, event)
        async with conn.transaction():
            claimed = await conn.fetchval(
                self._claim,
                envelope.event_id,
                envelope.type,
                record.topic,
                record.partition,
                record.offset,
            )
            if not claimed:
                return "duplicate"
            await route.apply(conn, envelope, event, prepared)
        return "handled"

    async def _dead_letter(self, record: ConsumerRecord, exc: BaseException, attempts: int) -> None:
        log.error(
            "%s: dead-lettering %s[%d]@%d after %d attempt(s): %r",
            self.router.service,
            record.topic,
            record.partition,
            record.offset,
            attempts,
            exc,
        )
        await self.dead_letters.send(record, error=exc, attempts=attempts)
