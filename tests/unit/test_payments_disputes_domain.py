"""Payments' card dispute kernel: ids, forward-only statuses, and Stripe's dispute objects read
into reports (the fields the facts need, nothing of Stripe's shape beyond the adapter)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from payments.adapters.stripe_disputes import dispute_report, fraud_warning_report
from payments.domain.disputes import (
    CLOSED,
    STATUS_RANK,
    dispute_id,
    moves_forward,
    opening_status,
)


def test_our_dispute_id_is_stripes_without_its_prefix() -> None:
    assert dispute_id("du_1AbcXyz") == "dsp_1AbcXyz"
    assert dispute_id("du_1AbcXyz") == dispute_id("du_1AbcXyz")


@pytest.mark.parametrize(
    ("current", "reported", "forward"),
    [
        ("needs_response", "under_review", True),
        ("under_review", "needs_response", False),
        ("warning_needs_response", "needs_response", True),  # an inquiry escalated
        ("warning_needs_response", "warning_under_review", True),
        ("needs_response", "needs_response", False),
        ("under_review", "won", True),
        ("won", "lost", False),  # closed stays closed
        ("lost", "under_review", False),
        ("needs_response", "some_new_status", False),
    ],
)
def test_a_status_only_moves_forward(current: str, reported: str, forward: bool) -> None:
    assert moves_forward(current, reported) is forward


def test_every_closed_status_ranks_last() -> None:
    top = max(STATUS_RANK.values())
    assert {s for s, rank in STATUS_RANK.items() if rank == top} == set(CLOSED)


def test_a_case_opens_as_an_inquiry_only_while_it_shows_one() -> None:
    assert opening_status("warning_under_review") == "warning_needs_response"
    assert opening_status("lost") == "needs_response"


def test_a_stripe_dispute_is_read_into_a_report() -> None:
    report = dispute_report(
        {
            "id": "du_1",
            "object": "dispute",
            "amount": 8_000,
            "currency": "usd",
            "charge": "ch_1",
            "payment_intent": {"id": "pi_1", "object": "payment_intent"},
            "reason": "fraudulent",
            "status": "won",
            "created": 1_800_000_000,
            "evidence_details": {
                "due_by": 1_800_604_800,
                "has_evidence": True,
                "submission_count": 1,
            },
            "payment_method_details": {"type": "card", "card": {"brand": "visa"}},
            "balance_transactions": [
                {"id": "txn_w", "amount": -8_000, "fee": 1_500, "currency": "usd"},
                {"id": "txn_r", "amount": 8_000, "fee": 0, "currency": "usd"},
            ],
        }
    )
    assert (report.charge_id, report.payment_intent_id, report.card_brand) == (
        "ch_1",
        "pi_1",
        "visa",
    )
    assert report.due_by == datetime.fromtimestamp(1_800_604_800, UTC)
    withdrawn, reinstated = report.moves
    assert (withdrawn.kind, withdrawn.amount, withdrawn.fee) == ("withdrawn", 8_000, 1_500)
    assert (reinstated.kind, reinstated.amount, reinstated.fee) == ("reinstated", 8_000, 0)


def test_a_balance_transaction_is_read_by_its_reporting_category_before_its_sign() -> None:
    """A withdrawal whose amount is 0 (only the fee taken) is no reinstatement."""
    report = dispute_report(
        {
            "id": "du_3",
            "amount": 0,
            "currency": "usd",
            "charge": "ch_3",
            "status": "needs_response",
            "balance_transactions": [
                {
                    "id": "txn_f",
                    "amount": 0,
                    "fee": 1_500,
                    "currency": "usd",
                    "reporting_category": "dispute",
                },
                {"id": "txn_z", "amount": 0, "fee": 0, "currency": "usd"},
            ],
        }
    )
    assert [(m.kind, m.amount, m.fee) for m in report.moves] == [
        ("withdrawn", 0, 1_500),
        ("withdrawn", 0, 0),
    ]


def test_a_bank_debit_dispute_without_a_deadline_is_read_too() -> None:
    report = dispute_report(
        {
            "id": "du_2",
            "amount": 100,
            "currency": "usd",
            "charge": "ch_2",
            "status": "lost",
            "evidence_details": {"due_by": None},
            "payment_method_details": {"type": "us_bank_account", "us_bank_account": {}},
        }
    )
    assert (report.method_type, report.due_by, report.moves, report.reason) == (
        "us_bank_account",
        None,
        (),
        "general",
    )


def test_an_early_fraud_warning_is_read_into_a_report() -> None:
    warning = fraud_warning_report(
        {
            "id": "issfr_1",
            "charge": "ch_1",
            "payment_intent": "pi_1",
            "fraud_type": "made_with_stolen_card",
            "actionable": True,
            "created": 1_800_000_000,
        }
    )
    assert (warning.warning_id, warning.charge_id, warning.fraud_type, warning.actionable) == (
        "issfr_1",
        "ch_1",
        "made_with_stolen_card",
        True,
    )
