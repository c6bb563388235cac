"""A capture whose charge finance booked already for another booking is not payments' own fact
(a forged or corrupted event): finance refuses it to its dead letters before making a payable
and a payout entry for money the booking never paid. A copy of a booking's own capture with
a new event id changes nothing, as before."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from eventkit.routing import PermanentError
from finance.adapters import recon_repository
from tests.support.finance_queue import QueueHarness

pytestmark = pytest.mark.integration


async def _owed(pool: asyncpg.Pool, booking_id: str) -> tuple[int, int, int]:
    """Payables, payout entries and capture journals finance holds for the booking."""
    row = await pool.fetchrow(
        "SELECT (SELECT count(*) FROM finance.payables WHERE booking_id = $1) AS payables,"
        " (SELECT count(*) FROM finance.payout_entries WHERE booking_id = $1) AS entries,"
        " (SELECT count(*) FROM finance.journals WHERE booking_id = $1"
        "  AND kind = 'guest_payment_captured') AS journals",
        booking_id,
    )
    assert row is not None
    return row["payables"], row["entries"], row["journals"]


async def test_a_capture_naming_another_bookings_charge_is_refused(q: QueueHarness) -> None:
    checkout, captured = q.booking()
    await q.deliver(checkout, captured)  # each delivered twice: a replay changes nothing
    await q.deliver(captured)  # a copy with a new event id: the same charge, the same booking
    assert await _owed(q.pool, captured.booking_id) == (1, 1, 1)

    other_checkout, other = q.booking()
    await q.deliver(other_checkout)
    forged = other.model_copy(update={"charge_id": captured.charge_id})
    with pytest.raises(PermanentError, match=r"^conflict: charge .* booked already for booking"):
        await q.deliver(forged)
    assert await _owed(q.pool, other.booking_id) == (0, 0, 0)

    await q.deliver(other)  # its own capture, when it comes, is booked as any
    assert await _owed(q.pool, other.booking_id) == (1, 1, 1)


async def test_payments_side_of_the_match_counts_a_charge_once_however_often_announced(
    q: QueueHarness,
) -> None:
    """The reconciliation's "what payments asked Stripe for": the same capture announced
    under three event ids is one charge, not three (they raised false amount_mismatch)."""
    charge = f"ch_{uuid.uuid4().hex[:12]}"
    fact = {"kind": "charge", "object_id": charge, "amount": 3_600, "currency": "usd"}
    first = uuid.uuid4()
    async with q.pool.acquire() as conn:
        for source in (first, uuid.uuid4(), uuid.uuid4(), first):
            await recon_repository.record_object(conn, source, once_per_object=True, **fact)
        rows = await conn.fetch(
            "SELECT source_event_id, amount FROM finance.stripe_objects WHERE object_id = $1",
            charge,
        )
    assert [(r["source_event_id"], r["amount"]) for r in rows] == [(first, 3_600)]
