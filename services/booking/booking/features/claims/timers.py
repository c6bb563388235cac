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

from booking.features.claims.domain import CLAIM_RESPONSE_EXPIRY, DEPOSIT_RELEASE
from booking.features.claims.service.deposits import on_window_over
from booking.features.claims.service.use_cases import on_response_expired
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.outbox import Outbox

__all__ = ["CLAIM_RESPONSE_EXPIRY", "DEPOSIT_RELEASE", "expire_response", "release_job"]


async def expire_response(
    outbox: Outbox, conn: asyncpg.Connection, claim_id: str, _payload: dict[str, object]
) -> None:
    """Durable timer at respond_by: an unanswered claim waits for an admin."""
    await on_response_expired(UnitOfWork(conn, outbox), uuid.UUID(claim_id))


async def release_job(
    outbox: Outbox, conn: asyncpg.Connection, booking_id: str, _payload: dict[str, object]
) -> None:
    """Durable timer at the end of the claim window: release the deposit unless a claim is
    still open."""
    await on_window_over(UnitOfWork(conn, outbox), uuid.UUID(booking_id))
