"""An HTTP command run once per caller and Idempotency-Key, in every service: eventkit.endpoint
runs the services' commands through it, booking/entrypoints/command.py the gateway's.

The answer under a key lives in `<schema>.idempotency_keys` (eventkit.ddl.idempotency_table).
Work that runs in one transaction stores its answer in that transaction, so a crash leaves both
or neither. Work that opens transactions of its own (a reconciliation run, a day's close)
stores its answer after it has finished: a second request that comes while the first is still
running runs it too, which those commands allow (they are idempotent by their own keys). A
refusal is an answer too, stored on its own (it has no effects to keep with it). The same key
with another request (method, path or body) is 422 `idempotency_key_reused`.

A service says what its refusals are (`refuse`: HTTPException by default, the gateway's are its
BookingError) and what a reused key raises (`Store(reused=...)`). A transaction that Postgres
aborts as a deadlock victim can be run again (`retry=True`, eventkit.db.retry_conflicts): the
gateway's two checkouts of one slot, whose retry sees the winner and is refused. None of this
adds a round trip: a command under a key is one lookup, then one transaction of the work and the
insert of its answer."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import asyncpg
from fastapi import HTTPException

from eventkit import unit_of_work
from eventkit.db import retry_conflicts
from eventkit.http_errors import error_body

KEY_REUSED = "idempotency_key_reused"
Work = Callable[[asyncpg.Connection], Awaitable[Any]]
PoolWork = Callable[[], Awaitable[Any]]


def request_hash(method: str, path: str, body: Any) -> str:
    """What makes two requests under one key the same: method, path and the body (JSON form),
    whatever the order of its keys."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def _reused() -> Exception:
    return HTTPException(
        422,
        {"code": KEY_REUSED, "message": "this Idempotency-Key was used with a different request"},
    )


@dataclass(frozen=True)
class Key:
    """Whose key, the key, and what makes two requests under it the same request."""

    owner: str
    key: str
    request_hash: str

    @classmethod
    def of(cls, owner: str, key: str, method: str, path: str, body: Any) -> Key:
        return cls(owner, key, request_hash(method, path, body))


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    replayed: bool = False  # the stored answer of an earlier request under the key
    refusal: Exception | None = None  # this request's own refusal (its body is `body`)


# A refusal raised by the work as the answer kept for it, or None: not a refusal (it propagates).
Refuse = Callable[[Exception], Answer | None]


class Store:
    """One service's `idempotency_keys` table; `reused` makes what a key used with another
    request raises (by default 422 `idempotency_key_reused`)."""

    def __init__(self, schema: str, *, reused: Callable[[], Exception] = _reused) -> None:
        self.table = f"{schema}.idempotency_keys"
        self.reused = reused

    async def lookup(self, conn: asyncpg.Connection, key: Key) -> Answer | None:
        """The stored answer under `key`; 422 `idempotency_key_reused` for another request."""
        row = await conn.fetchrow(
            f"SELECT request_hash, status_code, response FROM {self.table} "
            "WHERE principal = $1 AND key = $2",
            key.owner,
            key.key,
        )
        if row is None:
            return None
        if row["request_hash"] != key.request_hash:
            raise self.reused()
        return Answer(row["status_code"], row["response"], replayed=True)

    async def store(
        self, conn: asyncpg.Connection, key: Key, answer: Answer, *, first_wins: bool = False
    ) -> bool:
        """Keep `answer` (True); a concurrent request that stored first raises
        UniqueViolationError, or with `first_wins` keeps its answer (False)."""
        conflict = " ON CONFLICT (principal, key) DO NOTHING" if first_wins else ""
        done = await conn.execute(
            f"INSERT INTO {self.table} (principal, key, request_hash, status_code, response) "
            f"VALUES ($1, $2, $3, $4, $5){conflict}",
            key.owner,
            key.key,
            key.request_hash,
            answer.status,
            answer.body,
        )
        return bool(done.endswith(" 1"))


def refused(exc: Exception) -> Answer | None:
    """An HTTPException as the answer the error handlers give (eventkit.http_errors)."""
    if not isinstance(exc, HTTPException):
        return None
    detail: dict[str, Any] = exc.detail if isinstance(exc.detail, dict) else {}
    code, message = str(detail.get("code", "conflict")), str(detail.get("message", exc.detail))
    return Answer(exc.status_code, error_body(code, message), refusal=exc)


async def run(
    conn: asyncpg.Connection,
    store: Store,
    key: Key,
    status: int,
    work: Work,
    *,
    refuse: Refuse = refused,
    retry: bool = False,
    before: Callable[[], None] | None = None,
) -> Answer:
    """`work(conn)` in one transaction with its answer (JSON form) kept under `key`, or the
    answer kept under `key` before. `retry`: run the transaction again when Postgres aborts it
    as a deadlock victim or a serialization failure. `before`: called when the work is to run,
    not for a replay; what it raises (load shedding's 503) is not kept under the key."""
    stored = await store.lookup(conn, key)
    if stored is not None:
        return stored
    if before is not None:
        before()
    once = partial(_transact, conn, store, key, status, work)
    try:
        return await (retry_conflicts(once) if retry else once())
    except asyncpg.UniqueViolationError:
        # A concurrent request under this key won: its answer's row was first, or a row of its
        # work (the same work) was. Otherwise the violation is the work's own, and raised.
        kept = await store.lookup(conn, key)
        if kept is None:
            raise
        return kept
    except Exception as exc:  # the transaction has rolled back
        answer = refuse(exc)
        if answer is None:
            raise
    return await _keep_first(conn, store, key, answer)


async def _transact(
    conn: asyncpg.Connection, store: Store, key: Key, status: int, work: Work
) -> Answer:
    """One transaction of `work` and its answer. No savepoint around the work: its SAVEPOINT
    and RELEASE were two of the dozen round trips of every checkout, for the rare refusal that
    a rollback undoes as well."""
    async with unit_of_work.transaction(conn):
        answer = Answer(status, await work(conn))
        await store.store(conn, key, answer)
        return answer


async def run_outside(
    conn: asyncpg.Connection,
    store: Store,
    key: Key,
    status: int,
    work: PoolWork,
    *,
    refuse: Refuse = refused,
) -> Answer:
    """`work()`, which opens transactions of its own, with its answer kept under `key` once it
    has finished, or the answer kept under `key` before."""
    stored = await store.lookup(conn, key)
    if stored is not None:
        return stored
    try:
        answer = Answer(status, await work())
    except Exception as exc:
        refusal = refuse(exc)
        if refusal is None:
            raise
        answer = refusal
    return await _keep_first(conn, store, key, answer)


async def _keep_first(conn: asyncpg.Connection, store: Store, key: Key, answer: Answer) -> Answer:
    """Keep `answer`, stored outside the work's transaction; when a concurrent request stored
    first, its answer instead."""
    if await store.store(conn, key, answer, first_wins=True):
        return answer
    return await _kept(conn, store, key)


async def _kept(conn: asyncpg.Connection, store: Store, key: Key) -> Answer:
    kept = await store.lookup(conn, key)
    assert kept is not None  # rows under a key are never deleted
    return kept
