"""Payments' `DisputesRepository` on the real schema: each fact's "once" (a dispute opened, a
balance transaction, a request's outcome, a fraud warning), closing once, and the `accepting`
mark that a closed dispute no longer takes. What the in-memory fake
(tests/support/payments_fakes_disputes.py) promises the unit tests. Every test runs in a
transaction that is rolled back."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from payments.adapters.dispute_repository import DisputesRepository
from payments.adapters.stripe_disputes import BalanceMove
from tests.support.rolled_back import rolled_back

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC)


@pytest.fixture
async def conn(pg_ready: None) -> AsyncIterator[asyncpg.Connection]:
    async with rolled_back("payments") as connection:
        yield connection


async def _case(disputes: DisputesRepository) -> str:
    case_id = f"dsp_repo_{uuid.uuid4().hex[:10]}"
    row = {
        "dispute_id": case_id,
        "processor_dispute_id": f"du_{case_id}",
        "payment_id": "pay_repo",
        "booking_id": "bk_repo",
        "charge_id": "ch_repo",
        "amount": 1000,
        "currency": "usd",
        "reason": "fraudulent",
        "status": "needs_response",
        "due_by": NOW + timedelta(days=7),
        "opened_at": NOW,
    }
    assert await disputes.open_dispute(row)
    assert not await disputes.open_dispute({**row, "amount": 1})
    return case_id


async def test_a_dispute_opens_once_moves_forward_and_closes_once(
    conn: asyncpg.Connection,
) -> None:
    disputes = DisputesRepository(conn)
    case_id = await _case(disputes)
    opened = await disputes.lock(case_id)
    assert opened is not None and (opened["amount"], opened["accepting"]) == (1000, False)
    await disputes.advance(
        case_id, status="under_review", due_by=None, has_evidence=True, submission_count=1
    )
    await disputes.advance(
        case_id, status="under_review", due_by=None, has_evidence=True, submission_count=0
    )
    advanced = await disputes.get(case_id)
    assert advanced is not None
    assert (advanced["status"], advanced["submission_count"], advanced["due_by"]) == (
        "under_review",
        1,
        NOW + timedelta(days=7),
    )
    await disputes.set_accepting(case_id, True)
    closed = await disputes.close(case_id, "lost", NOW)
    assert closed is not None and (closed["status"], closed["accepting"]) == ("lost", True)
    assert await disputes.close(case_id, "won", NOW) is None
    await disputes.set_accepting(case_id, False)  # closed: the mark stays as it was
    after = await disputes.get(case_id)
    assert after is not None and (after["status"], after["accepting"]) == ("lost", True)


async def test_balance_moves_actions_and_warnings_are_recorded_once(
    conn: asyncpg.Connection,
) -> None:
    disputes = DisputesRepository(conn)
    case_id = await _case(disputes)
    move = BalanceMove(f"txn_{case_id}", "withdrawn", 1000, 1500, "usd")
    assert await disputes.add_move(case_id, move)
    assert not await disputes.add_move(case_id, move)
    request_id = f"dsr_{case_id}"
    action = {"request_id": request_id, "dispute_id": case_id, "action": "accept"}
    assert await disputes.get_action(request_id) is None
    assert await disputes.record_action({**action, "succeeded": True, "file_ids": []})
    assert not await disputes.record_action({**action, "succeeded": False, "file_ids": []})
    recorded = await disputes.get_action(request_id)
    assert recorded is not None and recorded["succeeded"] is True
    warning = {
        "warning_id": f"issfr_{case_id}",
        "payment_id": "pay_repo",
        "charge_id": "ch_repo",
        "fraud_type": "misc",
        "actionable": True,
        "received_at": NOW,
    }
    assert await disputes.add_fraud_warning(warning)
    assert not await disputes.add_fraud_warning(warning)


async def test_a_charges_payment_is_found_by_its_charge_before_its_intent(
    conn: asyncpg.Connection,
) -> None:
    tag = uuid.uuid4().hex[:10]
    for payment_id, charge_id, intent_id in (
        (f"pay_a_{tag}", None, f"pi_{tag}"),
        (f"pay_b_{tag}", f"ch_{tag}", f"pi_other_{tag}"),
    ):
        await conn.execute(
            "INSERT INTO payments.payments (payment_id, booking_id, guest_id, amount, "
            "platform_fee, currency, host_account_id, payment_method, status, charge_id, "
            "payment_intent_id, correlation_id) VALUES ($1, $1, 'g', 1000, 100, 'usd', 'acct', "
            "'pm', 'captured', $2, $3, $4)",
            payment_id,
            charge_id,
            intent_id,
            uuid.uuid4(),
        )
    disputes = DisputesRepository(conn)
    by_charge = await disputes.payment_of_charge(f"ch_{tag}", f"pi_{tag}")
    assert by_charge is not None and by_charge["payment_id"] == f"pay_b_{tag}"
    by_intent = await disputes.payment_of_charge(None, f"pi_{tag}")
    assert by_intent is not None and by_intent["payment_id"] == f"pay_a_{tag}"
    assert await disputes.payment_of_charge(f"ch_none_{tag}", None) is None
