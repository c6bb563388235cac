"""Linked Booking Groups' durable timer: `group_hold_expiry` (the kind is domain vocabulary,
`domain.py`) fails a group not signed and paid for when its checkout hold runs out.
Registered by `booking.bootstrap` with bootstrap's outbox and the consumer's `GroupPayments`
(the hold's rule)."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from booking.features.groups.domain import GROUP_HOLD_EXPIRY
from booking.features.groups.service import GroupPayments
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.outbox import Outbox

__all__ = ["GROUP_HOLD_EXPIRY", "expire_hold"]


async def expire_hold(
    outbox: Outbox,
    groups: GroupPayments,
    conn: asyncpg.Connection,
    group_id: str,
    _payload: dict[str, object],
) -> datetime | None:
    """Durable timer: the hold ran out (`GroupPayments.expire_hold`); a time returned fires
    it again then."""
    return await groups.expire_hold(UnitOfWork(conn, outbox), uuid.UUID(group_id))
