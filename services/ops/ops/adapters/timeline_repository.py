"""SQL of the timeline projection: record events and dead letters, find sagas, read them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from ops.domain.sagas import SagaState, Stuck


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


def _params(row: EventRow | DeadLetterRow) -> tuple[Any, ...]:
    values = list(row.__dict__.values())
    return tuple(json.dumps(v) if isinstance(v, dict) else v for v in values)


async def record(
    conn: asyncpg.Connection, events: Sequence[EventRow], letters: Sequence[DeadLetterRow]
) -> None:
    """Idempotent: a record read twice (after a restart) or a replayed event adds nothing."""
    if events:
        await conn.executemany(
            f"INSERT INTO timeline_events ({_EVENT_COLUMNS}) VALUES "
            "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12) "
            "ON CONFLICT (event_id) DO NOTHING",
            [_params(e) for e in events],
        )
    if letters:
        await conn.executemany(
            f"INSERT INTO timeline_dead_letters ({_DLT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, "
            "$7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18::jsonb, $19, $20, $21) "
            'ON CONFLICT (topic, partition, "offset", record_ts) DO NOTHING',
            [_params(d) for d in letters],
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


async def saga_states(conn: asyncpg.Connection, window_hours: int) -> list[SagaState]:
    """Each saga active within the window: its first and latest event, and a dead letter that
    came after the latest event (the step's answer died on the way)."""
    rows = await conn.fetch(
        """
        WITH active AS (
            SELECT DISTINCT correlation_id FROM timeline_events
             WHERE recorded_at > now() - make_interval(hours => $1)
        ), latest AS (
            SELECT DISTINCT ON (e.correlation_id) e.correlation_id, e.type, e.producer,
                   e.occurred_at
              FROM timeline_events e JOIN active USING (correlation_id)
             ORDER BY e.correlation_id, e.occurred_at DESC, e.recorded_at DESC
        ), first AS (
            SELECT DISTINCT ON (e.correlation_id) e.correlation_id, e.type
              FROM timeline_events e JOIN active USING (correlation_id)
             ORDER BY e.correlation_id, e.occurred_at, e.recorded_at
        )
        SELECT l.correlation_id, f.type AS first_type, l.type AS latest_type, l.producer,
               l.occurred_at,
               (SELECT d.service || ': ' || coalesce(d.error_type, 'unknown error')
                  FROM timeline_dead_letters d
                  LEFT JOIN dead_letter_actions a
                    ON (a.topic, a.partition, a."offset", a.record_ts)
                     = (d.topic, d.partition, d."offset", d.record_ts)
                 WHERE d.correlation_id = l.correlation_id AND a.state IS NULL
                 ORDER BY d.failed_at DESC LIMIT 1) AS dead_letter
          FROM latest l JOIN first f USING (correlation_id)""",
        window_hours,
    )
    return [
        SagaState(
            r["correlation_id"],
            r["first_type"],
            r["latest_type"],
            r["producer"],
            r["occurred_at"],
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
