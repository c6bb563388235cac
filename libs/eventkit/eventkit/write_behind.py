"""A transaction's outbox rows and timer changes, written by one statement just before it commits.

Nothing in a transaction reads back the outbox rows it wrote, nor (through a unit of work) the
durable timers it set: both are blind writes, for the relay and the scheduler to find once
committed. So an `Outbox(deferred=True)` keeps them in the open `unit_of_work.transaction()`
and writes them all at its end, in one round trip instead of one per row: a checkout's
placement (its event and its hold's expiry) and its confirmation (its event, the hold's
expiry cancelled and the stay's completion set) are one statement each. A transaction that
fails, or a nested one that rolls back, drops what it kept, as it would drop the rows.

* The rows keep their order: one `INSERT ... SELECT ... ORDER BY` takes the ids in the order
  the events were emitted, so the relay sends them in that order (per key, what counts).
* Timers collapse per (kind, subject): the last change wins, as the statements one after
  another would have left it (a schedule then a cancel leaves it cancelled; a cancel then a
  schedule, pending).
* Outside `unit_of_work.transaction()` (a timer run by `eventkit.scheduler`, a bare
  `conn.transaction()`) there is nothing to keep them in, and they are written at once.
* A savepoint around deferred writes must be a nested `unit_of_work.transaction()`: a bare
  `conn.transaction()` that rolls back would leave its events kept for the commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from eventkit.db import encode_json

_CANCEL = None  # a kept cancel, in `timers`


@dataclass
class WriteBehind:
    """What one transaction keeps for one outbox table (`schema.table`)."""

    schema: str
    table: str
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    timers: dict[tuple[str, str], tuple[datetime, dict[str, Any]] | None] = field(
        default_factory=dict
    )

    def add_row(self, *row: Any) -> None:
        """(event_id, topic, key, event_type, payload bytes, traceparent)."""
        self.rows.append(row)

    def schedule(
        self, kind: str, subject_id: str, due_at: datetime, payload: dict[str, Any] | None
    ) -> None:
        self.timers.pop((kind, subject_id), None)  # the last change goes last
        self.timers[(kind, subject_id)] = (due_at, payload or {})

    def cancel(self, kind: str, subject_id: str) -> None:
        self.timers.pop((kind, subject_id), None)
        self.timers[(kind, subject_id)] = _CANCEL

    def absorb(self, nested: WriteBehind) -> None:
        """A nested transaction's, released into this one: after what this one kept."""
        self.rows.extend(nested.rows)
        for (kind, subject_id), change in nested.timers.items():
            if change is _CANCEL:
                self.cancel(kind, subject_id)
            else:
                self.schedule(kind, subject_id, *change)

    async def flush(self, conn: asyncpg.Connection) -> None:
        if not self.rows and not self.timers:
            return
        sql, args = self._statement()
        await conn.execute(sql, *args)
        self.rows.clear()
        self.timers.clear()

    def _statement(self) -> tuple[str, list[Any]]:
        args: list[Any] = []
        parts: list[str] = []
        upserts = [(k, s, *c) for (k, s), c in self.timers.items() if c is not _CANCEL]
        cancels = [(k, s) for (k, s), c in self.timers.items() if c is _CANCEL]
        jobs = f"{self.schema}.scheduled_jobs"
        if upserts:
            n = len(args)
            args += [
                [u[0] for u in upserts],
                [u[1] for u in upserts],
                [u[2] for u in upserts],
                [encode_json(u[3]) for u in upserts],
            ]
            parts.append(
                f"scheduled AS (INSERT INTO {jobs} (kind, subject_id, due_at, payload) "
                f"SELECT k, s, d, p::jsonb FROM unnest(${n + 1}::text[], ${n + 2}::text[], "
                f"${n + 3}::timestamptz[], ${n + 4}::text[]) AS t(k, s, d, p) "
                "ON CONFLICT (kind, subject_id) DO UPDATE "
                "SET due_at = EXCLUDED.due_at, payload = EXCLUDED.payload, status = 'pending', "
                "attempts = 0, last_error = NULL, finished_at = NULL)"
            )
        if cancels:
            n = len(args)
            args += [[c[0] for c in cancels], [c[1] for c in cancels]]
            parts.append(
                f"cancelled AS (UPDATE {jobs} j SET status = 'cancelled', finished_at = now() "
                f"FROM unnest(${n + 1}::text[], ${n + 2}::text[]) AS t(k, s) "
                "WHERE j.kind = t.k AND j.subject_id = t.s AND j.status = 'pending')"
            )
        head = f"WITH {', '.join(parts)} " if parts else ""
        if not self.rows:  # no INSERT into the outbox: its trigger's NOTIFY would wake the relay
            return f"{head}SELECT 1", args
        n = len(args)
        columns = list(zip(*self.rows, strict=True))
        args += [list(column) for column in columns]
        return (
            f"{head}INSERT INTO {self.schema}.{self.table} "
            "(event_id, topic, key, event_type, payload, traceparent) "
            "SELECT e, t, k, y, p, c FROM unnest("
            f"${n + 1}::uuid[], ${n + 2}::text[], ${n + 3}::text[], ${n + 4}::text[], "
            f"${n + 5}::bytea[], ${n + 6}::text[]) WITH ORDINALITY AS r(e, t, k, y, p, c, i) "
            "ORDER BY i"
        ), args
