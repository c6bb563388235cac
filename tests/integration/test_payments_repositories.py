"""Payments' repositories on the real schema: each statement the service layer used to write
itself, with the compare-and-set answers its callers check. Every test runs in a transaction
that is rolled back."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from payments.adapters import (
    deposit_repository,
    repository,
)
from payments.adapters.bank_debit_repository import BankDebitsRepository
from payments.adapters.webhook_repository import WebhooksRepository
from tests.support.rolled_back import rolled_back

pytestmark = pytest.mark.integration
DAY = timedelta(days=1)


@pytest.fixture
async def conn(pg_ready: None) -> AsyncIterator[asyncpg.Connection]:
    async with rolled_back("payments") as connection:
        yield connection


async def _payment(
    conn: asyncpg.Connection,
    status: str = "authorized",
    age: timedelta = timedelta(0),
    **extra: Any,
) -> str:
    payment_id = f"pay_repo_{uuid.uuid4().hex[:12]}"
    columns = {
        "payment_id": payment_id,
        "booking_id": payment_id,
        "guest_id": "guest-repo",
        "amount": 1000,
        "platform_fee": 100,
        "currency": "usd",
        "host_account_id": "acct_repo",
        "payment_method": "pm_card_visa",
        "payment_intent_id": f"pi_{payment_id}",
        "status": status,
        "correlation_id": uuid.uuid4(),
        "created_at": datetime.now(UTC) - age,
        **extra,
    }
    params = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    await conn.execute(
        f"INSERT INTO payments.payments ({', '.join(columns)}) VALUES ({params})",
        *columns.values(),
    )
    return payment_id


# -- payments ---------------------------------------------------------------------------------
async def test_lock_payment_finds_the_row_or_none(conn: asyncpg.Connection) -> None:
    payment_id = await _payment(conn)
    row = await repository.PaymentsRepository(conn).lock_payment(payment_id)
    assert row is not None and row["status"] == "authorized"
    assert await repository.PaymentsRepository(conn).lock_payment("pay_missing") is None


async def test_every_payment_of_an_intent_is_locked_whole(
    conn: asyncpg.Connection,
) -> None:
    first = await _payment(conn, payment_intent_id="pi_shared", stripe_status="requires_capture")
    other = await _payment(conn, payment_intent_id="pi_shared")
    rows = await repository.PaymentsRepository(conn).lock_by_intent("pi_shared")
    assert {(r["payment_id"], r["stripe_status"], r["status"]) for r in rows} == {
        (first, "requires_capture", "authorized"),
        (other, None, "authorized"),
    }


async def test_stripe_status_is_set_and_says_whether_a_row_changed(
    conn: asyncpg.Connection,
) -> None:
    payment_id = await _payment(conn)
    assert await repository.PaymentsRepository(conn).set_stripe_status(payment_id, "succeeded")
    assert (await repository.PaymentsRepository(conn).get_payment(payment_id))[
        "stripe_status"
    ] == "succeeded"
    assert not await repository.PaymentsRepository(conn).set_stripe_status(
        "pay_missing", "succeeded"
    )


async def test_a_write_that_must_change_a_row_fails_loudly_when_it_did_not() -> None:
    repository.expect_changed(True, "fine")
    with pytest.raises(repository.LostUpdate) as raised:
        repository.expect_changed(False, "the stripe status of pay_x")
    assert raised.value.code == "lost_update"


async def test_aging_authorizations_are_claimed_once_and_nothing_else(
    conn: asyncpg.Connection,
) -> None:
    old = await _payment(conn, age=6 * DAY)
    young = await _payment(conn, age=DAY)
    captured = await _payment(conn, "captured", age=6 * DAY)
    claimed = {
        r["payment_id"]
        for r in await repository.PaymentsRepository(conn).claim_expiring(5 * DAY, 10_000)
    }
    assert old in claimed and young not in claimed and captured not in claimed
    again = {
        r["payment_id"]
        for r in await repository.PaymentsRepository(conn).claim_expiring(5 * DAY, 10_000)
    }
    assert old not in again


async def test_a_renewal_swaps_the_authorization_only_while_it_is_the_expiring_one(
    conn: asyncpg.Connection,
) -> None:
    payment_id = await _payment(
        conn, payment_intent_id="pi_old", expiry_notified_at=datetime.now(UTC)
    )
    row = await repository.PaymentsRepository(conn).swap_authorization(
        payment_id, "pi_old", "pi_new", "requires_capture"
    )
    assert row is not None and row["amount"] == 1000
    payment = await repository.PaymentsRepository(conn).get_payment(payment_id)
    assert (payment["payment_intent_id"], payment["renewals"]) == ("pi_new", 1)
    assert payment["expiry_notified_at"] is None
    # A second delivery of the same renewal finds the intent swapped already.
    assert (
        await repository.PaymentsRepository(conn).swap_authorization(
            payment_id, "pi_old", "pi_x", "x"
        )
        is None
    )
    captured = await _payment(conn, "captured", payment_intent_id="pi_c")
    assert (
        await repository.PaymentsRepository(conn).swap_authorization(captured, "pi_c", "pi_y", "x")
        is None
    )


async def test_replaced_authorizations_are_recorded_once_and_settled_after_their_grace(
    conn: asyncpg.Connection,
) -> None:
    payment_id = await _payment(conn)
    intent = f"pi_replaced_{uuid.uuid4().hex[:8]}"
    assert await repository.PaymentsRepository(conn).add_replaced_authorization(
        intent, payment_id, "pi_new"
    )
    assert not await repository.PaymentsRepository(conn).add_replaced_authorization(
        intent, payment_id, "pi_new"
    )
    assert intent not in await repository.PaymentsRepository(conn).replaced_due(
        timedelta(hours=1), 10_000
    )
    await conn.execute(
        "UPDATE payments.replaced_authorizations SET replaced_at = now() - interval '2 hours' "
        "WHERE payment_intent_id = $1",
        intent,
    )
    assert intent in await repository.PaymentsRepository(conn).replaced_due(
        timedelta(hours=1), 10_000
    )
    assert await repository.PaymentsRepository(conn).settle_replaced(
        intent, "payment_intent_unexpected_state: x"
    )
    assert intent not in await repository.PaymentsRepository(conn).replaced_due(
        timedelta(hours=1), 10_000
    )
    assert not await repository.PaymentsRepository(conn).settle_replaced("pi_never_replaced", None)


# -- bank debits ------------------------------------------------------------------------------
async def test_a_bank_debit_is_found_by_its_charge_or_intent(
    conn: asyncpg.Connection,
) -> None:
    debits = BankDebitsRepository(conn)
    debit = await _payment(
        conn, "processing", payment_method_type="us_bank_account", charge_id="ch_debit_repo"
    )
    by_charge = await debits.lock_debit_by_charge("ch_debit_repo", None)
    assert by_charge is not None and by_charge["payment_id"] == debit
    by_intent = await debits.lock_debit_by_charge(None, f"pi_{debit}")
    assert by_intent is not None and by_intent["payment_id"] == debit


async def test_settled_debits_clear_once_their_return_window_passed(
    conn: asyncpg.Connection,
) -> None:
    debits = BankDebitsRepository(conn)
    now = datetime.now(UTC)
    due = await _payment(conn, "captured", payment_method_type="us_bank_account")
    later = await _payment(conn, "captured", payment_method_type="us_bank_account")
    assert await debits.record_settlement(due, now - 6 * DAY, now - DAY)
    assert await debits.record_settlement(later, now, now + 5 * DAY)
    assert not await debits.record_settlement("pay_missing", now, now)
    cleared = {r["payment_id"] for r in await debits.claim_cleared(now, 10_000)}
    assert due in cleared and later not in cleared
    assert due not in {r["payment_id"] for r in await debits.claim_cleared(now, 10_000)}


async def test_a_returned_debits_card_payment_is_created_once_not_paid_yet(
    conn: asyncpg.Connection,
) -> None:
    debits = BankDebitsRepository(conn)
    returned = await _payment(
        conn, "returned", payment_method_type="us_bank_account", customer_id="cus_repo"
    )
    row = await repository.PaymentsRepository(conn).get_payment(returned)
    repay_id = f"{returned}_repay"
    kwargs = {"repay_id": repay_id, "purpose": "repay", "payment_method": "pm_card_visa"}
    assert await debits.insert_repay(row, **kwargs)
    assert not await debits.insert_repay(row, **kwargs)
    repay = await repository.PaymentsRepository(conn).get_payment(repay_id)
    assert (repay["status"], repay["replaces_payment_id"], repay["transfer_group"]) == (
        "charge_failed",
        returned,
        row["booking_id"],
    )


# -- deposits ---------------------------------------------------------------------------------
async def test_a_deposit_is_recorded_once_and_released_once(conn: asyncpg.Connection) -> None:
    payment_id = await _payment(conn)
    deposit = {
        "payment_id": payment_id,
        "booking_id": payment_id,
        "setup_intent_id": "seti_repo",
        "payment_method": "pm_saved",
        "customer_id": "cus_repo",
        "amount": 5000,
        "currency": "usd",
    }
    deposits = deposit_repository.DepositsRepository(conn)
    assert await deposits.insert_deposit(**deposit)
    assert not await deposits.insert_deposit(**{**deposit, "amount": 1})
    card = await deposits.deposit_card(payment_id)
    assert card is not None and dict(card) == {
        "customer_id": "cus_repo",
        "payment_method": "pm_saved",
    }
    assert await deposits.deposit_setup_intent(payment_id) == "seti_repo"
    assert await deposits.release_deposit(payment_id, 9000, "checked out")
    assert not await deposits.release_deposit(payment_id, 0, "again")
    charged = await conn.fetchval(
        "SELECT charged FROM payments.deposits WHERE payment_id = $1", payment_id
    )
    assert charged == 5000  # never more than the deposit
    assert not await deposits.release_deposit("pay_without_deposit", 0, None)
    assert await deposits.deposit_setup_intent("pay_without_deposit") is None


# -- webhooks ---------------------------------------------------------------------------------
async def test_a_stored_event_is_claimed_processed_and_replayed(conn: asyncpg.Connection) -> None:
    webhooks = WebhooksRepository(conn)
    event = {"id": f"evt_repo_{uuid.uuid4().hex[:10]}", "type": "payout.paid", "data": {}}
    assert await webhooks.store_event(event)
    assert not await webhooks.store_event(event)
    row_id = await conn.fetchval(
        "SELECT id FROM payments.stripe_webhook_events WHERE stripe_event_id = $1", event["id"]
    )
    assert row_id in await webhooks.pending_event_ids(100_000)
    async with conn.transaction():
        assert await webhooks.take_event(row_id) == ("payout.paid", event)
        assert row_id not in await webhooks.pending_event_ids(100_000)
        assert await webhooks.take_event(row_id) is None
    assert row_id not in await webhooks.pending_event_ids(100_000)
    assert await webhooks.mark_unprocessed(event["id"])
    assert await webhooks.take_event(row_id) is not None
    assert not await webhooks.mark_unprocessed("evt_never_stored")
    assert await webhooks.take_event(-1) is None


async def test_a_taken_event_is_pending_again_when_its_transaction_rolls_back(
    conn: asyncpg.Connection,
) -> None:
    webhooks = WebhooksRepository(conn)
    event = {"id": f"evt_repo_{uuid.uuid4().hex[:10]}", "type": "payout.paid", "data": {}}
    assert await webhooks.store_event(event)
    row_id = await conn.fetchval(
        "SELECT id FROM payments.stripe_webhook_events WHERE stripe_event_id = $1", event["id"]
    )
    tx = conn.transaction()
    await tx.start()
    assert await webhooks.take_event(row_id) is not None
    await tx.rollback()  # applying it failed
    assert row_id in await webhooks.pending_event_ids(100_000)


async def test_an_older_account_report_does_not_overwrite_a_newer_one(
    conn: asyncpg.Connection,
) -> None:
    webhooks = WebhooksRepository(conn)
    account = f"acct_repo_{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    assert await webhooks.upsert_host_account(account, (True, True, True), now)
    assert not await webhooks.upsert_host_account(account, (False, False, False), now - DAY)
    row = await conn.fetchrow(
        "SELECT charges_enabled, payouts_enabled FROM payments.host_accounts "
        "WHERE host_account_id = $1",
        account,
    )
    assert tuple(row) == (True, True)
    assert await webhooks.upsert_host_account(account, (True, False, True), now)
