"""What the webhook worker does with one stored Stripe event (`webhooks.apply_event`, through
`bank_debit_webhooks` and `dispute_intake`) on payments' unit of work in memory
(tests/support/payments_fakes.py): a bank debit returned before or after it settled,
a card intent's Stripe status, host accounts and the platform's payouts — what each writes and
which facts it emits, once, without Postgres. The worker's transactions, one event at a time in
order of arrival, and the same events on the real database: tests/integration/test_bank_debits.py
and test_stripe_webhooks.py."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from marketplace_contracts.events.payments import (
    HostAccountUpdatedV1,
    PaymentReturnedV1,
    PlatformPayoutUpdatedV1,
)
from payments.domain.checkout import US_BANK_ACCOUNT
from payments.domain.payment import PaymentStatus
from payments.service_layer import webhooks
from tests.support.payments_fakes import NOW, FakeUnitOfWork

DEBIT = "pay_debit"
WINDOW = timedelta(days=5)


def stripe_event(kind: str, obj: dict[str, Any], at: timedelta = timedelta(0)) -> dict[str, Any]:
    return {
        "id": f"evt_{uuid.uuid4().hex[:12]}",
        "type": kind,
        "created": int((NOW + at).timestamp()),
        "data": {"object": obj},
    }


async def apply(fake: FakeUnitOfWork, event: dict[str, Any]) -> None:
    await webhooks.apply_event(fake.as_uow(), event, WINDOW)


def debit(fake: FakeUnitOfWork, status: str) -> None:
    fake.payments.charged(
        DEBIT,
        status=status,
        payment_method_type=US_BANK_ACCOUNT,
        stripe_status="processing",
        captured_amount=None if status == PaymentStatus.PROCESSING else 10_000,
        card_brand=None,
    )


async def test_a_debit_that_fails_before_it_settles_is_returned_once() -> None:
    fake = FakeUnitOfWork()
    debit(fake, PaymentStatus.PROCESSING)
    intent = {
        "object": "payment_intent",
        "id": f"pi_{DEBIT}",
        "status": "requires_payment_method",
        "last_payment_error": {"code": "insufficient_funds", "message": "R01"},
    }
    failed = stripe_event("payment_intent.payment_failed", intent)
    await apply(fake, failed)
    await apply(fake, failed)  # replayed

    ((fact, meta),) = fake.outbox.added
    assert isinstance(fact, PaymentReturnedV1)
    assert (fact.amount, fact.code, fact.message, fact.after_capture) == (
        10_000,
        "insufficient_funds",
        "R01",
        False,
    )
    assert meta["key"] == DEBIT
    row = fake.payments.rows[DEBIT]
    assert (row["status"], row["return_code"], row["stripe_status"]) == (
        PaymentStatus.RETURNED,
        "insufficient_funds",
        "requires_payment_method",
    )
    assert row["returned_at"] == NOW


async def test_a_dispute_of_a_settled_debit_is_its_return_not_a_card_dispute() -> None:
    fake = FakeUnitOfWork()
    debit(fake, PaymentStatus.CAPTURED)
    dispute = {
        "object": "dispute",
        "id": "du_debit",
        "charge": f"ch_{DEBIT}",
        "payment_intent": f"pi_{DEBIT}",
        "amount": 10_000,
        "currency": "usd",
        "reason": "debit_not_authorized",
        "status": "lost",
        "payment_method_details": {"type": US_BANK_ACCOUNT},
    }
    created = stripe_event("charge.dispute.created", dispute, timedelta(days=2))
    await apply(fake, created)
    await apply(fake, created)  # redelivered
    await apply(fake, stripe_event("charge.dispute.closed", dispute, timedelta(days=3)))

    ((fact, _),) = fake.outbox.added
    assert isinstance(fact, PaymentReturnedV1)
    assert (fact.after_capture, fact.code, fact.dispute_id) == (
        True,
        "debit_not_authorized",
        "du_debit",
    )
    assert fake.payments.rows[DEBIT]["status"] == PaymentStatus.RETURNED
    assert fake.disputes.disputes == {}  # no card dispute opened for it


async def test_a_card_intents_stripe_status_only_moves_forward() -> None:
    fake = FakeUnitOfWork()
    fake.payments.charged("pay_card", stripe_status="requires_capture")
    intent = {"object": "payment_intent", "id": "pi_pay_card", "status": "succeeded"}
    await apply(fake, stripe_event("payment_intent.succeeded", intent))
    older = {**intent, "status": "requires_capture"}
    await apply(fake, stripe_event("payment_intent.amount_capturable_updated", older))

    assert fake.payments.rows["pay_card"]["stripe_status"] == "succeeded"
    assert fake.outbox.added == []


async def test_a_host_account_report_is_announced_unless_an_older_one() -> None:
    fake = FakeUnitOfWork()
    account = {
        "object": "account",
        "id": "acct_h",
        "charges_enabled": True,
        "payouts_enabled": True,
        "details_submitted": True,
    }
    await apply(fake, stripe_event("account.updated", account, timedelta(hours=1)))
    stale = {**account, "payouts_enabled": False}
    await apply(fake, stripe_event("account.updated", stale))

    ((fact, meta),) = fake.outbox.added
    assert isinstance(fact, HostAccountUpdatedV1)
    assert (fact.host_account_id, fact.payouts_enabled, meta["key"]) == ("acct_h", True, "acct_h")
    assert fake.webhooks.host_accounts["acct_h"][0] == (True, True, True)


def payout_event(**event: Any) -> dict[str, Any]:
    payout = {
        "object": "payout",
        "id": "po_1",
        "amount": 50_000,
        "currency": "usd",
        "status": "paid",
        "arrival_date": int(NOW.timestamp()),
    }
    return {**stripe_event("payout.paid", payout), **event}


async def test_the_platforms_own_payout_is_announced() -> None:
    fake = FakeUnitOfWork()
    await apply(fake, payout_event())

    ((fact, meta),) = fake.outbox.added
    assert isinstance(fact, PlatformPayoutUpdatedV1)
    assert (fact.payout_id, fact.status, fact.arrival_date) == ("po_1", "paid", NOW)
    assert meta["correlation_id"] == uuid.uuid5(uuid.NAMESPACE_URL, "stripe:payout:po_1")


async def test_a_connected_accounts_payout_is_the_hosts_business() -> None:
    fake = FakeUnitOfWork()
    await apply(fake, payout_event(account="acct_h"))
    assert fake.outbox.added == []
