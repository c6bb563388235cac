"""Card disputes on a booking's payment, as payments reports them (payments.dispute_*).

Booking keeps one row per dispute and uses it for two things: the booking shows the dispute
(its status to the guest and host; reason, opened_at and due_by to admin and trust staff), and
while a dispute is open, or after it was lost, nothing may ask for that money back: a
cancellation or a refund request is refused with 409 `payment_disputed` instead of failing at
the processor (`charge_disputed`).

Facts may arrive twice or out of order (an update before the opening, a closing before an
update): a status only ever moves forward by `RANK`, so the last state is the furthest one
whatever the order, and a closed dispute never reopens.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

# Stripe's statuses (marketplace_contracts.events.payments_disputes.DISPUTE_STATUSES) in the
# order a dispute moves through them: an inquiry may escalate to a chargeback, never back.
RANK: dict[str, int] = {
    "warning_needs_response": 1,
    "warning_under_review": 2,
    "needs_response": 3,
    "under_review": 4,
    "warning_closed": 9,
    "won": 9,
    "lost": 9,
}
CLOSED_RANK = 9
UNKNOWN_RANK = 0  # a status payments may add later: shown, never moves a known one back


def rank_of(status: str) -> int:
    return RANK.get(status, UNKNOWN_RANK)


def is_open(row: Mapping[str, Any]) -> bool:
    return int(row["rank"]) < CLOSED_RANK


def blocks_refund(row: Mapping[str, Any]) -> bool:
    """Nothing may be refunded while the dispute is open, nor after it was lost (or accepted):
    the bank already gave the guest the money back, and the processor refuses a refund of a
    charge whose dispute was lost."""
    return is_open(row) or row["status"] == "lost"


def returned_extra_charge(row: Mapping[str, Any], checkout_payment_id: str | None) -> bool:
    """A lost dispute on a payment other than the booking's checkout (an amendment's extra
    charge): the bank gave (the dispute's amount of) that charge back, so a cancellation
    refunds nothing from it and counts that first toward its refund, and it no longer keeps the
    booking from being cancelled. One on the checkout's payment still does (`blocks_refund`)."""
    return row["status"] == "lost" and row["payment_id"] != checkout_payment_id


def view(row: Mapping[str, Any] | None, *, staff: bool) -> dict[str, Any] | None:
    """The dispute as a booking shows it: `status` to its guest and host; staff (admin, trust)
    also see why and until when evidence is due."""
    if row is None:
        return None
    out: dict[str, Any] = {"status": row["status"]}
    if staff:
        out.update(
            dispute_id=row["dispute_id"],
            reason=row["reason"],
            opened_at=_iso(row["opened_at"]),
            due_by=_iso(row["due_by"]),
        )
    return out


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None
