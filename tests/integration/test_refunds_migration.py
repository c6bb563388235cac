"""Migration 0027 moves each cancellation's refund from the blob `bookings.refund` to rows of
booking.refunds, refund_lines and refund_requests, and back on downgrade; the repository keeps
the order in which payments' answers came.

Each migration test runs the revision's `downgrade()`/`upgrade()` through Alembic's operations
on one connection, inside a transaction that is rolled back: Postgres DDL is transactional, so
the test database is left at the head revision whatever happens."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import Connection, text

from booking.adapters import refunds_repository, repository
from booking.adapters.refunds_repository import REFUND_DOCUMENT
from booking.domain.refunds import (
    Basis,
    CancellationRefund,
    Canceller,
    RefundDecision,
    RefundProgress,
)
from booking.features.cancellations import service as cancellations
from booking.features.checkout.service import PlaceBooking, place_booking
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.outbox import Outbox
from eventkit.rows import LostUpdate
from tests.support import alembic_steps

pytestmark = pytest.mark.integration
MIGRATIONS = Path(__file__).resolve().parents[2] / "services/booking/booking/migrations"
OUTBOX = Outbox("booking", producer="booking")


async def _booking(pool: asyncpg.Pool) -> uuid.UUID:
    listing_id = f"lst_mig_{uuid.uuid4().hex[:8]}"
    await pool.execute(
        "INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, hourly_rate,"
        " currency, platform_fee_bps, cancellation_policy) VALUES ($1, 'host-mig', 'acct_mig',"
        " 'Mig', 6000, 'usd', 1000, 'flexible')",
        listing_id,
    )
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=30)
    cmd = PlaceBooking("guest-mig", listing_id, start, start + timedelta(hours=2), "pm_card_visa")
    async with pool.acquire() as conn, conn.transaction():
        booking = await place_booking(UnitOfWork(conn, OUTBOX), cmd)
    booking_id = uuid.UUID(str(booking["booking_id"]))
    await pool.execute(  # what the checkout saga does once payments captured
        "UPDATE booking.bookings SET status = 'confirmed', payment_status = 'captured', "
        "payment_id = 'pay_mig' WHERE booking_id = $1",
        booking_id,
    )
    return booking_id


def _blob(booking_id: uuid.UUID, **keys: Any) -> dict[str, Any]:
    """A blob as cancellations.cancel wrote it before 0027 (a guest's cancellation in grace)."""
    return {
        "booking_id": str(booking_id),
        "cancelled_by": "guest",
        "policy": "flexible@1",
        "currency": "usd",
        "basis": "grace",
        "refund_bps": 10000,
        "amount": 12_875,
        "lines": [{"code": "base", "amount": 12_000}, {"code": "tax:space_rental", "amount": 875}],
        "host_amount": 10_800,
        "platform_fee": 2_075,
        "tax": 875,
        "host_penalty": 0,
        "refund_id": f"rf_{booking_id}_cancel",
        **keys,
    }


def _rows(conn: Connection, sql: str, booking_id: uuid.UUID) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(text(sql), {"id": booking_id})]


async def test_upgrade_moves_each_blob_to_refund_rows_and_shows_it_byte_for_byte(
    booking_pool: asyncpg.Pool,
) -> None:
    split, legacy, uncancelled = [await _booking(booking_pool) for _ in range(3)]
    first, second = f"rf_{split}_cancel", f"rf_{split}_cancel_1"
    blobs = {  # split over two payments, the second answered first; one written before splits
        split: _blob(split, refund_ids=[first, second], succeeded=[second]),
        legacy: _blob(legacy),
    }
    migration = alembic_steps.revision("booking", "0027")

    def steps(conn: Connection) -> dict[str, Any]:
        with alembic_steps.operations(conn):
            migration.downgrade()
            for booking_id, blob in blobs.items():
                conn.execute(
                    text(
                        "UPDATE booking.bookings SET status = 'cancelled', refund = "
                        "CAST(:blob AS jsonb), refund_status = :status WHERE booking_id = :id"
                    ),
                    {
                        "id": booking_id,
                        "blob": json.dumps(blob),
                        "status": "pending" if booking_id == split else "refunded",
                    },
                )
            stored = {
                b: conn.execute(text("SELECT CAST(:blob AS jsonb)::text"), {"blob": json.dumps(v)})
                for b, v in blobs.items()
            }
            stored_text = {b: r.scalar_one() for b, r in stored.items()}
            migration.upgrade()
            return {
                "stored": stored_text,
                "shown": {
                    b: conn.execute(
                        text(
                            f"SELECT {REFUND_DOCUMENT}::text FROM booking.bookings WHERE "
                            "booking_id = :id"
                        ),
                        {"id": b},
                    ).scalar_one()
                    for b in (split, legacy, uncancelled)
                },
                "refund": _rows(
                    conn,
                    "SELECT refund_id, cancelled_by, policy, basis, refund_bps, amount, currency,"
                    " host_amount, platform_fee, tax, host_penalty FROM booking.refunds "
                    "WHERE booking_id = :id",
                    split,
                ),
                "lines": _rows(
                    conn,
                    "SELECT position, code, amount FROM booking.refund_lines "
                    "WHERE booking_id = :id ORDER BY position",
                    split,
                ),
                "requests": {
                    b: _rows(
                        conn,
                        "SELECT refund_id, succeeded_seq, succeeded_at IS NOT NULL FROM "
                        "booking.refund_requests WHERE booking_id = :id ORDER BY position",
                        b,
                    )
                    for b in (split, legacy, uncancelled)
                },
                "column": conn.execute(
                    text(
                        "SELECT count(*) FROM information_schema.columns WHERE table_schema = "
                        "'booking' AND table_name = 'bookings' AND column_name = 'refund'"
                    )
                ).scalar_one(),
            }

    after = await alembic_steps.rolled_back("booking", steps)
    assert after["refund"] == [
        (first, "guest", "flexible@1", "grace", 10000, 12_875, "usd", 10_800, 2_075, 875, 0)
    ]
    assert after["lines"] == [(0, "base", 12_000), (1, "tax:space_rental", 875)]
    assert after["requests"] == {
        split: [(first, None, False), (second, 1, True)],
        legacy: [(f"rf_{legacy}_cancel", 1, True)],  # `refunded`: its one request succeeded
        uncancelled: [],
    }
    assert after["shown"][split] == after["stored"][split]  # the API shows what it showed
    assert json.loads(after["shown"][legacy]) == {
        **blobs[legacy],
        "refund_ids": [f"rf_{legacy}_cancel"],
        "succeeded": [f"rf_{legacy}_cancel"],
    }
    assert after["shown"][uncancelled] is None
    assert after["column"] == 0


async def test_downgrade_puts_back_the_blob_the_booking_showed(
    booking_pool: asyncpg.Pool,
) -> None:
    booking_id = await _booking(booking_pool)
    cmd = cancellations.Cancel(booking_id, Canceller.GUEST, "guest-mig", "plans")
    async with booking_pool.acquire() as conn, conn.transaction():
        view = await cancellations.cancel(UnitOfWork(conn, OUTBOX), cmd)
    shown = await booking_pool.fetchval(
        f"SELECT {REFUND_DOCUMENT}::text FROM booking.bookings WHERE booking_id = $1", booking_id
    )
    assert json.loads(shown) == view["refund"] and view["refund"]["amount"] > 0
    migration = alembic_steps.revision("booking", "0027")

    def steps(conn: Connection) -> Any:
        with alembic_steps.operations(conn):
            migration.downgrade()
            return conn.execute(
                text("SELECT refund::text FROM booking.bookings WHERE booking_id = :id"),
                {"id": booking_id},
            ).scalar_one()

    assert await alembic_steps.rolled_back("booking", steps) == shown


async def test_answers_are_kept_in_the_order_payments_gave_them_and_only_once(
    booking_pool: asyncpg.Pool,
) -> None:
    booking_id = await _booking(booking_pool)
    first, second = f"rf_{booking_id}_cancel", f"rf_{booking_id}_cancel_1"
    decision = RefundDecision(Basis.HOST_CANCELLED, 10000, (), 0, 0, 0, 1200)
    refund = CancellationRefund(first, Canceller.HOST, "strict@1", "usd", decision, (first, second))
    async with booking_pool.acquire() as conn, conn.transaction():
        await refunds_repository.record(conn, booking_id, refund)
        await refunds_repository.mark_succeeded(conn, booking_id, second)
        progress = await refunds_repository.progress(conn, booking_id)
        assert progress == RefundProgress(requested=(first, second), succeeded=(second,))
        assert not progress.awaits(second) and progress.done_with(first)
        with pytest.raises(LostUpdate):  # the service checks `awaits` first: a bug otherwise
            await refunds_repository.mark_succeeded(conn, booking_id, second)
    async with booking_pool.acquire() as conn, conn.transaction():
        await refunds_repository.mark_succeeded(conn, booking_id, first)
        shown = await conn.fetchval(  # a dict: the pool's codec decodes jsonb
            f"SELECT {REFUND_DOCUMENT} FROM booking.bookings WHERE booking_id = $1", booking_id
        )
    assert (shown["refund_ids"], shown["succeeded"]) == ([first, second], [second, first])
    assert (shown["lines"], shown["host_penalty"], shown["policy"]) == ([], 1200, "strict@1")
    async with booking_pool.acquire() as conn:  # a booking never cancelled has no refund
        assert await refunds_repository.progress(conn, await _booking(booking_pool)) is None


async def test_a_bookings_read_finds_its_refund_rows_without_a_table_scan(
    booking_pool: asyncpg.Pool,
) -> None:
    """Every read of a booking (GET, lists, legs) builds its refund: through the primary keys,
    so its cost does not grow with the number of cancellations."""
    booking_id = await _booking(booking_pool)
    cmd = cancellations.Cancel(booking_id, Canceller.HOST, "host-mig", "double booked")
    async with booking_pool.acquire() as conn, conn.transaction():
        await cancellations.cancel(UnitOfWork(conn, OUTBOX), cmd)
    scans = (
        "SELECT relname, seq_scan FROM pg_stat_xact_user_tables WHERE schemaname = 'booking' "
        "AND relname IN ('refunds', 'refund_lines', 'refund_requests')"
    )
    async with booking_pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        # The counts may still hold this connection's earlier transactions (flushed lazily).
        before = {r["relname"]: r["seq_scan"] for r in await conn.fetch(scans)}
        row = await repository.get_booking(conn, booking_id)
        after = {r["relname"]: r["seq_scan"] for r in await conn.fetch(scans)}
    assert row is not None and row["refund"]["succeeded"] == []
    assert len(after) == 3 and after == before
