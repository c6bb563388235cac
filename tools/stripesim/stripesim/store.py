"""The state file: a SQLite database in WAL mode, written a batch of changes at a time.

One row per object, private record, event, idempotency record and pending webhook delivery,
each a JSON document keyed by its id. A ``Batch`` holds the rows that changed in one snapshot
interval, already serialized (on the event loop, so nothing is read while handlers mutate);
``Store.write`` applies it in one transaction from a worker thread. Every write is an upsert
or a delete, so writing a batch twice (a retry after a failure) is harmless. WAL with
``synchronous=NORMAL`` keeps each committed batch across a crash of the process.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SQLITE_MAGIC = b"SQLite format 3\x00"
SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS private (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, created INTEGER NOT NULL, body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_created ON events (created);
CREATE TABLE IF NOT EXISTS idempotency (
    api_key TEXT NOT NULL, key TEXT NOT NULL, stored_at INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (api_key, key)
);
CREATE INDEX IF NOT EXISTS idempotency_stored_at ON idempotency (stored_at);
CREATE TABLE IF NOT EXISTS deliveries (event_id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
TABLES = ("objects", "private", "events", "idempotency", "deliveries", "meta")


@dataclass
class Batch:
    """Rows to write; a None value deletes the row."""

    reset: bool = False  # wipe everything first (``POST /_sim/reset``)
    objects: dict[str, tuple[int, str] | None] = field(default_factory=dict)
    private: dict[str, str | None] = field(default_factory=dict)
    events: dict[int, tuple[str, int, str]] = field(default_factory=dict)
    events_before: int | None = None  # delete events created before (Stripe keeps 30 days)
    idempotency: dict[tuple[str, str], tuple[int, str] | None] = field(default_factory=dict)
    keys_before: int | None = None  # delete idempotency keys stored before (their 24 h)
    deliveries: dict[str, str | None] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)

    def rows(self) -> int:
        parts = (self.objects, self.private, self.events, self.idempotency, self.deliveries)
        return sum(len(p) for p in parts) + int(self.reset)

    def merge(self, newer: Batch) -> Batch:
        """This (unwritten) batch followed by ``newer``."""
        if newer.reset:
            return newer
        self.objects.update(newer.objects)
        self.private.update(newer.private)
        self.events.update(newer.events)
        self.idempotency.update(newer.idempotency)
        self.deliveries.update(newer.deliveries)
        self.meta.update(newer.meta)
        if newer.events_before is not None:
            self.events_before = max(self.events_before or 0, newer.events_before)
        if newer.keys_before is not None:
            self.keys_before = max(self.keys_before or 0, newer.keys_before)
        return self


@dataclass
class Loaded:
    """What a start reads besides the objects (``Store.each_object`` streams those)."""

    private: dict[str, dict[str, Any]]
    events: list[tuple[int, dict[str, Any]]]
    next_event_seq: int
    idempotency: list[dict[str, Any]]
    deliveries: list[dict[str, Any]]
    meta: dict[str, str]


def is_sqlite(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # one write at a time (the final one may overlap)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(SCHEMA)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in (self._writer, self._reader):
                if conn is not None:
                    conn.close()
            self._writer = self._reader = None

    def write(self, batch: Batch) -> None:
        """Apply ``batch`` in one transaction (call from a worker thread)."""
        with self._lock:
            if self._writer is None:
                self._writer = self._connect()
            conn = self._writer
            try:
                conn.execute("BEGIN IMMEDIATE")
                _apply(conn, batch)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.rollback()
                raise

    def _read_one(self, sql: str, *args: str) -> dict[str, Any] | None:
        """The JSON body of one row (an indexed read, on the calling thread)."""
        if self._reader is None:
            self._reader = self._connect()
        row = self._reader.execute(sql, args).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def event(self, event_id: str) -> dict[str, Any] | None:
        return self._read_one("SELECT body FROM events WHERE id = ?", event_id)

    def object(self, object_id: str) -> dict[str, Any] | None:
        return self._read_one("SELECT body FROM objects WHERE id = ?", object_id)

    def idempotency_row(self, api_key: str, key: str) -> dict[str, Any] | None:
        sql = "SELECT body FROM idempotency WHERE api_key = ? AND key = ?"
        return self._read_one(sql, api_key, key)

    def each_object(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """Every object with its sequence number, oldest first, one at a time (a start need
        not hold the whole history at once)."""
        conn = self._connect()
        try:
            for seq, body in conn.execute("SELECT seq, body FROM objects ORDER BY seq"):
                yield seq, json.loads(body)
        finally:
            conn.close()

    def meta(self) -> dict[str, str]:
        conn = self._connect()
        try:
            return dict(conn.execute("SELECT name, value FROM meta").fetchall())
        finally:
            conn.close()

    def read_all(
        self, *, events_since: int, keep_events: int, keys_since: int, keep_keys: int
    ) -> Loaded:
        conn = self._connect()
        try:
            return _read(conn, (events_since, keep_events), (keys_since, keep_keys))
        finally:
            conn.close()


def _apply(conn: sqlite3.Connection, batch: Batch) -> None:
    if batch.reset:
        for table in TABLES:
            conn.execute(f"DELETE FROM {table}")  # fixed table names
    _upsert(
        conn,
        "objects",
        "INSERT OR REPLACE INTO objects VALUES (?, ?, ?)",
        [(k, *v) for k, v in batch.objects.items() if v is not None],
        [(k,) for k, v in batch.objects.items() if v is None],
        "id",
    )
    _upsert(
        conn,
        "private",
        "INSERT OR REPLACE INTO private VALUES (?, ?)",
        [(k, v) for k, v in batch.private.items() if v is not None],
        [(k,) for k, v in batch.private.items() if v is None],
        "id",
    )
    conn.executemany(
        "INSERT OR REPLACE INTO events VALUES (?, ?, ?, ?)",
        [(seq, *row) for seq, row in batch.events.items()],
    )
    if batch.events_before is not None:
        conn.execute("DELETE FROM events WHERE created < ?", (batch.events_before,))
    conn.executemany(
        "INSERT OR REPLACE INTO idempotency VALUES (?, ?, ?, ?)",
        [(*k, *v) for k, v in batch.idempotency.items() if v is not None],
    )
    conn.executemany(
        "DELETE FROM idempotency WHERE api_key = ? AND key = ?",
        [k for k, v in batch.idempotency.items() if v is None],
    )
    if batch.keys_before is not None:
        conn.execute("DELETE FROM idempotency WHERE stored_at < ?", (batch.keys_before,))
    _upsert(
        conn,
        "deliveries",
        "INSERT OR REPLACE INTO deliveries VALUES (?, ?)",
        [(k, v) for k, v in batch.deliveries.items() if v is not None],
        [(k,) for k, v in batch.deliveries.items() if v is None],
        "event_id",
    )
    conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(batch.meta.items()))


def _upsert(
    conn: sqlite3.Connection,
    table: str,
    insert: str,
    rows: list[tuple[Any, ...]],
    deletes: list[tuple[str]],
    key: str,
) -> None:
    conn.executemany(insert, rows)
    conn.executemany(f"DELETE FROM {table} WHERE {key} = ?", deletes)


def _read(conn: sqlite3.Connection, events: tuple[int, int], keys: tuple[int, int]) -> Loaded:
    """The newest events and idempotency keys (each: since when, how many at most)."""

    def rows(sql: str, *args: Any) -> list[Any]:
        return conn.execute(sql, args).fetchall()

    newest = rows(
        "SELECT seq, body FROM events WHERE created >= ? ORDER BY seq DESC LIMIT ?", *events
    )
    top = rows("SELECT COALESCE(MAX(seq), 0) FROM events")[0][0]
    recent_keys = rows(
        "SELECT body FROM idempotency WHERE stored_at >= ? ORDER BY stored_at DESC, rowid DESC"
        " LIMIT ?",
        *keys,
    )
    return Loaded(
        private={k: json.loads(b) for k, b in rows("SELECT id, body FROM private")},
        events=[(s, json.loads(b)) for s, b in reversed(newest)],
        next_event_seq=int(top) + 1,
        idempotency=[json.loads(b) for (b,) in reversed(recent_keys)],
        deliveries=[json.loads(b) for (b,) in rows("SELECT body FROM deliveries")],
        meta=dict(rows("SELECT name, value FROM meta")),
    )
