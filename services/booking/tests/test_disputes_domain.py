"""How a booking shows a card dispute, and the forward-only order of its statuses."""

from __future__ import annotations

from datetime import UTC, datetime

from booking.domain import disputes
from marketplace_contracts.events.payments_disputes import DISPUTE_STATUSES

ROW = {
    "dispute_id": "dsp_1",
    "status": "needs_response",
    "rank": disputes.rank_of("needs_response"),
    "reason": "fraudulent",
    "opened_at": datetime(2026, 12, 1, tzinfo=UTC),
    "due_by": datetime(2026, 12, 8, tzinfo=UTC),
}


def test_guests_and_hosts_see_the_status_only_and_staff_see_why_and_until_when() -> None:
    assert disputes.view(ROW, staff=False) == {"status": "needs_response"}
    assert disputes.view(ROW, staff=True) == {
        "status": "needs_response",
        "dispute_id": "dsp_1",
        "reason": "fraudulent",
        "opened_at": "2026-12-01T00:00:00+00:00",
        "due_by": "2026-12-08T00:00:00+00:00",
    }
    assert disputes.view(None, staff=True) is None


def test_every_status_payments_names_has_a_rank_and_a_dispute_only_moves_forward() -> None:
    assert set(DISPUTE_STATUSES) == set(disputes.RANK)
    order = ["warning_needs_response", "warning_under_review", "needs_response", "under_review"]
    ranks = [disputes.rank_of(s) for s in order]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)
    for closed in ("won", "lost", "warning_closed"):
        assert disputes.rank_of(closed) == disputes.CLOSED_RANK > max(ranks)
        assert not disputes.is_open({"rank": disputes.rank_of(closed)})
    assert all(disputes.is_open({"rank": r}) for r in ranks)


def test_a_status_booking_does_not_know_is_open_and_never_moves_a_known_one_back() -> None:
    assert disputes.rank_of("prevented") == disputes.UNKNOWN_RANK < min(disputes.RANK.values())
    assert disputes.is_open({"rank": disputes.rank_of("prevented")})
