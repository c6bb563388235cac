"""Read model of Smart Invites: an invite as its guest, its host and staff see it."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from booking.domain.errors import BookingError, ErrorCode
from booking.features.invites.repository import InvitesRepository
from booking.service_layer.rows import columns, texts


async def view(conn: asyncpg.Connection, invite_id: uuid.UUID) -> dict[str, Any]:
    return await document(InvitesRepository(conn), invite_id)


async def document(invites: InvitesRepository, invite_id: uuid.UUID) -> dict[str, Any]:
    """The invite as `view` shows it, read through a unit of work's repository."""
    row = await invites.get(invite_id)
    if row is None:
        raise BookingError(ErrorCode.INVITE_NOT_FOUND, f"invite {invite_id} not found")
    return invite_view(row)


def invite_view(row: asyncpg.Record) -> dict[str, Any]:
    return {
        **columns(row, "host_id guest_id listing_id amount currency note status version extras"),
        **texts(row, "starts_at ends_at expires_at created_at updated_at invite_id booking_id"),
        "price": row["amount"] - sum(extra["amount"] for extra in row["extras"]),
    }
