"""A gateway command's unit of work: one transaction, run once per Idempotency-Key.

The answer under a key is stored in the same transaction as the work (adapters/idempotency.py),
so a crash leaves either both or neither; a refusal is an answer too, stored on its own (it
has no effects to keep with it). A transaction that Postgres aborts as a deadlock victim (two
checkouts of one slot while the winner's payment is confirmed) is run again: the retry sees
the winner and is refused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from booking.adapters import idempotency
from booking.domain.errors import BookingError, ErrorCode
from eventkit import unit_of_work
from eventkit.db import retry_conflicts

Work = Callable[[asyncpg.Connection], Awaitable[tuple[int, Any]]]
Refusal = Callable[[BookingError], tuple[int, Any]]  # a refusal's status and body


@dataclass(frozen=True)
class Key:
    """Whose key, the key, and what makes two requests under it the same request."""

    owner: str
    key: str
    request_hash: str

    @classmethod
    def of(cls, owner: str, key: str, method: str, path: str, body: Any) -> Key:
        return cls(owner, key, idempotency.request_hash(method, path, body))


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    replayed: bool = False  # the stored answer of an earlier request under the key
    refusal: BookingError | None = None  # this request's own refusal (its body is `body`)


async def run(conn: asyncpg.Connection, work: Work, refuse: Refusal, key: Key | None) -> Answer:
    """Run `work` in one transaction, or replay what it answered under `key` before."""
    if key is None:
        return await retry_conflicts(lambda: _transact(conn, work, refuse))
    stored = await idempotency.lookup(conn, key.owner, key.key)
    if stored is None:
        try:
            return await retry_conflicts(lambda: _transact(conn, work, refuse, key))
        except asyncpg.UniqueViolationError:  # a concurrent request with this key won
            stored = await idempotency.lookup(conn, key.owner, key.key)
            assert stored is not None
    if stored.request_hash != key.request_hash:
        raise BookingError(
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            "this Idempotency-Key was used with a different request body",
        )
    return Answer(stored.status_code, stored.body, replayed=True)


async def _transact(
    conn: asyncpg.Connection, work: Work, refuse: Refusal, key: Key | None = None
) -> Answer:
    """One transaction of `work`; a refusal leaves nothing of the work.

    No savepoint around the work: its SAVEPOINT and RELEASE were two of the dozen round trips
    of every checkout, for the rare refusal that a rollback undoes as well."""
    try:
        async with unit_of_work.transaction(conn):
            status, body = await work(conn)
            if key is not None:
                await idempotency.store(conn, key.owner, key.key, key.request_hash, status, body)
            return Answer(status, body)
    except BookingError as exc:  # the transaction has rolled back
        status, body = refuse(exc)
        if key is not None:
            await idempotency.store(conn, key.owner, key.key, key.request_hash, status, body)
        return Answer(status, body, refusal=exc)
