"""Amendments' durable timer: `amendment_expiry` (the kinds are domain vocabulary,
`domain/amendment.py`) ends an amendment nobody answered in time. Registered by
`booking.bootstrap`; the other kind, `create_amendment_envelope`, is handled by the documents
feature's timers (`features/documents/timers.py`)."""

from __future__ import annotations

import uuid

import asyncpg

from booking.features.amendments.domain import AMENDMENT_EXPIRY
from booking.features.amendments.service.use_cases import expire
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.outbox import Outbox

__all__ = ["AMENDMENT_EXPIRY", "expire_job"]


async def expire_job(
    outbox: Outbox, conn: asyncpg.Connection, amendment_id: str, _payload: dict[str, object]
) -> None:
    """Durable timer: a change unanswered at the start expires; overtime not disputed within
    its window counts as accepted and is charged."""
    await expire(UnitOfWork(conn, outbox), uuid.UUID(amendment_id))
