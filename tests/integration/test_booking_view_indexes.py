"""A booking's read (polled by guests until the capture) finds its amendments' charges and its
payments' disputes through indexes: its cost does not grow with the history of either table.

With sequential scans disabled for the transaction, the planner still scans a table it has no
index for; `pg_stat_xact_user_tables` counts the scans of this transaction alone."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from booking.adapters import disputes

pytestmark = pytest.mark.integration


async def test_a_bookings_disputes_and_amendment_charges_are_read_without_a_table_scan(
    booking_pool: asyncpg.Pool,
) -> None:
    booking = {"booking_id": uuid.uuid4(), "group_id": uuid.uuid4(), "payment_id": "pi_view"}
    async with booking_pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        assert await disputes.for_booking(conn, booking) == []  # type: ignore[arg-type]
        scans = await conn.fetch(
            "SELECT relname, seq_scan FROM pg_stat_xact_user_tables "
            "WHERE schemaname = 'booking' AND relname IN ('amendments', 'payment_disputes')"
        )
    assert {r["relname"]: r["seq_scan"] for r in scans} == {"amendments": 0, "payment_disputes": 0}
