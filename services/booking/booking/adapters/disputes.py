"""SQL of booking's replica of payments' card disputes (`booking.payment_disputes`)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from booking.domain.disputes import CLOSED_RANK

# One statement whatever the order facts arrive in: the status moves only to a higher rank;
# `due_by` is the one of the furthest fact that named one (a closing names none, an update
# arriving after it still moves the deadline it set); details a fact lacks keep what an earlier
# one said; the first closing stays (won and lost share the closed rank).
_UPSERT = """
INSERT INTO booking.payment_disputes AS d (dispute_id, payment_id, subject_id, booking_ids,
    status, rank, reason, amount, currency, opened_at, due_by, due_rank, closed_at)
VALUES ($1, $2, $3, $4::jsonb, $5, $6::smallint, $7, $8, $9, $10, $11::timestamptz,
        CASE WHEN $11::timestamptz IS NULL THEN 0 ELSE $6::smallint END, $12)
ON CONFLICT (dispute_id) DO UPDATE SET
    status = CASE WHEN EXCLUDED.rank > d.rank THEN EXCLUDED.status ELSE d.status END,
    rank = GREATEST(EXCLUDED.rank, d.rank),
    due_by = CASE WHEN EXCLUDED.due_by IS NOT NULL AND EXCLUDED.due_rank >= d.due_rank
                  THEN EXCLUDED.due_by ELSE d.due_by END,
    due_rank = CASE WHEN EXCLUDED.due_by IS NOT NULL
                    THEN GREATEST(EXCLUDED.due_rank, d.due_rank) ELSE d.due_rank END,
    booking_ids = CASE WHEN EXCLUDED.booking_ids <> '[]'::jsonb
                       THEN EXCLUDED.booking_ids ELSE d.booking_ids END,
    reason = COALESCE(d.reason, EXCLUDED.reason),
    amount = COALESCE(d.amount, EXCLUDED.amount),
    currency = COALESCE(d.currency, EXCLUDED.currency),
    opened_at = COALESCE(d.opened_at, EXCLUDED.opened_at),
    closed_at = COALESCE(d.closed_at, EXCLUDED.closed_at),
    updated_at = now()
"""


async def record(
    conn: asyncpg.Connection,
    *,
    dispute_id: str,
    payment_id: str,
    subject_id: str,
    status: str,
    rank: int,
    booking_ids: list[str] | None = None,
    reason: str | None = None,
    amount: int | None = None,
    currency: str | None = None,
    opened_at: datetime | None = None,
    due_by: datetime | None = None,
    closed_at: datetime | None = None,
) -> None:
    await conn.execute(
        _UPSERT,
        dispute_id,
        payment_id,
        subject_id,
        booking_ids or [],
        status,
        rank,
        reason,
        amount,
        currency,
        opened_at,
        due_by,
        closed_at,
    )


# Whether `for_booking` would find any dispute for the row of `booking.bookings` being read,
# as a column of that read (a booking's GET, polled by guests until the capture: one round trip
# when it was never disputed, as nearly every booking). The same four ways as `for_booking`,
# each its own EXISTS so that each is an index probe.
DISPUTED = (
    "(EXISTS (SELECT 1 FROM booking.payment_disputes d "
    "WHERE d.payment_id = bookings.payment_id) "
    "OR EXISTS (SELECT 1 FROM booking.amendments a JOIN booking.payment_disputes d "
    "ON d.payment_id = a.charge_payment_id WHERE a.booking_id = bookings.booking_id) "
    "OR EXISTS (SELECT 1 FROM booking.payment_disputes d "
    "WHERE d.subject_id IN (bookings.booking_id::text, bookings.group_id::text)) "
    "OR EXISTS (SELECT 1 FROM booking.payment_disputes d "
    "WHERE d.booking_ids ? bookings.booking_id::text))"
)


async def for_booking(conn: asyncpg.Connection, booking: asyncpg.Record) -> list[asyncpg.Record]:
    """Every dispute on a payment of this booking (its checkout, or its group's, and the extra
    charges of its amendments), open ones first, then the newest. One round trip: every
    `GET /v1/bookings/{id}` asks it."""
    booking_id = str(booking["booking_id"])
    group_id = str(booking["group_id"]) if booking["group_id"] else None
    return list(
        await conn.fetch(
            "SELECT * FROM booking.payment_disputes WHERE payment_id = ANY($1::text[] || ARRAY("
            "SELECT charge_payment_id FROM booking.amendments WHERE booking_id = $4 "
            "AND charge_payment_id IS NOT NULL)) "
            "OR subject_id = ANY($2::text[]) OR booking_ids ? $3 "
            f"ORDER BY (rank < {CLOSED_RANK}) DESC, opened_at DESC NULLS LAST, updated_at DESC",
            [booking["payment_id"]] if booking["payment_id"] else [],
            [s for s in (booking_id, group_id) if s],
            booking_id,
            booking["booking_id"],
        )
    )


async def for_group(conn: asyncpg.Connection, group: asyncpg.Record) -> list[asyncpg.Record]:
    """Disputes of a group's payment (every leg shares it)."""
    return list(
        await conn.fetch(
            "SELECT * FROM booking.payment_disputes WHERE payment_id = $1 OR subject_id = $2 "
            f"ORDER BY (rank < {CLOSED_RANK}) DESC, opened_at DESC NULLS LAST, updated_at DESC",
            group["payment_id"] or "",
            str(group["group_id"]),
        )
    )
