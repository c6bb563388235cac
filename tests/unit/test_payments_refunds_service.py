"""The refund saga's recording half (`Refunds.apply`, `apply_amendment`, `record`) on payments'
unit of work in memory (tests/support/payments_fakes.py): what a refund's outcome writes
to its refund and its payment, which transfer reversals it plans and which event it publishes,
once — without Postgres or Stripe. The Stripe half and the whole saga on the real database:
tests/integration/test_refunds.py, test_amendment_charges.py, test_transfers.py.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from marketplace_contracts import Envelope
from marketplace_contracts.events.booking import (
    AmendmentDecidedV1,
    BookingCancelledV1,
    RefundRequest,
)
from marketplace_contracts.events.payments import RefundFailedV1, RefundSucceededV1
from payments.adapters.stripe_gateway import PaymentIntentResult
from payments.domain.refunds import AMENDMENT, GUEST_CANCELLATION, NONE, REFUND, VOID
from payments.service_layer import commands
from payments.service_layer.refund_effects import RefundOutcome
from payments.service_layer.refunds import Refunds
from tests.support.payments_fakes import FakeUnitOfWork, envelope, offline_handlers

PAYMENT = "pay_refund_unit"
BOOKING = "bk_refund_unit"
HOST = "acct_host_unit"


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def refunds() -> Refunds:
    # No pool, outbox or gateway of its own: `record` works only through the unit of work.
    return offline_handlers().refunds


def _payment(uow: FakeUnitOfWork, status: str, **columns: Any) -> None:
    uow.payments.given(
        PAYMENT,
        status,
        booking_id=BOOKING,
        captured_amount=10_000 if status == "captured" else 0,
        host_account_id=HOST,
        payment_intent_id="pi_unit",
        transfer_group=f"group_{PAYMENT}",
        charge_id="ch_unit",
        **columns,
    )


def _request(amount: int, host_amount: int, refund_id: str = "ref_unit") -> RefundRequest:
    return RefundRequest(
        refund_id=refund_id,
        payment_id=PAYMENT,
        amount=amount,
        currency="usd",
        platform_fee=amount - host_amount,
        host_amount=host_amount,
        host_account_id=HOST,
    )


def _pending(
    uow: FakeUnitOfWork, request: RefundRequest, *, cause: str, attempts: int = 1
) -> RefundOutcome:
    """The refund's row as `attempt` leaves it (`pending`, its method chosen), and an outcome
    that succeeded by `REFUND`; tests replace what differs."""
    order = commands.refund_order(BOOKING, None, request, cause=cause)
    uow.refunds.rows[order.refund_id] = {
        "refund_id": order.refund_id,
        "payment_id": order.payment_id,
        "booking_id": order.booking_id,
        "amount": order.amount,
        "host_amount": order.host_amount,
        "status": "pending",
        "method": REFUND,
        "attempts": attempts,
    }
    return RefundOutcome(order, True, REFUND, stripe_refund_id="re_unit")


def _cancelled(request: RefundRequest) -> tuple[Envelope, BookingCancelledV1]:
    event = BookingCancelledV1(
        booking_id=BOOKING,
        cancelled_by="guest",
        policy="flexible@1",
        refund=request,
        host_account_id=HOST,
    )
    env = envelope(event, BOOKING)
    return env, event


async def test_a_refund_of_a_captured_payment_is_given_back_and_announced_once(
    uow: FakeUnitOfWork, refunds: Refunds
) -> None:
    _payment(uow, "captured")
    request = _request(4_000, 3_400)
    outcome = _pending(uow, request, cause=GUEST_CANCELLATION)
    env, event = _cancelled(request)

    await refunds.apply(uow, env, event, [outcome])
    await refunds.apply(uow, env, event, [outcome])  # a redelivery: decided already

    assert uow.payments.rows[PAYMENT]["refunded_amount"] == 4_000
    row = uow.refunds.rows["ref_unit"]
    assert (row["status"], row["method"], row["stripe_refund_id"]) == (
        "succeeded",
        REFUND,
        "re_unit",
    )
    [(succeeded, meta)] = uow.outbox.added
    assert isinstance(succeeded, RefundSucceededV1)
    assert (succeeded.amount, succeeded.host_amount, succeeded.cause) == (
        4_000,
        3_400,
        GUEST_CANCELLATION,
    )
    assert meta == {
        "key": PAYMENT,
        "correlation_id": env.correlation_id,
        "causation_id": env.event_id,
    }
    assert uow.transfers.reversals == {}  # nothing was transferred to the host yet


async def test_a_refused_refund_is_recorded_failed_with_its_attempts_and_moves_no_money(
    uow: FakeUnitOfWork, refunds: Refunds
) -> None:
    _payment(uow, "captured")
    pending = _pending(uow, _request(4_000, 3_400), cause=GUEST_CANCELLATION, attempts=3)
    failed = RefundOutcome(
        pending.order, False, REFUND, code="charge_disputed", message="the charge is disputed"
    )
    correlation, cause = uuid.uuid4(), uuid.uuid4()

    assert await refunds.record(uow, failed, correlation, cause)

    assert uow.payments.rows[PAYMENT]["refunded_amount"] == 0
    row = uow.refunds.rows["ref_unit"]
    assert (row["status"], row["failure_code"]) == ("failed", "charge_disputed")
    [(event, meta)] = uow.outbox.added
    assert isinstance(event, RefundFailedV1)
    assert (event.code, event.attempts, event.message) == (
        "charge_disputed",
        3,
        "the charge is disputed",
    )
    assert (meta["correlation_id"], meta["causation_id"]) == (correlation, cause)
    assert not await refunds.record(uow, failed, correlation, cause)  # decided: once
    assert len(uow.outbox.added) == 1


async def test_a_void_moves_the_authorized_payment_to_voided(
    uow: FakeUnitOfWork, refunds: Refunds
) -> None:
    _payment(uow, "authorized")
    pending = _pending(uow, _request(10_000, 8_500), cause=GUEST_CANCELLATION)
    intent = PaymentIntentResult("pi_unit", "canceled", 10_000, 0, 0, "usd", None, "visa", "4242")
    voided = RefundOutcome(pending.order, True, VOID, intent=intent)

    assert await refunds.record(uow, voided, uuid.uuid4(), uuid.uuid4())

    payment = uow.payments.rows[PAYMENT]
    assert (payment["status"], payment["stripe_status"]) == ("voided", "canceled")
    assert payment["refunded_amount"] == 0  # nothing was taken: nothing given back
    assert [e.method for e, _ in uow.outbox.added] == [VOID]


async def test_a_cancelled_bookings_saved_card_is_never_charged(
    uow: FakeUnitOfWork, refunds: Refunds
) -> None:
    _payment(uow, "saved")
    pending = _pending(uow, _request(10_000, 8_500), cause=GUEST_CANCELLATION)
    nothing = RefundOutcome(pending.order, True, NONE)

    assert await refunds.record(uow, nothing, uuid.uuid4(), uuid.uuid4())

    assert uow.payments.rows[PAYMENT]["status"] == "cancelled"
    assert uow.refunds.rows["ref_unit"]["method"] == NONE


async def test_an_amended_bookings_saved_card_is_charged_the_lower_price(
    uow: FakeUnitOfWork, refunds: Refunds
) -> None:
    _payment(uow, "saved")
    request = _request(2_000, 1_700, refund_id="ref_amend_unit")
    pending = _pending(uow, request, cause=AMENDMENT)
    decided = AmendmentDecidedV1(
        amendment_id="amd_unit",
        booking_id=BOOKING,
        outcome="applied",
        delta=-2_000,
        currency="usd",
        refund=request,
    )
    env = envelope(decided, BOOKING)

    await refunds.apply_amendment(uow, env, decided, RefundOutcome(pending.order, True, NONE))

    payment = uow.payments.rows[PAYMENT]
    assert (payment["status"], payment["amount"], payment["platform_fee"]) == (
        "saved",
        8_000,
        1_200,
    )
    [(event, _)] = uow.outbox.added
    assert isinstance(event, RefundSucceededV1) and event.cause == AMENDMENT


async def test_a_refund_of_a_transferred_share_plans_reversals_newest_transfer_first(
    uow: FakeUnitOfWork, refunds: Refunds
) -> None:
    _payment(uow, "captured")
    # The host's whole share (8,500) was paid by two releases, the newer one last.
    for release, amount in (("rel_old", 5_000), ("rel_new", 3_500)):
        await uow.transfers.decide(
            {
                "release_id": release,
                "payment_id": PAYMENT,
                "booking_id": BOOKING,
                "host_account_id": HOST,
                "amount": amount,
                "currency": "usd",
                "status": "created",
                "transfer_id": f"tr_{release}",
                "failure_code": None,
                "failure_message": None,
            }
        )
    outcome = _pending(uow, _request(4_700, 4_000), cause=GUEST_CANCELLATION)
    correlation = uuid.uuid4()

    assert await refunds.record(uow, outcome, correlation, uuid.uuid4())

    reversals = {key: (r["release_id"], r["amount"]) for key, r in uow.transfers.reversals.items()}
    assert reversals == {"ref_unit": ("rel_new", 3_500), "ref_unit:1": ("rel_old", 500)}
    assert {r["correlation_id"] for r in uow.transfers.reversals.values()} == {correlation}
    assert uow.outbox.types == ["payments.refund_succeeded"]
