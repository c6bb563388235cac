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
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import asyncpg

from domainkit.ids import new_uuid
from domainkit.rows import from_row
from eventkit import periodic
from eventkit.outbox import Outbox
from eventkit.publishing import Cause
from eventkit.runtime import ServiceRuntime, Worker
from marketplace_contracts.events.payments import AuthorizationExpiringV1
from payments.adapters.stripe_gateway import StripeGateway
from payments.domain.payment import EXPIRING_EVENT, Payment, PaymentStatus, PaymentTrigger
from payments.service_layer import lifecycle
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
            await _announce_expiring(uow, row, lifetime)
    return len(rows)


async def _announce_expiring(uow: UnitOfWork, row: Mapping[str, Any], lifetime: timedelta) -> None:
    """A claimed authorization stays authorized, with the event the table declares for it."""
    noted = Payment(row["payment_id"], PaymentStatus.AUTHORIZED).apply(PaymentTrigger.EXPIRE)
    expiring = from_row(AuthorizationExpiringV1, row, expires_at=row["authorized_at"] + lifetime)
    cause = Cause(row["correlation_id"] or new_uuid())
    builders = {EXPIRING_EVENT: lambda: expiring}
    await lifecycle.announce(uow, row["payment_id"], noted, builders, cause)


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
