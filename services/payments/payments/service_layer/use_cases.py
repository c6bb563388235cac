"""What every group of payments' use cases holds: the pool (a getter: it exists once the runtime
has started), the outbox its events go to, and the Stripe calls it makes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

import asyncpg

from eventkit import unit_of_work
from eventkit.outbox import Outbox
from payments.adapters.repository import PaymentsRepository
from payments.service_layer.unit_of_work import UnitOfWork

StripeT = TypeVar("StripeT")


class StripeUseCases(Generic[StripeT]):
    """Use cases that call Stripe outside any transaction and record the result in one."""

    def __init__(self, db: Callable[[], asyncpg.Pool], outbox: Outbox, stripe: StripeT) -> None:
        self.db = db
        self.outbox = outbox
        self.stripe = stripe

    @property
    def payments(self) -> PaymentsRepository:
        """Payments read (or written by a statement of its own) on the pool, outside any
        transaction: what `prepare` looks at before it calls Stripe."""
        return PaymentsRepository(self.db())

    def unit(self, conn: asyncpg.Connection) -> UnitOfWork:
        """The unit of work of a transaction the caller opened on `conn`."""
        return UnitOfWork(conn, self.outbox)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWork]:
        """A connection of the pool in a transaction of its own, as a unit of work (its
        after-commit effects run once it has committed: eventkit.unit_of_work)."""
        async with self.db().acquire() as conn, unit_of_work.transaction(conn):
            yield UnitOfWork(conn, self.outbox)
