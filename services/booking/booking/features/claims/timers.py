"""Damage claims' durable timers (the kinds are domain vocabulary, `domain/claim.py`), both
registered by `booking.bootstrap`:

- `claim_response_expiry`, keyed by the claim, at its `respond_by`: an unanswered claim waits
  for an admin;
- `deposit_release`, keyed by the booking, at the end of the claim window: the deposit is
  released unless a claim is still open.
"""

from __future__ import annotations

import uuid

import asyncpg

from booking.adapters import repository
from booking.features.claims.domain import CLAIM_RESPONSE_EXPIRY, DEPOSIT_RELEASE, ClaimTrigger
from booking.features.claims.messages import About, publish
from booking.features.claims.service.deposits import release_if_settled
from booking.features.claims.service.use_cases import lock, save
from eventkit.outbox import Outbox

__all__ = ["CLAIM_RESPONSE_EXPIRY", "DEPOSIT_RELEASE", "expire_response", "release_job"]


async def expire_response(
    outbox: Outbox, conn: asyncpg.Connection, claim_id: str, _payload: dict[str, object]
) -> None:
    """Durable timer at respond_by: an unanswered claim waits for an admin."""
    row, claim = await lock(conn, uuid.UUID(claim_id))
    change = claim.expire_response()
    if change is None:
        return  # answered meanwhile
    await save(conn, claim)
    await publish(conn, outbox, change, About(claim, row, ClaimTrigger.RESPONSE_EXPIRED))


async def release_job(
    outbox: Outbox, conn: asyncpg.Connection, booking_id: str, _payload: dict[str, object]
) -> None:
    """Durable timer at the end of the claim window: release the deposit unless a claim is
    still open (its end releases it then)."""
    row = await repository.get_booking(conn, uuid.UUID(booking_id), for_update=True)
    if row is None:
        return
    await release_if_settled(conn, outbox, row, window_over=True)
