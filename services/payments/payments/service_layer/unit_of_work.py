"""One transaction of payments: its connection, the outbox, and the repositories that run their
SQL on it.

A use case's `apply` (the half of a consumer route that records what Stripe answered, in the
transaction that claims the inbox row) takes a `UnitOfWork` and reads, writes and publishes
(`add`, `reply`) only through it, so the unit tests can hand it fakes and run it without
Postgres (tests/support/payments_fakes.py). It lives in the service layer, as booking's does:
the routing table builds one per consumed event (`on_uow`), and entrypoints may not import
adapters. The outbox is bootstrap's, handed down by whoever opens the transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from eventkit.outbox import Outbox
from eventkit.unit_of_work import OutboxUnit
from marketplace_contracts import Envelope
from payments.adapters.bank_debit_repository import BankDebitsRepository
from payments.adapters.deposit_repository import DepositsRepository
from payments.adapters.dispute_repository import DisputesRepository
from payments.adapters.refund_repository import RefundsRepository
from payments.adapters.repository import PaymentsRepository
from payments.adapters.transfer_repository import TransfersRepository
from payments.adapters.webhook_repository import WebhooksRepository


class UnitOfWork(OutboxUnit):
    """Wraps a connection that is inside a transaction (a consumed event's, a worker's, a staff
    request's); the repositories are built on it, cheaply, each time. `emit` and `reply`
    publish on it (eventkit's `OutboxUnit`)."""

    def __init__(self, conn: asyncpg.Connection, outbox: Outbox) -> None:
        super().__init__(conn, outbox)
        self.payments = PaymentsRepository(conn)
        self.refunds = RefundsRepository(conn)
        self.deposits = DepositsRepository(conn)
        self.transfers = TransfersRepository(conn)
        self.disputes = DisputesRepository(conn)
        self.bank_debits = BankDebitsRepository(conn)
        self.webhooks = WebhooksRepository(conn)


def on_uow(
    outbox: Outbox,
    apply: Callable[[UnitOfWork, Envelope, Any, Any], Awaitable[None]],
) -> Callable[[asyncpg.Connection, Envelope, Any, Any], Awaitable[None]]:
    """A route's `apply` that takes payments' unit of work, on the consumer's transaction."""

    async def run(conn: asyncpg.Connection, env: Envelope, event: Any, prepared: Any) -> None:
        await apply(UnitOfWork(conn, outbox), env, event, prepared)

    return run
