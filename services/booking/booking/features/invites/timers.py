"""Smart Invites' durable timer: `invite_expiry` (the kind is domain vocabulary, `domain.py`)
expires an invite still open at its `expires_at`. Registered by `booking.bootstrap`."""

from __future__ import annotations

import uuid

import asyncpg

from booking.features.invites.domain import INVITE_EXPIRY
from booking.features.invites.service import expire
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.outbox import Outbox

__all__ = ["INVITE_EXPIRY", "expire_job"]


async def expire_job(
    outbox: Outbox, conn: asyncpg.Connection, invite_id: str, _payload: dict[str, object]
) -> None:
    """Durable timer: an invite still open at `expires_at` expires."""
    await expire(UnitOfWork(conn, outbox), uuid.UUID(invite_id))
