"""What the gateway reads of the catalogue and of one booking (views, no transaction), and the
booking's view itself (`booking_view`), which every feature that answers with a booking uses."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from booking.adapters import repository

# What a booking shows of its bank debit (a feature's pure rule; the view is everyone's).
from booking.features.bank_debits import domain as bank_debits
from booking.service_layer import disputes


async def listings(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """The active listings of the catalogue replica."""
    return await repository.list_listings(conn)


async def booking(conn: asyncpg.Connection, booking_id: uuid.UUID) -> asyncpg.Record | None:
    return await repository.get_booking(conn, booking_id)


async def with_dispute(
    conn: asyncpg.Connection, row: asyncpg.Record, staff: bool
) -> dict[str, Any]:
    """The booking's view with its payment's dispute (its details for staff only)."""
    return {
        **booking_view(row),
        "dispute": await disputes.dispute_of_booking(conn, row, staff=staff),
    }


def deposit_status(row: asyncpg.Record) -> str:
    """none (no deposit), held (claims may still be filed) or released."""
    if not row["deposit_amount"]:
        return "none"
    return "released" if row["deposit_released_at"] else "held"


def booking_view(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "booking_id": str(row["booking_id"]),
        "status": row["status"],
        "payment_status": row["payment_status"],
        "guest_id": row["guest_id"],
        "listing_id": row["listing_id"],
        "host_id": row["host_id"],
        "starts_at": row["starts_at"].isoformat(),
        "ends_at": row["ends_at"].isoformat(),
        "amount": row["amount"],
        "platform_fee": row["platform_fee"],
        "currency": row["currency"],
        "payment_id": row["payment_id"],
        "failure_reason": row["failure_reason"],
        "failure_detail": row["failure_detail"],
        "version": row["version"],
        "mode": row["mode"],
        "respond_by": row["respond_by"].isoformat() if row["respond_by"] else None,
        "pay_by": row["pay_by"].isoformat() if row["pay_by"] else None,
        "signing_url": row["signing_url"],
        "group_id": str(row["group_id"]) if row["group_id"] else None,
        "guests": row["guests"],
        "extras": row["extras"],
        "tax": row["tax"],
        "quote": row["quote"],
        "policy": row["policy"],
        "cancelled_by": row["cancelled_by"],
        "cancelled_at": row["cancelled_at"].isoformat() if row["cancelled_at"] else None,
        "refund": row["refund"],
        "refund_status": row["refund_status"],
        "refund_failure": row["refund_failure"],
        "refunded_amount": row["refunded_amount"],
        "authorization_renewed_at": row["authorization_renewed_at"].isoformat()
        if row["authorization_renewed_at"]
        else None,
        # Only while the checkout waits for it (a 3-D Secure step at authorization).
        "next_action": row["next_action"]
        if row["next_action"] and row["status"] == "pending_payment"
        else None,
        "deposit_amount": row["deposit_amount"],
        "deposit_status": deposit_status(row),
        "deposit_charged": row["deposit_charged"],
        **bank_debits.view_fields(row),
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
    }
