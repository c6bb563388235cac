"""A transaction with an after-commit hook: effects that must happen once, and only if the
work commits (business counters, docs/observability.md).

A counter incremented inside a transaction that then rolls back, and is retried, counts
twice: the consumer's run of events that falls back to one by one, a lock conflict, an outage
mid-transaction. `after_commit(fn)` defers `fn` until the innermost open `transaction(conn)`
commits; a rolled back transaction drops what it deferred. A nested one on the same
connection (a savepoint) hands its effects to the enclosing one on release, so nothing runs
before the outermost commit; one on another connection commits, and runs them, on its own.

The pending effects live in a context variable, so handlers need no extra argument: tasks
started inside a transaction share its list (asyncio copies the context, not the list).
Outside any `transaction()` an effect runs at once: there is nothing it could be undone with.
Effects must be cheap and must not raise (they run after the data is durable); one that does
is logged and the others still run.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

import asyncpg

from eventkit.write_behind import WriteBehind
from marketplace_contracts import Envelope, EventModel

if TYPE_CHECKING:
    from eventkit.outbox import Outbox

log = logging.getLogger("eventkit.unit_of_work")

Effect = Callable[[], None]


class _Open:
    """The innermost open transaction: its connection, the effects it deferred and the writes
    it keeps for its end (eventkit.write_behind), by outbox table."""

    __slots__ = ("behind", "conn", "effects")

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.effects: list[Effect] = []
        self.behind: dict[str, WriteBehind] = {}


_current: ContextVar[_Open | None] = ContextVar("eventkit_unit_of_work", default=None)


def write_behind(conn: asyncpg.Connection, schema: str, table: str) -> WriteBehind | None:
    """Where the innermost open `transaction(conn)` keeps the outbox rows and timer changes
    of `schema.table` for its end; None outside one (write them at once)."""
    current = _current.get()
    if current is None or current.conn is not conn:
        return None
    key = f"{schema}.{table}"
    kept = current.behind.get(key)
    if kept is None:
        kept = current.behind[key] = WriteBehind(schema, table)
    return kept


def after_commit(effect: Effect) -> None:
    """Run `effect` when the current transaction commits (now when none is open)."""
    current = _current.get()
    if current is None:
        _run([effect])
    else:
        current.effects.append(effect)


@asynccontextmanager
async def transaction(conn: asyncpg.Connection) -> AsyncIterator[asyncpg.Connection]:
    """`conn.transaction()` whose `after_commit` effects run once it has committed, and whose
    kept writes (`write_behind`) are written just before."""
    outer = _current.get()
    nested = outer is not None and outer.conn is conn
    mine = _Open(conn)
    token = _current.set(mine)
    try:
        async with conn.transaction():
            yield conn
            if not nested:
                for kept in mine.behind.values():
                    await kept.flush(conn)
    finally:
        _current.reset(token)
    # Reached only when the block committed (or released its savepoint): an exception
    # has left through the `finally` above with `mine` dropped.
    if nested:
        assert outer is not None
        outer.effects.extend(mine.effects)
        for key, kept in mine.behind.items():
            into = outer.behind.get(key)
            if into is None:
                outer.behind[key] = kept
            else:
                into.absorb(kept)
    else:
        _run(mine.effects)


def _run(effects: list[Effect]) -> None:
    for effect in effects:
        try:
            effect()
        except Exception:
            log.exception("after-commit effect %r failed", effect)


class OutboxUnit:
    """What every service's unit of work starts from: the connection of an open transaction
    and the outbox its events go to, written on that connection (booking's and payments' add
    their repositories)."""

    def __init__(self, conn: asyncpg.Connection, outbox: Outbox) -> None:
        self.conn = conn
        self.outbox = outbox

    async def emit(
        self,
        event: EventModel,
        *,
        key: str,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None = None,
    ) -> Envelope:
        """Write `event` to the outbox in this unit's transaction."""
        return await self.outbox.add(
            self.conn, event, key=key, correlation_id=correlation_id, causation_id=causation_id
        )

    async def reply(self, event: EventModel, *, key: str, cause: Envelope) -> Envelope:
        """`emit` in answer to `cause`: the same saga, caused by it."""
        return await self.outbox.reply(self.conn, event, key=key, cause=cause)
