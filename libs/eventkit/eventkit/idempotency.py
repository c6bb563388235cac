"""An HTTP command run once per caller and Idempotency-Key (every service but the gateway,
whose commands keep their own module with the same rules: booking/service_layer/idempotent.py).

The answer under a key lives in `<schema>.idempotency_keys` (eventkit.ddl.idempotency_table).
Work that runs in one transaction stores its answer in that transaction, so a crash leaves both
or neither. Work that opens transactions of its own (a reconciliation run, a day's close)
stores its answer after it has finished: a second request that comes while the first is still
running runs it too, which those commands allow (they are idempotent by their own keys). A
refusal is an answer too, stored on its own (it has no effects to keep with it). The same key
with another request (method, path or body) is 422 `idempotency_key_reused`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from fastapi import HTTPException

from eventkit import unit_of_work
from eventkit.http_errors import error_body

KEY_REUSED = "idempotency_key_reused"
# What a refusal raised by the work is stored as: HTTPException(status, {"code", "message"}).
Work = Callable[[asyncpg.Connection], Awaitable[Any]]
PoolWork = Callable[[], Awaitable[Any]]


@dataclass(frozen=True)
class Key:
    """Whose key, the key, and what makes two requests under it the same request."""

    owner: str
    key: str
    request_hash: str

    @classmethod
    def of(cls, owner: str, key: str, method: str, path: str, body: Any) -> Key:
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
        digest = hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()
        return cls(owner, key, digest)


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    replayed: bool = False  # the stored answer of an earlier request under the key
    refusal: HTTPException | None = None  # this request's own refusal (its body is `body`)


class Store:
    """One service's `idempotency_keys` table."""

    def __init__(self, schema: str) -> None:
        self.table = f"{schema}.idempotency_keys"

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
            raise HTTPException(
                422,
                {
                    "code": KEY_REUSED,
                    "message": "this Idempotency-Key was used with a different request",
                },
            )
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


def refused(exc: HTTPException) -> Answer:
    """A refusal as the answer the error handlers give (eventkit.http_errors)."""
    detail: dict[str, Any] = exc.detail if isinstance(exc.detail, dict) else {}
    code, message = str(detail.get("code", "conflict")), str(detail.get("message", exc.detail))
    return Answer(exc.status_code, error_body(code, message), refusal=exc)


async def run(conn: asyncpg.Connection, store: Store, key: Key, status: int, work: Work) -> Answer:
    """`work(conn)` in one transaction with its answer (JSON form) kept under `key`, or the
    answer kept under `key` before."""
    stored = await store.lookup(conn, key)
    if stored is not None:
        return stored
    try:
        async with unit_of_work.transaction(conn):
            answer = Answer(status, await work(conn))
            await store.store(conn, key, answer)
            return answer
    except HTTPException as exc:  # the transaction has rolled back
        answer = refused(exc)
    except asyncpg.UniqueViolationError as exc:  # a concurrent request with this key won?
        if exc.table_name != "idempotency_keys":  # no: the work's own
            raise
        return await _kept(conn, store, key)
    if await store.store(conn, key, answer, first_wins=True):
        return answer
    return await _kept(conn, store, key)


async def run_outside(
    conn: asyncpg.Connection, store: Store, key: Key, status: int, work: PoolWork
) -> Answer:
    """`work()`, which opens transactions of its own, with its answer kept under `key` once it
    has finished, or the answer kept under `key` before."""
    stored = await store.lookup(conn, key)
    if stored is not None:
        return stored
    try:
        answer = Answer(status, await work())
    except HTTPException as exc:
        answer = refused(exc)
    if await store.store(conn, key, answer, first_wins=True):
        return answer
    return await _kept(conn, store, key)  # a concurrent request finished first: its answer


async def _kept(conn: asyncpg.Connection, store: Store, key: Key) -> Answer:
    kept = await store.lookup(conn, key)
    assert kept is not None  # rows under a key are never deleted
    return kept
