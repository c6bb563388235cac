"""SQL for what ops decided about a dead letter (replayed or skipped, by whom, with a note)."""

from __future__ import annotations

import asyncpg


async def for_topic(pool: asyncpg.Pool, topic: str) -> list[asyncpg.Record]:
    """Every decision recorded for a dead-letter topic's records."""
    rows: list[asyncpg.Record] = await pool.fetch(
        'SELECT partition, "offset", record_ts, state, note, actor, at FROM dead_letter_actions '
        "WHERE topic = $1",
        topic,
    )
    return rows


async def remember(
    conn: asyncpg.Connection,
    place: tuple[str, int, int, int],
    state: str,
    note: str | None,
    actor: str,
) -> None:
    """Record (or replace) the decision about the record at `place` (topic, partition, offset,
    record timestamp)."""
    topic, partition, offset, record_ts = place
    await conn.execute(
        "INSERT INTO dead_letter_actions "
        '(topic, partition, "offset", record_ts, state, note, actor) '
        "VALUES ($1, $2, $3, $7, $4, $5, $6) "
        'ON CONFLICT (topic, partition, "offset", record_ts) '
        "DO UPDATE SET state = EXCLUDED.state, note = EXCLUDED.note, actor = EXCLUDED.actor, "
        "at = now()",
        topic,
        partition,
        offset,
        state,
        note,
        actor,
        record_ts,
    )
