"""Handle a batch of Kafka records: inbox dedupe, one transaction per event, retry, dead-letter.

Every record ends in exactly one of: handled (effects + inbox row committed together), duplicate
(inbox row already there), ignored (a type this service does not consume) or dead-lettered
(after `max_attempts`, or at once when it can never succeed). Only then may the caller commit
the batch's offsets; if this raises (Kafka or Postgres unreachable), the caller must rewind.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence

import asyncpg
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from eventkit.dead_letters import DeadLetters
from eventkit.routing import EventRouter, PermanentError, Route
from marketplace_contracts import Envelope, UnknownEventError

log = logging.getLogger("eventkit.consumer")

_UNDECODABLE = (ValidationError, UnicodeDecodeError, ValueError, UnknownEventError)


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
        self._seen = f"SELECT 1 FROM {schema}.{inbox_table} WHERE event_id = $1"

    async def process(self, records: Sequence[ConsumerRecord]) -> None:
        async with self.pool.acquire() as conn:
            for record in records:
                outcome = await self._process_one(conn, record)
                self.outcomes[outcome] += 1

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
