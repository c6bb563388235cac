"""One transaction of booking: its connection, the outbox and the durable timers written in it,
and the repositories that run their SQL on it.

A use case that takes a `UnitOfWork` reads and writes only through it, so the unit tests can
hand it fakes (tests/support/booking_fakes.py) and run it without Postgres. It lives in the
service layer (as in cosmicpython), not in `adapters/` as disputes' does: the gateway's
`Command` builds one per request, and entrypoints may not import adapters
(import-linter: booking-entrypoints-thin). The outbox is bootstrap's, handed down by whoever
opens the transaction (a route's `Command`, a timer, the consumer dispatch).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

import asyncpg

from booking.adapters.repository import BookingsRepository
from booking.features.amendments.repository import AmendmentsRepository
from booking.features.bank_debits.repository import BankDebitsRepository
from booking.features.cancellations.repository import CancellationsRepository
from booking.features.checkout.repository import CheckoutRepository
from booking.features.claims.repository import ClaimsRepository
from booking.features.documents.repository import DocumentsRepository
from booking.features.groups.repository import GroupsRepository
from booking.features.invites.repository import InvitesRepository
from booking.features.receipts.repository import ReceiptsRepository
from eventkit import scheduler, unit_of_work
from eventkit.outbox import Outbox
from eventkit.unit_of_work import OutboxUnit

SCHEMA = "booking"


class Timers:
    """booking's durable timers (eventkit.scheduler), scheduled and cancelled in the unit's
    transaction, so a timer exists exactly when the change that needs it committed. Inside
    `eventkit.unit_of_work.transaction()` they are written with the outbox's rows, by one
    statement at its end (eventkit.write_behind); elsewhere at once."""

    def __init__(self, conn: asyncpg.Connection, outbox: Outbox) -> None:
        self.conn = conn
        self.outbox = outbox

    async def schedule(
        self,
        kind: str,
        subject_id: str,
        due_at: datetime,
        payload: dict[str, Any] | None = None,
        *,
        replacing: str | None = None,
    ) -> None:
        """`replacing`: the subject's pending timer of that kind is cancelled with it."""
        await scheduler.schedule(
            self.conn,
            SCHEMA,
            kind,
            subject_id,
            due_at,
            payload,
            replacing=replacing,
            kept=self.outbox.kept(self.conn),
        )

    async def cancel(self, kind: str, subject_id: str) -> None:
        await scheduler.cancel(
            self.conn, SCHEMA, kind, subject_id, kept=self.outbox.kept(self.conn)
        )


class UnitOfWork(OutboxUnit):
    """Wraps a connection that is inside a transaction (a request's, a timer's, a consumed
    event's); the repositories are built on it, cheaply, each time. `emit` and `reply` write
    to the outbox on it (eventkit's `OutboxUnit`)."""

    def __init__(self, conn: asyncpg.Connection, outbox: Outbox) -> None:
        super().__init__(conn, outbox)
        self.timers = Timers(conn, outbox)
        self.bookings = BookingsRepository(conn)
        self.invites = InvitesRepository(conn)
        self.claims = ClaimsRepository(conn)
        self.groups = GroupsRepository(conn)
        self.amendments = AmendmentsRepository(conn)
        self.cancellations = CancellationsRepository(conn)
        self.receipts = ReceiptsRepository(conn)
        self.bank_debits = BankDebitsRepository(conn)
        self.checkout = CheckoutRepository(conn)
        self.documents = DocumentsRepository(conn)

    def savepoint(self) -> AbstractAsyncContextManager[asyncpg.Connection]:
        """A nested transaction (`async with`): what runs in it is undone together if it
        raises, its kept events and timers too, and the unit's transaction goes on."""
        return unit_of_work.transaction(self.conn)
