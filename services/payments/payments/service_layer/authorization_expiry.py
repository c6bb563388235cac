"""The authorization sweeper: no card authorization lapses silently.

Card networks drop an uncaptured authorization after about 7 days. Every
`PAYMENTS_AUTHORIZATION_SWEEP_SECONDS`, payments looks for authorizations older than
`PAYMENTS_AUTHORIZATION_LIFETIME_SECONDS` minus `PAYMENTS_AUTHORIZATION_EXPIRY_MARGIN_SECONDS`
and emits `payments.authorization_expiring` once for each, in the transaction that marks it.
Booking decides: a confirmed booking's capture is asked for again; a request still waiting for
its host (or a group waiting for its hosts) is renewed off-session on the saved card
(`reauthorization`) or, by policy or when the card declines, released and its authorization
voided. The same loop cancels the authorizations renewals replaced.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import asyncpg

from domainkit.rows import from_row
from eventkit import periodic
from eventkit.outbox import Outbox
from eventkit.runtime import ServiceRuntime, Worker
from marketplace_contracts.events.payments import AuthorizationExpiringV1
from payments.adapters.stripe_gateway import StripeGateway
from payments.service_layer.reauthorization import DEFAULT_CANCEL_GRACE, cancel_replaced
from payments.service_layer.unit_of_work import UnitOfWork

log = logging.getLogger("payments.authorization_expiry")


async def sweep(
    conn: asyncpg.Connection,
    outbox: Outbox,
    lifetime: timedelta,
    margin: timedelta,
    limit: int = 200,
) -> int:
    """Report the authorizations nearing their limit; each one once (one transaction on
    `conn`, as a unit of work)."""
    async with conn.transaction():
        uow = UnitOfWork(conn, outbox)
        rows = await uow.payments.claim_expiring(lifetime - margin, limit)
        for row in rows:
            log.warning("authorization of %s is nearing its limit", row["payment_id"])
            await uow.emit(
                from_row(AuthorizationExpiringV1, row, expires_at=row["authorized_at"] + lifetime),
                key=row["payment_id"],
                correlation_id=row["correlation_id"] or uuid.uuid4(),
            )
    return len(rows)


def sweeper(
    outbox: Outbox,
    lifetime: timedelta,
    margin: timedelta,
    every: float,
    stripe: StripeGateway | None = None,
    cancel_grace: timedelta = DEFAULT_CANCEL_GRACE,
) -> Worker:
    async def step(runtime: ServiceRuntime) -> None:
        async with runtime.db.acquire() as conn:
            await sweep(conn, outbox, lifetime, margin)
        if stripe is not None:
            await cancel_replaced(runtime.db, stripe, cancel_grace)

    return periodic.every(every, step, name="authorization-sweeper")
