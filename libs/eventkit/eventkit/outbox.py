"""Write integration events in the caller's transaction; the relay publishes them later."""

from __future__ import annotations

import uuid

import asyncpg

from eventkit import unit_of_work
from eventkit.tracing import current_traceparent
from eventkit.write_behind import WriteBehind
from marketplace_contracts import Envelope, EventModel, make_envelope


class Outbox:
    """Appends events to `<schema>.outbox` on a connection that is inside a transaction.
    `deferred`: inside `unit_of_work.transaction()`, the rows (and the units' timer changes,
    `kept`) are written together just before it commits (eventkit.write_behind)."""

    def __init__(
        self, schema: str, producer: str, table: str = "outbox", *, deferred: bool = False
    ) -> None:
        self.schema = schema
        self.producer = producer
        self.table = table
        self.deferred = deferred
        self._sql = (
            f"INSERT INTO {schema}.{table} (event_id, topic, key, event_type, payload, traceparent) "
            "VALUES ($1, $2, $3, $4, $5, $6)"
        )

    async def add(
        self,
        conn: asyncpg.Connection,
        event: EventModel,
        *,
        key: str,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None = None,
    ) -> Envelope:
        if not conn.is_in_transaction():
            raise RuntimeError("outbox rows must be written in the state change's transaction")
        envelope = make_envelope(
            event,
            key=key,
            producer=self.producer,
            correlation_id=correlation_id,
            causation_id=causation_id,
        )
        row = (
            envelope.event_id,
            event.TOPIC,
            key,
            event.TYPE,
            envelope.to_bytes(),
            current_traceparent(),  # the trace continues where the relay publishes the row
        )
        kept = self.kept(conn)
        if kept is None:
            await conn.execute(self._sql, *row)
        else:
            kept.add_row(*row)
        return envelope

    def kept(self, conn: asyncpg.Connection) -> WriteBehind | None:
        """Where this transaction keeps the rows for its end; None: write them now."""
        if not self.deferred:
            return None
        return unit_of_work.write_behind(conn, self.schema, self.table)

    async def reply(
        self, conn: asyncpg.Connection, event: EventModel, *, key: str, cause: Envelope
    ) -> Envelope:
        """`add` an event published in answer to the envelope a handler handles: the same
        saga (its correlation id), caused by that envelope."""
        return await self.add(
            conn, event, key=key, correlation_id=cause.correlation_id, causation_id=cause.event_id
        )
