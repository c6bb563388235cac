"""Handle Kafka records: inbox dedupe, one transaction per event, retry, dead-letter.

Every record ends in exactly one of: handled (effects + inbox row committed together), duplicate
(inbox row already there), ignored (a type this service does not consume) or dead-lettered
(after `max_attempts`, or at once when it can never succeed). Only then may its offset be
committed. Nothing here raises for a record: an outage of Postgres or Kafka is waited out (see
`eventkit.outages`) without spending the record's attempts, so a restart never dead-letters work.

Each attempt acquires its own connection from the pool and gives it back before the next one. A
connection the server dropped is detached by asyncpg; holding one across attempts (as a
connection per batch once did) turned one Postgres restart into "connection has been released
back to the pool" on every retry, and into dead letters.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from eventkit import logs, metrics, tracing, unit_of_work
from eventkit.dead_letters import DeadLetters
from eventkit.outages import Backoff, is_conflict, is_outage
from eventkit.routing import EventRouter, PermanentError, Route
from marketplace_contracts import Envelope, UnknownEventError

log = logging.getLogger("eventkit.consumer")

_UNDECODABLE = (ValidationError, UnicodeDecodeError, ValueError, UnknownEventError)
_NOT_PREPARED: Any = object()


@dataclass(frozen=True)
class _Decoded:
    envelope: Envelope
    route: Route
    event: Any


@dataclass(frozen=True)
class Item:
    """A record and what decoding it told: `ignored`, or `decoded` when it may share a
    transaction with others (a route without `prepare`); otherwise it is handled alone."""

    record: ConsumerRecord
    decoded: _Decoded | None = None
    ignored: bool = False

    @property
    def simple(self) -> bool:
        return self.decoded is not None


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
        self.retries: Counter[str] = Counter()  # waits that spent no attempt: outage, conflict
        self.metrics = metrics.consumer_metrics(router)
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

    def classify(self, record: ConsumerRecord) -> Item:
        if self._not_handled(record):
            return Item(record, ignored=True)
        try:
            envelope = Envelope.from_bytes(record.value or b"")
            route = self.router.route_for(envelope)
            if route is None:
                return Item(record, ignored=True)
            if route.prepare is not None and route.skip is None:
                return Item(record)
            event = route.model.model_validate(envelope.data)
            if route.skip is not None and route.skip(event):
                return Item(record, ignored=True)
            if route.prepare is not None:
                return Item(record)
            return Item(record, _Decoded(envelope, route, event))
        except (*_UNDECODABLE, PermanentError):
            return Item(record)  # the one-by-one path dead-letters it with the reason

    def _not_handled(self, record: ConsumerRecord) -> bool:
        """True when the relay's `event_type` header names a type this service does not
        consume: such a record (half of what payments reads) is passed over without parsing
        its JSON. Without the header (a record from elsewhere) the envelope decides."""
        for name, value in record.headers or ():
            if name == "event_type":
                return value.decode(errors="replace") not in self.router.handled_types
        return False

    async def process(self, records: Sequence[ConsumerRecord]) -> None:
        """Handle records strictly in the order given (callers pass one key's, or keys'
        independent, records): runs of simple events share a transaction."""
        await self.process_items([self.classify(record) for record in records])

    async def process_items(self, items: Sequence[Item]) -> None:
        run: list[Item] = []
        for item in items:
            if item.simple:
                run.append(item)
                continue
            await self._flush(run)
            run = []
            if item.ignored:
                self.outcomes["ignored"] += 1
            else:
                await self._process_observed(item)
        await self._flush(run)

    async def _process_observed(self, item: Item) -> None:
        started = time.perf_counter()
        outcome = await self._process_one(item.record)
        self.outcomes[outcome] += 1
        seconds = time.perf_counter() - started
        # The decoded type when there is one; else the relay's `event_type` header.
        known = item.decoded.envelope.type if item.decoded else None
        self.metrics.finished(known or self.metrics.event_type(item.record), outcome, seconds)

    async def _flush(self, run: list[Item]) -> None:
        """One transaction for the whole run: a few round trips instead of four per event.

        An outage retries the run as it is. Any other failure rolls the transaction back as a
        whole and every event of the run is handled again one by one, in order, with the usual
        retries and dead-lettering.
        """
        if not run:
            return
        outage = Backoff(cap=self.backoff_max)
        decoded = [(item.record, item.decoded) for item in run if item.decoded is not None]
        started = time.perf_counter()
        while True:
            try:
                applied = await self._apply_run(decoded)
                break
            except Exception as exc:
                if is_outage(exc):
                    self.retries["outage"] += 1
                    self.metrics.retry("batch", "outage")
                    await outage.sleep(f"{self.router.service}: run of {len(run)}", exc)
                    continue
                log.info(
                    "%s: run of %d fell back to one-by-one: %r", self.router.service, len(run), exc
                )
                for item in run:
                    await self._process_observed(item)
                return
        self.outcomes["handled"] += len(applied)
        self.outcomes["duplicate"] += len(run) - len(applied)
        per_event = (time.perf_counter() - started) / len(run)
        for _, d in decoded:
            outcome = "handled" if d.envelope.event_id in applied else "duplicate"
            self.metrics.finished(d.envelope.type, outcome, per_event)

    async def _apply_run(self, decoded: list[tuple[ConsumerRecord, _Decoded]]) -> set[uuid.UUID]:
        async with self.pool.acquire() as conn, unit_of_work.transaction(conn):
            claimed = {
                row["event_id"]
                for row in await conn.fetch(
                    self._claim_many,
                    [d.envelope.event_id for _, d in decoded],
                    [d.envelope.type for _, d in decoded],
                    [r.topic for r, _ in decoded],
                    [r.partition for r, _ in decoded],
                    [r.offset for r, _ in decoded],
                )
            }
            applied: set[uuid.UUID] = set()
            for record, d in decoded:
                # A duplicate inside the run is claimed once: apply only its first copy.
                if d.envelope.event_id in claimed and d.envelope.event_id not in applied:
                    applied.add(d.envelope.event_id)
                    with tracing.consuming(self.router.service, record, d.envelope):
                        await d.route.apply(conn, d.envelope, d.event, None)
        return applied

    async def _process_one(self, record: ConsumerRecord) -> str:
        """All of a record's attempts in one span, child of its `traceparent` header."""
        with tracing.consuming(self.router.service, record) as span:
            outcome = await self._attempt_one(record)
            tracing.set_outcome(span, outcome)
            return outcome

    async def _attempt_one(self, record: ConsumerRecord) -> str:
        try:
            envelope = Envelope.from_bytes(record.value or b"")
            logs.bind_envelope(envelope)
            route = self.router.route_for(envelope)
            if route is None:
                return "ignored"
            event = route.model.model_validate(envelope.data)
            if route.skip is not None and route.skip(event):
                return "ignored"
        except (*_UNDECODABLE, PermanentError) as exc:
            await self._dead_letter(record, exc, attempts=1)
            return "dead_lettered"
        attempt = 0
        outage = Backoff(cap=self.backoff_max)
        prepared = _NOT_PREPARED
        what = f"{self.router.service}: {envelope.type} {envelope.event_id}"
        while True:
            try:
                if route.prepare is not None and prepared is _NOT_PREPARED:
                    if await self.pool.fetchval(self._seen, envelope.event_id):
                        return "duplicate"
                    prepared = await route.prepare(envelope, event)
                return await self._apply_one(record, envelope, event, route, prepared)
            except PermanentError as exc:
                await self._dead_letter(record, exc, attempt + 1, envelope.type)
                return "dead_lettered"
            except Exception as exc:
                if is_outage(exc):
                    # `prepared` is kept: the provider's answer stays valid while we wait.
                    self.retries["outage"] += 1
                    self.metrics.retry(envelope.type, "outage")
                    await outage.sleep(what, exc)
                    continue
                prepared = _NOT_PREPARED
                if is_conflict(exc):
                    self.retries["conflict"] += 1
                    self.metrics.retry(envelope.type, "conflict")
                    await asyncio.sleep(random.uniform(0.01, 0.1))
                    continue
                attempt += 1
                if attempt >= self.max_attempts:
                    await self._dead_letter(record, exc, attempt, envelope.type)
                    return "dead_lettered"
                self.metrics.retry(envelope.type, "error")
                delay = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
                log.warning(
                    "%s failed (attempt %d/%d), retrying in %.1fs: %r",
                    what,
                    attempt,
                    self.max_attempts,
                    delay,
                    exc,
                )
                await asyncio.sleep(delay)

    async def _apply_one(
        self, record: ConsumerRecord, envelope: Envelope, event: object, route: Route, prepared: Any
    ) -> str:
        async with self.pool.acquire() as conn, unit_of_work.transaction(conn):
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
            await route.apply(
                conn, envelope, event, None if prepared is _NOT_PREPARED else prepared
            )
        return "handled"

    async def _dead_letter(
        self, record: ConsumerRecord, exc: BaseException, attempts: int, kind: str | None = None
    ) -> None:
        """Retried until the dead letter is durable: the record stays unfinished (its offset
        uncommitted) meanwhile, so a broker outage can delay a dead letter but never skip it."""
        log.error(
            "%s: dead-lettering %s[%d]@%d after %d attempt(s): %r",
            self.router.service,
            record.topic,
            record.partition,
            record.offset,
            attempts,
            exc,
        )
        backoff = Backoff(cap=self.backoff_max)
        while True:
            try:
                await self.dead_letters.send(record, error=exc, attempts=attempts)
                self.metrics.dead_letter(kind or self.metrics.event_type(record))
                return
            except Exception as send_error:
                self.retries["dead_letter"] += 1
                self.metrics.retry(self.metrics.event_type(record), "dead_letter_send")
                await backoff.sleep(f"{self.router.service}: dead letter", send_error)
