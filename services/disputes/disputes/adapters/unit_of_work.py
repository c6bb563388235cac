"""One transaction of the disputes service: its repositories, and the events it publishes
through the outbox in the same transaction (never after commit)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from disputes.adapters.cases_repository import CasesRepository
from disputes.adapters.facts_repository import FactsRepository
from eventkit.outbox import Outbox
from marketplace_contracts import Envelope, EventModel

# Events of one case share a correlation id derived from it, so a trace of the case follows
# every request and answer between disputes and payments.
_CASES = uuid.UUID("6f1d1f1e-3c55-4d1e-9b0e-5d1f7d0c0a12")


def correlation_for(dispute_id: str) -> uuid.UUID:
    return uuid.uuid5(_CASES, dispute_id)


class UnitOfWork:
    """Wraps a connection that is inside a transaction (the consumer's, a timer's, a request's)."""

    def __init__(
        self, conn: asyncpg.Connection, outbox: Outbox, cause: Envelope | None = None
    ) -> None:
        self.conn = conn
        self.outbox = outbox
        self.cause = cause
        self.cases = CasesRepository(conn)
        self.facts = FactsRepository(conn)

    async def publish(self, event: EventModel, *, key: str) -> None:
        await self.outbox.add(
            self.conn,
            event,
            key=key,
            correlation_id=self.cause.correlation_id if self.cause else correlation_for(key),
            causation_id=self.cause.event_id if self.cause else None,
        )


@asynccontextmanager
async def begin(pool: asyncpg.Pool, outbox: Outbox) -> AsyncIterator[UnitOfWork]:
    """A new transaction on a pooled connection: committed when the block ends cleanly."""
    async with pool.acquire() as conn, conn.transaction():
        yield UnitOfWork(conn, outbox)
