"""The payment's transition table and its aggregate (no database)."""

from __future__ import annotations

import pytest

from domainkit.transitions import IllegalTransition
from marketplace_contracts import EventModel
from marketplace_contracts.events import payments as payment_events
from payments.domain.payment import (
    INITIAL,
    TABLE,
    TERMINAL,
    Change,
    Payment,
    PaymentStatus,
    PaymentTrigger,
    authorization_outcome,
    next_status,
)


def test_every_status_the_schema_allows_is_reachable_or_initial() -> None:
    assert TABLE.states() | set(INITIAL) == {s.value for s in PaymentStatus}


def test_failed_voided_cancelled_and_returned_payments_do_not_move() -> None:
    assert TERMINAL == {"failed", "voided", "cancelled", "returned"}
    for status in TERMINAL:
        assert list(TABLE.triggers_from(PaymentStatus(status))) == []


def test_a_card_checkout_starts_held_waiting_for_the_guest_or_failed() -> None:
    assert authorization_outcome(True, False) is PaymentStatus.AUTHORIZED
    assert authorization_outcome(False, True) is PaymentStatus.REQUIRES_ACTION
    assert authorization_outcome(False, False) is PaymentStatus.FAILED


def test_capturing_a_held_card_emits_payment_captured() -> None:
    payment = Payment("pay_1", PaymentStatus.AUTHORIZED)
    assert payment.capture() is PaymentStatus.CAPTURED
    assert payment.emitted == ("payments.payment_captured",)


def test_a_captured_payment_cannot_be_voided() -> None:
    payment = Payment("pay_1", PaymentStatus.CAPTURED)
    with pytest.raises(IllegalTransition) as raised:
        payment.void()
    assert raised.value.code == "illegal_transition"
    assert payment.status is PaymentStatus.CAPTURED  # unchanged by the refused trigger


def test_a_declined_saved_card_may_be_retried_a_refused_group_charge_may_not() -> None:
    retried = Payment("pay_1", PaymentStatus.SAVED)
    assert retried.decline_charge(retryable=True) is PaymentStatus.CHARGE_FAILED
    assert retried.capture() is PaymentStatus.CAPTURED  # the guest's retry succeeded
    group = Payment("pay_g", PaymentStatus.SAVED)
    assert group.decline_charge(retryable=False) is PaymentStatus.FAILED
    assert group.emitted == ("payments.payment_failed",)


def test_a_bank_debit_settles_then_may_still_come_back() -> None:
    debit = Payment("pay_b", PaymentStatus.PROCESSING)
    assert debit.settle_debit() is PaymentStatus.CAPTURED
    assert debit.return_debit() is PaymentStatus.RETURNED
    assert next_status("processing", PaymentTrigger.DEBIT_RETURNED) is PaymentStatus.RETURNED
    with pytest.raises(IllegalTransition):
        next_status("processing", PaymentTrigger.CAPTURE)  # a debit is settled, not captured


def test_renewal_expiry_and_refunds_keep_the_status() -> None:
    payment = Payment("pay_1", PaymentStatus.AUTHORIZED)
    assert payment.expire() is PaymentStatus.AUTHORIZED
    assert payment.emitted == ("payments.authorization_expiring",)
    assert payment.renew() is PaymentStatus.AUTHORIZED
    payment.capture()
    assert payment.refund(full=False) is PaymentStatus.CAPTURED
    assert payment.refund(full=True) is PaymentStatus.CAPTURED


def test_authentication_settles_a_payment_waiting_for_the_guest() -> None:
    assert Payment("p", PaymentStatus.REQUIRES_ACTION).authenticate() is PaymentStatus.AUTHORIZED
    failed = Payment("p", PaymentStatus.REQUIRES_ACTION)
    assert failed.fail_authentication() is PaymentStatus.FAILED
    assert Payment("p", PaymentStatus.REQUIRES_ACTION).void() is PaymentStatus.VOIDED
    assert Payment("p", PaymentStatus.CHARGE_FAILED).cancel() is PaymentStatus.CANCELLED


def test_apply_returns_the_new_status_and_the_events_the_table_declares() -> None:
    payment = Payment("pay_1", PaymentStatus.REQUIRES_ACTION)
    assert payment.apply(PaymentTrigger.AUTHENTICATED) == Change(
        PaymentStatus.AUTHORIZED, ("payments.payment_authorized",)
    )
    assert payment.apply(PaymentTrigger.VOID) == Change(
        PaymentStatus.VOIDED, ("payments.payment_voided",)
    )


def test_a_cancelled_saved_card_and_a_refund_s_void_declare_no_event() -> None:
    assert Payment("p", PaymentStatus.SAVED).apply(PaymentTrigger.CANCEL) == Change(
        PaymentStatus.CANCELLED, ()
    )
    # The refund announces it (refund_succeeded); payment_voided would release booking's hold.
    refunded = Payment("p", PaymentStatus.AUTHORIZED).apply(PaymentTrigger.REFUND_VOID)
    assert refunded == Change(PaymentStatus.VOIDED, ())


def test_a_refused_trigger_returns_no_change_and_keeps_the_status() -> None:
    payment = Payment("pay_1", PaymentStatus.PROCESSING)
    with pytest.raises(IllegalTransition):
        payment.apply(PaymentTrigger.CAPTURE)
    assert (payment.status, payment.emitted) == (PaymentStatus.PROCESSING, ())


def test_a_payment_of_a_row_reads_its_id_and_status() -> None:
    payment = Payment.of({"payment_id": "pay_1", "status": "charge_failed", "amount": 1})
    assert payment == Payment("pay_1", PaymentStatus.CHARGE_FAILED)
    assert payment.status is PaymentStatus.CHARGE_FAILED


def test_every_event_the_table_declares_is_a_payments_contract() -> None:
    published = {
        model.TYPE
        for model in vars(payment_events).values()
        if isinstance(model, type) and issubclass(model, EventModel) and model is not EventModel
    }
    declared = {e for found in TABLE.candidates.values() for t in found for e in t.emits}
    assert declared and declared <= published
