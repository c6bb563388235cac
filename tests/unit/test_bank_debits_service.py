"""Bank debits' handlers (`features/bank_debits/service.py`) on booking's unit of work in memory
(tests/support/booking_fakes.py): a debit processing confirms the booking with its funds
pending, received, cleared or returned; a returned debit paid again by card; the window's
timer — what each stores, schedules and publishes, and what it leaves alone.

The kernel's payment-due and ending steps are replaced by recorders of what they were asked.
The same flows on the real database: tests/integration/test_bank_debits.py and
tests/e2e/test_bank_debits.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from booking.features.bank_debits import service as bank_debits
from booking.features.bank_debits.domain import RETURNED_DEBIT_WINDOW
from booking.service_layer.timer_kinds import COMPLETION, HOLD_EXPIRY
from eventkit.routing import PermanentError
from marketplace_contracts import make_envelope
from marketplace_contracts.events.payments import (
    FundsClearedV1,
    PaymentCapturedV2,
    PaymentProcessingV1,
    PaymentReturnedV1,
)
from tests.support.booking_fakes import FakeUnitOfWork

ACH = "us_bank_account"
WINDOW = timedelta(hours=36)


@pytest.fixture
def fake() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def kernel(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """What the kernel's steps were asked: (step, its arguments after the unit of work)."""
    asked: list[tuple[str, Any]] = []

    def recorder(step: str) -> Any:
        async def record(uow: Any, *args: Any, **kwargs: Any) -> None:
            asked.append((step, (args, kwargs)))

        return record

    monkeypatch.setattr(bank_debits.payment_due, "payment_received", recorder("received"))
    monkeypatch.setattr(bank_debits.payment_due, "request_payment", recorder("request"))
    monkeypatch.setattr(bank_debits, "end_booking", recorder("end"))
    return asked


def _booking(fake: FakeUnitOfWork, status: str = "pending_payment", **columns: Any) -> str:
    booking_id = uuid.uuid4()
    starts_at = datetime.now(UTC) + timedelta(days=8)
    fake.bookings.bookings[booking_id] = {
        "booking_id": booking_id,
        "status": status,
        "mode": "instant",
        "group_id": None,
        "version": 1,
        "amount": 20_000,
        "currency": "usd",
        "payment_status": "none",
        "payment_id": None,
        "payment_method_type": ACH,
        "funds_status": None,
        "starts_at": starts_at,
        "ends_at": starts_at + timedelta(days=2),
        "correlation_id": uuid.uuid4(),
        **columns,
    }
    return str(booking_id)


def _env(event: Any) -> Any:
    return make_envelope(event, key="pay_1", producer="payments", correlation_id=uuid.uuid4())


def _processing(booking_id: str, payment_id: str = "pay_ach") -> PaymentProcessingV1:
    return PaymentProcessingV1(
        payment_id=payment_id,
        booking_id=booking_id,
        payment_intent_id="pi_1",
        amount=20_000,
        currency="usd",
        payment_method_type=ACH,
        bank_name="STRIPE TEST BANK",
        bank_last4="6789",
    )


def _captured(booking_id: str, method: str = ACH, **fields: Any) -> PaymentCapturedV2:
    return PaymentCapturedV2.model_construct(
        payment_id=fields.pop("payment_id", "pay_ach"),
        booking_id=booking_id,
        payment_method_type=method,
        charge_request_id=fields.pop("charge_request_id", None),
    )


def _returned(booking_id: str, payment_id: str = "pay_ach") -> PaymentReturnedV1:
    return PaymentReturnedV1(
        payment_id=payment_id,
        booking_id=booking_id,
        amount=20_000,
        currency="usd",
        code="insufficient_funds",
        message="no money",
        after_capture=True,
        host_account_id="acct_host",
    )


def _row(fake: FakeUnitOfWork, booking_id: str) -> dict[str, Any]:
    return fake.bookings.bookings[uuid.UUID(booking_id)]


async def test_a_processing_debit_confirms_the_booking_with_its_funds_pending(
    fake: FakeUnitOfWork,
) -> None:
    booking_id = _booking(fake)
    fake.timers.pending[(HOLD_EXPIRY, booking_id)] = datetime.now(UTC)
    event = _processing(booking_id)
    env = _env(event)
    await bank_debits.BankDebitHandlers().on_payment_processing(fake.as_uow(), env, event)
    row = _row(fake, booking_id)
    assert (row["status"], row["payment_status"], row["funds_status"]) == (
        "confirmed",
        "processing",
        "pending",
    )
    assert (row["payment_id"], row["bank_name"], row["bank_last4"], row["version"]) == (
        "pay_ach",
        "STRIPE TEST BANK",
        "6789",
        2,
    )
    assert fake.outbox.types == ["booking.booking_confirmed"]
    confirmed, meta = fake.outbox.added[0]
    assert (confirmed.payment_id, confirmed.amount) == ("pay_ach", 20_000)
    assert (meta["key"], meta["causation_id"]) == (booking_id, env.event_id)
    assert fake.timers.cancelled == [(HOLD_EXPIRY, booking_id)]
    assert fake.timers.pending == {(COMPLETION, booking_id): row["ends_at"]}


async def test_a_debit_for_a_checkout_that_ended_is_only_kept_for_ops(
    fake: FakeUnitOfWork,
) -> None:
    booking_id = _booking(fake, status="failed")
    event = _processing(booking_id)
    await bank_debits.BankDebitHandlers().on_payment_processing(fake.as_uow(), _env(event), event)
    row = _row(fake, booking_id)
    assert (row["status"], row["payment_id"], row["funds_status"]) == (
        "failed",
        "pay_ach",
        "pending",
    )
    assert fake.outbox.added == [] and fake.timers.pending == {}
    unknown = _processing(str(uuid.uuid4()))
    with pytest.raises(PermanentError):
        await bank_debits.BankDebitHandlers().on_payment_processing(
            fake.as_uow(), _env(unknown), unknown
        )


async def test_the_funds_are_received_then_cleared(fake: FakeUnitOfWork) -> None:
    uow, handlers = fake.as_uow(), bank_debits.BankDebitHandlers()
    booking_id = _booking(fake, "confirmed", payment_id="pay_ach", funds_status="pending")
    cleared = FundsClearedV1(
        payment_id="pay_ach",
        booking_id=booking_id,
        amount=20_000,
        currency="usd",
        cleared_at=datetime.now(UTC),
    )
    await handlers.on_funds_cleared(uow, _env(cleared), cleared)  # not received yet
    assert _row(fake, booking_id)["funds_status"] == "pending"
    other = _captured(booking_id, payment_id="pay_other")
    assert await handlers.on_payment_captured(uow, _env(other), other, _row(fake, booking_id))
    assert _row(fake, booking_id)["funds_status"] == "pending"
    captured = _captured(booking_id)
    assert await handlers.on_payment_captured(uow, _env(captured), captured, _row(fake, booking_id))
    row = _row(fake, booking_id)
    assert (row["payment_status"], row["funds_status"]) == ("captured", "received")
    await handlers.on_funds_cleared(uow, _env(cleared), cleared)
    assert _row(fake, booking_id)["funds_status"] == "cleared"
    assert fake.outbox.added == []


async def test_captures_that_are_not_a_debits_are_left_to_others(
    fake: FakeUnitOfWork, kernel: list[tuple[str, Any]]
) -> None:
    uow, handlers = fake.as_uow(), bank_debits.BankDebitHandlers()
    card = _booking(fake, "confirmed", payment_method_type="card", payment_id="pay_card")
    ach = _booking(fake, "confirmed", payment_id="pay_ach", funds_status="received")
    for event in (
        _captured(card, "card", payment_id="pay_card"),  # a card booking
        _captured(ach, charge_request_id="chg_1"),  # an extra charge
        _captured(ach, "card", payment_id="pay_card"),  # a card payment, nothing due
    ):
        row = _row(fake, event.booking_id)
        assert not await handlers.on_payment_captured(uow, _env(event), event, row)
    assert kernel == [] and _row(fake, ach)["version"] == 1


async def test_a_returned_debit_paid_by_card_confirms_the_booking_again(
    fake: FakeUnitOfWork, kernel: list[tuple[str, Any]]
) -> None:
    booking_id = _booking(fake, "payment_due", payment_id="pay_ach", funds_status="returned")
    fake.timers.pending[(RETURNED_DEBIT_WINDOW, booking_id)] = datetime.now(UTC)
    paid = _captured(booking_id, "card", payment_id="pay_card")
    assert await bank_debits.BankDebitHandlers().on_payment_captured(
        fake.as_uow(), _env(paid), paid, _row(fake, booking_id)
    )
    [(step, (args, changes))] = kernel
    assert (step, args[1]["booking_id"], args[2]) == ("received", uuid.UUID(booking_id), paid)
    assert changes == {
        "payment_id": "pay_card",
        "payment_method_type": "card",
        "funds_status": None,
    }
    assert fake.timers.cancelled == [(RETURNED_DEBIT_WINDOW, booking_id)]


async def test_a_debit_returned_before_the_start_asks_the_guest_to_pay(
    fake: FakeUnitOfWork, kernel: list[tuple[str, Any]]
) -> None:
    handlers = bank_debits.BankDebitHandlers(WINDOW)
    booking_id = _booking(fake, "confirmed", payment_id="pay_ach", funds_status="received")
    returned = _returned(booking_id)
    before = datetime.now(UTC)
    await handlers.on_payment_returned(fake.as_uow(), _env(returned), returned)
    [(step, (args, changes))] = kernel
    _, row, event, trigger, timer, pay_by, reason = args
    assert (step, row["booking_id"], event, timer) == (
        "request",
        uuid.UUID(booking_id),
        returned,
        RETURNED_DEBIT_WINDOW,
    )
    assert (trigger.value, reason) == ("payment_returned", "payment_returned")
    assert before + WINDOW <= pay_by <= datetime.now(UTC) + WINDOW  # sooner than the start
    assert changes["funds_status"] == "returned"
    assert changes["failure_detail"] == "insufficient_funds: no money"


async def test_a_debit_returned_after_the_start_is_left_to_ops(
    fake: FakeUnitOfWork, kernel: list[tuple[str, Any]]
) -> None:
    started = datetime.now(UTC) - timedelta(hours=1)
    booking_id = _booking(
        fake, "confirmed", payment_id="pay_ach", funds_status="received", starts_at=started
    )
    uow, handlers = fake.as_uow(), bank_debits.BankDebitHandlers()
    returned = _returned(booking_id)
    await handlers.on_payment_returned(uow, _env(returned), returned)
    await handlers.on_payment_returned(uow, _env(returned), returned)  # known already
    other = _returned(booking_id, "pay_other")
    await handlers.on_payment_returned(uow, _env(other), other)  # not this booking's payment
    row = _row(fake, booking_id)
    assert (row["status"], row["funds_status"], row["version"]) == ("confirmed", "returned", 2)
    assert row["failure_detail"] == "payment_returned: insufficient_funds: no money"
    assert kernel == [] and fake.outbox.added == []


async def test_the_window_frees_the_slot_unless_the_guest_paid(
    fake: FakeUnitOfWork, kernel: list[tuple[str, Any]]
) -> None:
    unpaid = _booking(fake, "payment_due", payment_id="pay_ach", funds_status="returned")
    paid = _booking(fake, "confirmed", payment_id="pay_card", payment_method_type="card")
    for booking_id in (unpaid, paid, str(uuid.uuid4())):
        await bank_debits.on_window_closed(fake.as_uow(), uuid.UUID(booking_id))
    [(step, (args, _))] = kernel
    row, trigger, reason = args[:3]
    assert (step, row["booking_id"], trigger.value, reason) == (
        "end",
        uuid.UUID(unpaid),
        "payment_window_closed",
        "payment_returned",
    )
