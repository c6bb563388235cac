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
from booking.service_layer.rows import columns, texts


async def listings(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """The active listings of the catalogue replica."""
    return await repository.list_listings(conn)


async def booking(conn: asyncpg.Connection, booking_id: uuid.UUID) -> asyncpg.Record | None:
    """The booking as shown, with whether it is disputed (`with_dispute` reads the dispute
    only then)."""
    return await repository.get_booking_shown(conn, booking_id)


async def with_dispute(
    conn: asyncpg.Connection, row: asyncpg.Record, staff: bool
) -> dict[str, Any]:
    """The booking's view with its payment's dispute (its details for staff only). A row read
    by `booking` says whether there is one to read."""
    never = "disputed" in row.keys() and not row["disputed"]
    return {
        **booking_view(row),
        "dispute": None if never else await disputes.dispute_of_booking(conn, row, staff=staff),
    }


def deposit_status(row: asyncpg.Record) -> str:
    """none (no deposit), held (claims may still be filed) or released."""
    if not row["deposit_amount"]:
        return "none"
    return "released" if row["deposit_released_at"] else "held"


def booking_view(row: asyncpg.Record) -> dict[str, Any]:
    return {
        **texts(row, "booking_id"),
        **columns(
            row,
            "status payment_status guest_id listing_id host_id amount platform_fee currency "
            "payment_id failure_reason failure_detail version mode",
        ),
        **texts(row, "starts_at ends_at respond_by pay_by group_id"),
        **columns(row, "signing_url guests extras tax quote policy cancelled_by"),
        **texts(row, "cancelled_at authorization_renewed_at created_at updated_at"),
        **columns(row, "refund refund_status refund_failure refunded_amount"),
        # Only while the checkout waits for it (a 3-D Secure step at authorization).
        "next_action": row["next_action"]
        if row["next_action"] and row["status"] == "pending_payment"
        else None,
        **columns(row, "deposit_amount deposit_charged"),
        "deposit_status": deposit_status(row),
        **bank_debits.view_fields(row),
    }
