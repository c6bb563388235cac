"""payments' `lifecycle`: one status change through the `Payment` aggregate, written as a
compare-and-set on the status read, published as exactly the events the table declares, on
payments' unit of work in memory (tests/support/payments_fakes.py)."""

from __future__ import annotations

import uuid

import pytest

from domainkit.transitions import IllegalTransition
from eventkit.rows import LostUpdate
from marketplace_contracts.events.payments import PaymentFailedV1, PaymentVoidedV1
from payments.domain.payment import Change, Payment, PaymentStatus, PaymentTrigger
from payments.domain.refunds import VOID, RefundOrder
from payments.service_layer import lifecycle
from payments.service_layer.refund_effects import RefundOutcome, apply_to_payment
from tests.support.payments_fakes import FakeUnitOfWork, intent

CAUSE = lifecycle.Cause(uuid.uuid4(), uuid.uuid4())
PAY = "pay_1"


def _voided() -> PaymentVoidedV1:
    return PaymentVoidedV1(payment_id=PAY, booking_id="bk_1", reason="checkout_failed")


def _failed() -> PaymentFailedV1:
    return PaymentFailedV1(payment_id=PAY, booking_id="bk_1", code="card_declined", message="")


VOIDED = {PaymentVoidedV1.TYPE: _voided}


async def test_a_change_writes_the_status_and_columns_and_publishes_the_declared_event() -> None:
    fake = FakeUnitOfWork()
    fake.payments.given(PAY, PaymentStatus.AUTHORIZED)
    done = await lifecycle.apply(
        fake.as_uow(),
        Payment(PAY, PaymentStatus.AUTHORIZED),
        PaymentTrigger.VOID,
        {**VOIDED, PaymentFailedV1.TYPE: _failed},  # a builder not declared is not used
        CAUSE,
        stripe_status="canceled",
    )
    assert done == Change(PaymentStatus.VOIDED, ("payments.payment_voided",))
    row = fake.payments.rows[PAY]
    assert (row["status"], row["stripe_status"]) == ("voided", "canceled")
    assert fake.outbox.added == [
        (
            _voided(),
            {
                "key": PAY,
                "correlation_id": CAUSE.correlation_id,
                "causation_id": CAUSE.causation_id,
            },
        )
    ]


async def test_a_lost_compare_and_set_writes_and_publishes_nothing() -> None:
    fake = FakeUnitOfWork()
    fake.payments.given(PAY, PaymentStatus.VOIDED, stripe_status="canceled")
    # Read as authorized; an earlier delivery voided it meanwhile.
    done = await lifecycle.apply(
        fake.as_uow(),
        Payment(PAY, PaymentStatus.AUTHORIZED),
        PaymentTrigger.CAPTURE,
        {},  # never asked for: nothing is built when nothing is written
        CAUSE,
        stripe_status="succeeded",
    )
    assert done is None
    assert fake.payments.rows[PAY]["stripe_status"] == "canceled"
    assert fake.outbox.added == []


async def test_a_trigger_that_declares_nothing_publishes_nothing() -> None:
    fake = FakeUnitOfWork()
    fake.payments.given(PAY, PaymentStatus.SAVED)
    saved = Payment(PAY, PaymentStatus.SAVED)
    done = await lifecycle.apply(fake.as_uow(), saved, PaymentTrigger.CANCEL, VOIDED, CAUSE)
    assert done == Change(PaymentStatus.CANCELLED, ())
    assert fake.payments.rows[PAY]["status"] == "cancelled"
    assert fake.outbox.added == []


async def test_a_declared_event_without_a_builder_is_refused() -> None:
    fake = FakeUnitOfWork()
    fake.payments.given(PAY, PaymentStatus.AUTHORIZED)
    payment = Payment(PAY, PaymentStatus.AUTHORIZED)
    with pytest.raises(LookupError, match=r"payments\.payment_voided"):
        await lifecycle.apply(fake.as_uow(), payment, PaymentTrigger.VOID, {}, CAUSE)
    assert fake.outbox.added == []


async def test_a_builder_that_builds_another_event_is_refused() -> None:
    fake = FakeUnitOfWork()
    fake.payments.given(PAY, PaymentStatus.SAVED)
    payment = Payment(PAY, PaymentStatus.SAVED)
    wrong = {PaymentFailedV1.TYPE: _voided}
    with pytest.raises(TypeError, match=r"built payments\.payment_voided"):
        await lifecycle.apply(fake.as_uow(), payment, PaymentTrigger.CHARGE_DECLINED, wrong, CAUSE)
    assert fake.outbox.added == []


async def test_a_trigger_the_table_refuses_writes_nothing() -> None:
    fake = FakeUnitOfWork()
    fake.payments.given(PAY, PaymentStatus.CAPTURED)
    payment = Payment(PAY, PaymentStatus.CAPTURED)
    with pytest.raises(IllegalTransition):
        await lifecycle.apply(fake.as_uow(), payment, PaymentTrigger.VOID, VOIDED, CAUSE)
    assert fake.payments.rows[PAY]["status"] == "captured"
    assert fake.outbox.added == []


async def test_change_writes_and_announce_publishes_what_the_change_declares() -> None:
    fake = FakeUnitOfWork()
    fake.payments.given(PAY, PaymentStatus.CHARGE_FAILED)
    charged = Payment(PAY, PaymentStatus.CHARGE_FAILED)
    done = await lifecycle.change(fake.as_uow(), charged, PaymentTrigger.CHARGE_DECLINED)
    assert done == Change(PaymentStatus.CHARGE_FAILED, ("payments.payment_failed",))
    assert fake.outbox.added == []
    await lifecycle.announce(fake.as_uow(), PAY, done, {PaymentFailedV1.TYPE: _failed}, CAUSE)
    assert fake.outbox.types == ["payments.payment_failed"]


async def test_a_refund_taken_as_a_void_voids_the_payment_without_payment_voided() -> None:
    fake = FakeUnitOfWork()
    fake.payments.given(PAY, PaymentStatus.AUTHORIZED)
    order = RefundOrder(
        refund_id="rf_1",
        payment_id=PAY,
        booking_id="bk_1",
        group_id=None,
        amount=10_000,
        currency="usd",
        platform_fee=1_500,
        host_amount=8_500,
        tax=0,
        host_account_id="acct_host",
    )
    outcome = RefundOutcome(order, True, VOID, intent=intent("canceled"))
    await apply_to_payment(fake.as_uow(), outcome, None, uuid.uuid4(), uuid.uuid4())
    row = fake.payments.rows[PAY]
    assert (row["status"], row["stripe_status"]) == ("voided", "canceled")
    assert fake.outbox.added == []  # refunds.record publishes refund_succeeded


async def test_a_locked_payment_that_moved_anyway_fails_loudly_and_publishes_nothing() -> None:
    fake = FakeUnitOfWork()
    row = fake.payments.given(PAY, PaymentStatus.REQUIRES_ACTION)
    fake.payments.rows[PAY]["status"] = PaymentStatus.FAILED  # a bug: the lock did not hold
    with pytest.raises(LostUpdate, match="pay_1"):
        await lifecycle.apply_locked(
            fake.as_uow(), row, PaymentTrigger.AUTHENTICATED, VOIDED, CAUSE
        )
    assert fake.outbox.added == []


async def test_a_locked_payment_moves_from_its_row_s_status_and_needs_the_declared_builder() -> (
    None
):
    fake = FakeUnitOfWork()
    row = fake.payments.given(PAY, PaymentStatus.CAPTURED)
    returned = {PaymentVoidedV1.TYPE: _voided}  # the wrong event: refused, not published
    with pytest.raises(LookupError, match=r"payments\.payment_returned"):
        await lifecycle.apply_locked(
            fake.as_uow(), row, PaymentTrigger.DEBIT_RETURNED, returned, CAUSE
        )
    assert fake.outbox.added == []
    assert fake.payments.rows[PAY]["status"] == "returned"  # written; the transaction rolls back
