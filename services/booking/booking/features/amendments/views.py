"""What the gateway shows of an amendment, to the booking's guest and host and admins."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from booking.domain.errors import BookingError, ErrorCode
from booking.domain.refunds import Canceller
from booking.features.amendments import repository as amendments_repo
from booking.features.amendments.domain import Actor


def _shown(am: dict[str, Any]) -> dict[str, Any]:
    return {
        "amendment_id": str(am["amendment_id"]),
        "booking_id": str(am["booking_id"]),
        "kind": am["kind"],
        "proposed_by": am["proposed_by"],
        "status": am["status"],
        "starts_at": am["starts_at"].isoformat(),
        "ends_at": am["ends_at"].isoformat(),
        "guests": am["guests"],
        "extras": am["extras"],
        "delta": am["delta"],
        "currency": am["currency"],
        "quote": am["quote"],
        "respond_by": am["respond_by"].isoformat(),
        "failure_reason": am["failure_reason"],
        "needs_signatures": am["needs_signatures"],
        "refund_status": am["refund_status"],
        "refund_failure": am["refund_failure"],
        "signing_url": am["signing_url"],
        "created_at": am["created_at"].isoformat(),
        "updated_at": am["updated_at"].isoformat(),
    }


async def view_for(
    conn: asyncpg.Connection, amendment_id: uuid.UUID, viewer: Actor | None
) -> dict[str, Any]:
    """The amendment as `viewer` (None: an admin) may see it; 404 when they may not."""
    am = await amendments_repo.get(conn, amendment_id)
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
