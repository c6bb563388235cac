"""Extra charges (`service_layer/charges.py`): what `apply` records of a charge request's
outcome (its own payment row) and the answer it publishes, once, on payments' unit of work in
memory (tests/support/payments_fakes.py). The Stripe call and the request's checks run in
`prepare`; the same flow on the real database and the simulator:
tests/integration/test_amendment_charges.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from eventkit.routing import PermanentError
from marketplace_contracts.events.booking import ChargeRequestedV1
from marketplace_contracts.events.payments import PaymentCapturedV2, PaymentFailedV1
from payments.domain.charges import ExtraCharge, plan_charge
from payments.domain.ids import charge_payment_id
from payments.domain.payment import PaymentStatus
from payments.service_layer import commands
from payments.service_layer.charges import ChargeOutcome
from tests.support.payments_fakes import FakeUnitOfWork, envelope, intent, offline_handlers

SOURCE = "pay_bk_1"
REQUEST = "chr_1"
CHARGE = charge_payment_id(REQUEST)


@pytest.fixture
def fake() -> FakeUnitOfWork:
    fake = FakeUnitOfWork()
    fake.payments.given(SOURCE, PaymentStatus.CAPTURED, booking_id="bk_1")
    return fake


def _request(**fields: Any) -> ChargeRequestedV1:
    return ChargeRequestedV1(
        **{
            "charge_request_id": REQUEST,
            "booking_id": "bk_1",
            "payment_id": SOURCE,
            "amount": 2_000,
            "currency": "usd",
            "platform_fee": 300,
            "tax": 50,
            "host_account_id": "acct_host",
            "reason": "overtime",
            "subject_id": "ot_1",
            **fields,
        }
    )


def _charge(fake: FakeUnitOfWork, event: ChargeRequestedV1) -> ExtraCharge:
    return plan_charge(commands.charge_request(event), fake.payments.rows[SOURCE])


async def _apply(fake: FakeUnitOfWork, event: ChargeRequestedV1, outcome: ChargeOutcome) -> None:
    charges = offline_handlers().charges
    await charges.apply(fake.as_uow(), envelope(event, event.booking_id), event, outcome)


async def test_a_charge_taken_records_its_own_captured_payment_and_answers_once(
    fake: FakeUnitOfWork,
) -> None:
    event = _request()
    outcome = ChargeOutcome(_charge(fake, event), intent("succeeded", amount=2_000))
    await _apply(fake, event, outcome)
    await _apply(fake, event, outcome)  # redelivered: the row exists, nothing more

    payment = fake.payments.rows[CHARGE]
    assert (payment["status"], payment["captured_amount"]) == (PaymentStatus.CAPTURED, 2_000)
    assert (payment["customer_id"], payment["saved_payment_method"]) == ("cus_1", "pm_saved")
    [(captured, meta)] = fake.outbox.added
    assert isinstance(captured, PaymentCapturedV2)
    assert (captured.charge_request_id, captured.group_id, meta["key"]) == (REQUEST, None, CHARGE)
    assert [(s.amount, s.platform_fee, s.tax) for s in captured.splits] == [(2_000, 300, 50)]


async def test_a_declined_charge_records_a_failed_payment_and_answers_payment_failed(
    fake: FakeUnitOfWork,
) -> None:
    event = _request()
    declined = intent("declined", amount=2_000, decline_code="insufficient_funds")
    outcome = ChargeOutcome(
        _charge(fake, event),
        declined,
        code="card_declined",
        decline_code="insufficient_funds",
        message="Your card has insufficient funds.",
    )
    await _apply(fake, event, outcome)

    payment = fake.payments.rows[CHARGE]
    assert (payment["status"], payment["failure_code"]) == (PaymentStatus.FAILED, "card_declined")
    assert payment["captured_amount"] == 0
    [failed] = fake.outbox.of(PaymentFailedV1)
    assert (failed.payment_id, failed.code, failed.decline_code) == (
        CHARGE,
        "card_declined",
        "insufficient_funds",
    )
    assert (failed.charge_request_id, failed.purpose, failed.subject_id) == (
        REQUEST,
        "extra_charge",
        "ot_1",
    )
    assert fake.outbox.of(PaymentCapturedV2) == []


async def test_a_charge_stripe_took_less_of_is_not_recorded_as_paid(
    fake: FakeUnitOfWork,
) -> None:
    event = _request()
    short = ChargeOutcome(_charge(fake, event), intent("succeeded", amount=1_500))
    with pytest.raises(PermanentError, match="took 1500 of 2000"):
        await _apply(fake, event, short)
    assert fake.outbox.added == []


async def test_a_request_refused_before_stripe_is_failed_without_a_card(
    fake: FakeUnitOfWork,
) -> None:
    event = _request(payment_id="pay_missing", reason="deposit_claim")
    refused = ChargeOutcome(None, code="payment_not_found", message="not found")
    await _apply(fake, event, refused)

    payment = fake.payments.rows[CHARGE]
    assert (payment["status"], payment["payment_method"]) == (PaymentStatus.FAILED, "")
    [failed] = fake.outbox.of(PaymentFailedV1)
    assert (failed.code, failed.purpose) == ("payment_not_found", "deposit_claim")


async def test_a_request_whose_amounts_cannot_be_a_payment_is_answered_without_a_row(
    fake: FakeUnitOfWork,
) -> None:
    event = _request(platform_fee=3_000)  # more than the amount
    refused = ChargeOutcome(None, code="invalid_charge_request", message="does not fit")
    await _apply(fake, event, refused)

    assert CHARGE not in fake.payments.rows
    [failed] = fake.outbox.of(PaymentFailedV1)
    assert failed.code == "invalid_charge_request"
