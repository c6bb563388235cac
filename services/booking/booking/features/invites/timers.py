"""Smart Invites' durable timer: `invite_expiry` (the kind is domain vocabulary, `domain.py`)
expires an invite still open at its `expires_at`. Registered by `booking.bootstrap`."""

from __future__ import annotations

import uuid

import asyncpg

from booking.features.invites import repository as invites_repository
from booking.features.invites.domain import INVITE_EXPIRY, Invite
from booking.features.invites.service import close
from eventkit.outbox import Outbox

__all__ = ["INVITE_EXPIRY", "expire_job"]


async def expire_job(
    outbox: Outbox, conn: asyncpg.Connection, invite_id: str, _payload: dict[str, object]
) -> None:
    """Durable timer: an invite still open at `expires_at` expires."""
    row = await invites_repository.lock_invite(conn, uuid.UUID(invite_id))
    if row is None:
        return
    invite = Invite.of(row)
    if (step := invite.expire()) is not None:
        await close(conn, outbox, row, invite, step)
