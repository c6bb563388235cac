"""Every SQL statement of a cancellation's refund: booking.refunds, its lines and its requests.

A booking's read carries its refund as the document the API has always shown
(`REFUND_DOCUMENT`, the `refund` column of `repository.BOOKING_COLUMNS`): one query for a
booking or a page of them. Postgres builds it as jsonb, which orders its keys itself (shorter
keys first), so the document is byte for byte the blob `bookings.refund` was before 0027.

Lock order: the booking (`repository.get_booking(..., for_update=True)`), then its refund rows;
they change only under the booking's lock."""

from __future__ import annotations

import uuid

import asyncpg

from booking.domain.refunds import CancellationRefund, RefundProgress
from eventkit.rows import expect_changed

# A correlated subquery of `FROM booking.bookings` (the table must not be aliased): the
# refund's document, or NULL when the booking was not cancelled.
REFUND_DOCUMENT = """(
    SELECT jsonb_build_object(
        'booking_id', r.booking_id::text, 'cancelled_by', r.cancelled_by,
        'policy', r.policy, 'currency', r.currency, 'basis', r.basis,
        'refund_bps', r.refund_bps, 'amount', r.amount,
        'lines', COALESCE((SELECT jsonb_agg(jsonb_build_object('code', l.code,
            'amount', l.amount) ORDER BY l.position) FROM booking.refund_lines l
            WHERE l.booking_id = r.booking_id), '[]'::jsonb),
        'host_amount', r.host_amount, 'platform_fee', r.platform_fee, 'tax', r.tax,
        'host_penalty', r.host_penalty, 'refund_id', r.refund_id,
        'refund_ids', COALESCE((SELECT jsonb_agg(q.refund_id ORDER BY q.position)
            FROM booking.refund_requests q WHERE q.booking_id = r.booking_id), '[]'::jsonb),
        'succeeded', COALESCE((SELECT jsonb_agg(q.refund_id ORDER BY q.succeeded_seq)
            FROM booking.refund_requests q WHERE q.booking_id = r.booking_id
            AND q.succeeded_seq IS NOT NULL), '[]'::jsonb))
    FROM booking.refunds r WHERE r.booking_id = bookings.booking_id)"""


async def record(
    conn: asyncpg.Connection, booking_id: uuid.UUID, refund: CancellationRefund
) -> None:
    """The refund a cancellation decided, with its lines and one request per payment."""
    decision = refund.decision
    await conn.execute(
        "INSERT INTO booking.refunds (booking_id, refund_id, cancelled_by, policy, basis, "
        "refund_bps, amount, currency, host_amount, platform_fee, tax, host_penalty) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        booking_id,
        refund.refund_id,
        refund.cancelled_by.value,
        refund.policy,
        decision.basis.value,
        decision.refund_bps,
        decision.amount,
        refund.currency,
        decision.host_amount,
        decision.platform_fee,
        decision.tax,
        decision.host_penalty,
    )
    await conn.execute(
        "INSERT INTO booking.refund_lines (booking_id, position, code, amount) "
        "SELECT $1, l.n - 1, l.code, l.amount "
        "FROM unnest($2::text[], $3::bigint[]) WITH ORDINALITY AS l(code, amount, n)",
        booking_id,
        [line.code for line in decision.lines],
        [line.amount for line in decision.lines],
    )
    await conn.execute(
        "INSERT INTO booking.refund_requests (booking_id, position, refund_id) "
        "SELECT $1, q.n - 1, q.refund_id "
        "FROM unnest($2::text[]) WITH ORDINALITY AS q(refund_id, n)",
        booking_id,
        list(refund.requested),
    )


async def progress(conn: asyncpg.Connection, booking_id: uuid.UUID) -> RefundProgress | None:
    """Which of the booking's refund requests succeeded; None when it has no refund."""
    rows = await conn.fetch(
        "SELECT q.refund_id, q.succeeded_seq FROM booking.refunds r "
        "LEFT JOIN booking.refund_requests q USING (booking_id) "
        "WHERE r.booking_id = $1 ORDER BY q.position",
        booking_id,
    )
    if not rows:
        return None
    requests = [r for r in rows if r["refund_id"] is not None]
    succeeded = sorted(
        (r for r in requests if r["succeeded_seq"]), key=lambda r: r["succeeded_seq"]
    )
    return RefundProgress(
        requested=tuple(r["refund_id"] for r in requests),
        succeeded=tuple(r["refund_id"] for r in succeeded),
    )


async def mark_succeeded(conn: asyncpg.Connection, booking_id: uuid.UUID, refund_id: str) -> None:
    """Payments made this request's refund: it is the next one to have succeeded."""
    status = await conn.execute(
        "WITH made AS (UPDATE booking.refund_requests SET succeeded_at = now(), "
        "succeeded_seq = (SELECT count(succeeded_seq) + 1 FROM booking.refund_requests "
        "WHERE booking_id = $1) "
        "WHERE booking_id = $1 AND refund_id = $2 AND succeeded_seq IS NULL "
        "RETURNING booking_id) "
        "UPDATE booking.refunds SET updated_at = now() "
        "WHERE booking_id IN (SELECT booking_id FROM made)",
        booking_id,
        refund_id,
    )
    expect_changed(status == "UPDATE 1", f"refund request {refund_id}")
