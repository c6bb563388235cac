"""What the gateway shows of an amendment, to the booking's guest and host and admins."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from booking.domain.errors import BookingError, ErrorCode
from booking.domain.refunds import Canceller
from booking.features.amendments.domain import Actor
from booking.features.amendments.repository import AmendmentsRepository
from booking.service_layer.rows import columns, texts


def _shown(am: dict[str, Any]) -> dict[str, Any]:
    return {
        **texts(am, "amendment_id booking_id starts_at ends_at respond_by created_at updated_at"),
        **columns(
            am,
            "kind proposed_by status guests extras delta currency quote failure_reason "
            "needs_signatures refund_status refund_failure signing_url",
        ),
    }


async def view_for(
    conn: asyncpg.Connection, amendment_id: uuid.UUID, viewer: Actor | None
) -> dict[str, Any]:
    """The amendment as `viewer` (None: an admin) may see it; 404 when they may not."""
    return await document(AmendmentsRepository(conn), amendment_id, viewer)


async def document(
    amendments: AmendmentsRepository, amendment_id: uuid.UUID, viewer: Actor | None = None
) -> dict[str, Any]:
    """`view_for`, read through a unit of work's repository."""
    am = await amendments.get(amendment_id)
    owner = (
        None
        if am is None or viewer is None
        else am["guest_id" if viewer.by is Canceller.GUEST else "host_id"]
    )
    if am is None or (viewer is not None and owner != viewer.actor_id):
        raise BookingError(ErrorCode.AMENDMENT_NOT_FOUND, f"amendment {amendment_id} not found")
    return _shown(am)


async def view(conn: asyncpg.Connection, amendment_id: uuid.UUID) -> dict[str, Any]:
    return await view_for(conn, amendment_id, None)
