"""SQL of the timeline projection: record events and dead letters, find sagas, read them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import asyncpg

from ops.domain.sagas import SagaState, Stuck, is_waiting


@dataclass(frozen=True)
class EventRow:
    event_id: uuid.UUID
    type: str
    version: int
    producer: str
    key: str
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None
    occurred_at: Any
    topic: str
    ids: dict[str, list[str]]
    id_values: list[str]
    replayed_from: str | None


@dataclass(frozen=True)
class DeadLetterRow:
    topic: str
    partition: int
    offset: int
    service: str
    original_topic: str | None
    error_type: str | None
    error_message: str | None
    attempts: int | None
    failed_at: Any
    event_id: uuid.UUID | None
    type: str | None
    version: int | None
    producer: str | None
    key: str | None
    correlation_id: uuid.UUID | None
    causation_id: uuid.UUID | None
    occurred_at: Any
    ids: dict[str, list[str]]
    id_values: list[str]
    raw: str | None
    record_ts: int  # the record's Kafka timestamp (ms): with its place, the letter's identity


_EVENT_COLUMNS = (
    "event_id, type, version, producer, key, correlation_id, causation_id, occurred_at, topic, "
    "ids, id_values, replayed_from"
)
_DLT_COLUMNS = (
    'topic, partition, "offset", service, original_topic, error_type, error_message, attempts, '
    "failed_at, event_id, type, version, producer, key, correlation_id, causation_id, "
    "occurred_at, ids, id_values, raw, record_ts"
)


_INSERT_EVENTS = (
    f"INSERT INTO timeline_events ({_EVENT_COLUMNS}) "
    f"SELECT {_EVENT_COLUMNS} FROM jsonb_to_recordset($1::jsonb) AS x("
    "event_id uuid, type text, version int, producer text, key text, correlation_id uuid, "
    "causation_id uuid, occurred_at timestamptz, topic text, ids jsonb, id_values text[], "
    "replayed_from text) "
    "ON CONFLICT (event_id) DO NOTHING"
)


def _params(row: EventRow | DeadLetterRow) -> tuple[Any, ...]:
    return tuple(row.__dict__.values())


async def database_now(conn: asyncpg.Connection) -> datetime:
    now: datetime = await conn.fetchval("SELECT now()")
    return now


async def record(
    conn: asyncpg.Connection, events: Sequence[EventRow], letters: Sequence[DeadLetterRow]
) -> None:
    """Idempotent: a record read twice (after a restart) or a replayed event adds nothing."""
    if events:
        known = {
            r["event_id"]
            for r in await conn.fetch(
                "SELECT event_id FROM timeline_events WHERE event_id = ANY($1::uuid[])",
                [e.event_id for e in events],
            )
        }
        new = [e for e in events if e.event_id not in known]
        if new:
            # One statement for the batch (the rows as one JSON document), not one per
            # event: the timeline takes every event of every service, six or more a checkout.
            await conn.execute(_INSERT_EVENTS, [e.__dict__ for e in new])
            await _advance_heads(conn, new)
    if letters:
        await conn.executemany(
            f"INSERT INTO timeline_dead_letters ({_DLT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, "
            "$7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18::jsonb, $19, $20, $21) "
            'ON CONFLICT (topic, partition, "offset", record_ts) DO NOTHING',
            [_params(d) for d in letters],
        )


@dataclass(slots=True)
class _Head:
    """A saga's first and latest event in a batch: the columns of its `saga_heads` row."""

    first_type: str
    first_at: datetime
    latest_type: str
    latest_producer: str
    latest_at: datetime
    waiting: bool

    @classmethod
    def of(cls, e: EventRow) -> _Head:
        return cls(e.type, e.occurred_at, e.type, e.producer, e.occurred_at, is_waiting(e.type))

    def fold(self, e: EventRow) -> None:
        """On equal times the later recorded is the latest, the earlier the first."""
        if e.occurred_at < self.first_at:
            self.first_type, self.first_at = e.type, e.occurred_at
        if e.occurred_at >= self.latest_at:
            self.latest_type, self.latest_producer = e.type, e.producer
            self.latest_at, self.waiting = e.occurred_at, is_waiting(e.type)


# The upsert's columns after correlation_id, in its order.
_HEAD_COLUMNS = tuple(f.name for f in fields(_Head))


async def _advance_heads(conn: asyncpg.Connection, events: Sequence[EventRow]) -> None:
    """Each saga's first and latest event, in the order the events are recorded: on equal
    times the later recorded is the latest (as the timeline orders them), the earlier the first.
    Only events recorded for the first time come here, so a replay moves no head back. The
    batch is folded per saga first (one upsert may not touch a row twice), by the same rule."""
    heads: dict[uuid.UUID, _Head] = {}
    for e in events:
        head = heads.get(e.correlation_id)
        if head is None:
            heads[e.correlation_id] = _Head.of(e)
        else:
            head.fold(e)
    columns: list[list[Any]] = [list(heads)] + [
        [getattr(head, name) for head in heads.values()] for name in _HEAD_COLUMNS
    ]
    await conn.execute(
        """
        INSERT INTO saga_heads AS h (correlation_id, first_type, first_at, latest_type,
                                     latest_producer, latest_at, waiting)
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::text[],
                             $5::text[], $6::timestamptz[], $7::bool[])
        ON CONFLICT (correlation_id) DO UPDATE SET
            first_type = CASE WHEN excluded.first_at < h.first_at
                              THEN excluded.first_type ELSE h.first_type END,
            first_at = least(h.first_at, excluded.first_at),
            latest_type = CASE WHEN excluded.latest_at >= h.latest_at
                               THEN excluded.latest_type ELSE h.latest_type END,
            latest_producer = CASE WHEN excluded.latest_at >= h.latest_at
                                   THEN excluded.latest_producer ELSE h.latest_producer END,
            waiting = CASE WHEN excluded.latest_at >= h.latest_at
                           THEN excluded.waiting ELSE h.waiting END,
            latest_at = greatest(h.latest_at, excluded.latest_at),
            touched_at = now()""",
        *columns,
    )


async def sagas_of(conn: asyncpg.Connection, ident: str, limit: int = 20) -> list[uuid.UUID]:
    """Correlation ids of the sagas an id appears in (any id field, the key, or the id itself)."""
    try:
        as_uuid: uuid.UUID | None = uuid.UUID(ident)
    except ValueError:
        as_uuid = None
    rows = await conn.fetch(
        """
        SELECT correlation_id, max(occurred_at) AS last FROM (
            SELECT correlation_id, occurred_at FROM timeline_events
             WHERE id_values @> ARRAY[$1::text] OR key = $1 OR correlation_id = $2
                OR event_id = $2
            UNION ALL
            SELECT correlation_id, coalesce(occurred_at, failed_at) FROM timeline_dead_letters
             WHERE (id_values @> ARRAY[$1::text] OR key = $1 OR correlation_id = $2)
               AND correlation_id IS NOT NULL
        ) found GROUP BY correlation_id ORDER BY last DESC LIMIT $3""",
        ident,
        as_uuid,
        limit,
    )
    return [r["correlation_id"] for r in rows]


async def saga_events(conn: asyncpg.Connection, correlation_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {_EVENT_COLUMNS}, recorded_at FROM timeline_events WHERE correlation_id = $1 "
        "ORDER BY occurred_at, recorded_at",
        correlation_id,
    )


async def saga_dead_letters(
    conn: asyncpg.Connection, correlation_id: uuid.UUID
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {_DLT_COLUMNS}, recorded_at FROM timeline_dead_letters WHERE correlation_id = $1 "
        'ORDER BY failed_at, "offset"',
        correlation_id,
    )


async def saga_states(
    conn: asyncpg.Connection, window_hours: int, waited_seconds: int
) -> list[SagaState]:
    """The sagas of the window whose latest event is at least `waited_seconds` old and that
    either wait for an answer or have a dead letter nobody has dealt with: how each began,
    where it is, and that dead letter. Read from `saga_heads` through its partial index, so
    the cost follows the sagas that wait, not the history."""
    rows = await conn.fetch(
        """
        WITH candidates AS (
            SELECT correlation_id FROM saga_heads
             WHERE waiting AND latest_at > now() - make_interval(hours => $1)
               AND latest_at <= now() - make_interval(secs => $2)
            UNION
            SELECT d.correlation_id FROM timeline_dead_letters d
              LEFT JOIN dead_letter_actions a
                ON (a.topic, a.partition, a."offset", a.record_ts)
                 = (d.topic, d.partition, d."offset", d.record_ts)
             WHERE a.state IS NULL AND d.correlation_id IS NOT NULL
        )
        SELECT h.correlation_id, h.first_type, h.latest_type, h.latest_producer, h.latest_at,
               letter.dead_letter
          FROM saga_heads h JOIN candidates USING (correlation_id)
          LEFT JOIN LATERAL (
                SELECT d.service || ': ' || coalesce(d.error_type, 'unknown error') AS dead_letter
                  FROM timeline_dead_letters d
                  LEFT JOIN dead_letter_actions a
                    ON (a.topic, a.partition, a."offset", a.record_ts)
                     = (d.topic, d.partition, d."offset", d.record_ts)
                 WHERE d.correlation_id = h.correlation_id AND a.state IS NULL
                 ORDER BY d.failed_at DESC LIMIT 1) letter ON true
         WHERE h.touched_at > now() - make_interval(hours => $1)
           AND h.latest_at <= now() - make_interval(secs => $2)""",
        window_hours,
        waited_seconds,
    )
    return [
        SagaState(
            r["correlation_id"],
            r["first_type"],
            r["latest_type"],
            r["latest_producer"],
            r["latest_at"],
            r["dead_letter"],
        )
        for r in rows
    ]


async def replace_stuck(conn: asyncpg.Connection, found: Sequence[Stuck]) -> None:
    async with conn.transaction():
        await conn.execute("DELETE FROM stuck_sagas")
        await conn.executemany(
            "INSERT INTO stuck_sagas (correlation_id, saga_type, step, waiting_since, "
            "waited_seconds, limit_seconds) VALUES ($1, $2, $3, $4, $5, $6)",
            [
                (
                    s.correlation_id,
                    s.saga_type,
                    s.step,
                    s.waiting_since,
                    s.waited_seconds,
                    s.limit_seconds,
                )
                for s in found
            ],
        )


async def stuck_sagas(
    conn: asyncpg.Connection, saga_type: str | None, limit: int, offset: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM stuck_sagas WHERE ($1::text IS NULL OR saga_type = $1) "
        "ORDER BY waited_seconds DESC, correlation_id LIMIT $2 OFFSET $3",
        saga_type,
        limit,
        offset,
    )
