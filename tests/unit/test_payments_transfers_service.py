"""Payout transfers, finance's reversal requests and security deposits on payments' unit of
work in memory (tests/support/payments_fakes.py): what `Transfers.apply`,
`Reversals.request`, `Deposits.record` and `Deposits.on_released` write and publish, once —
without Postgres or Stripe. The same routes on the real database, with the Stripe simulator:
tests/integration/test_transfers.py, test_card_disputes.py, test_deposits_claims.py.
"""

from __future__ import annotations

import pytest

from marketplace_contracts import Envelope, EventModel
from marketplace_contracts.events.booking import DepositReleasedV1
from marketplace_contracts.events.finance import PayoutReleasedV1, TransferReversalRequestedV1
from marketplace_contracts.events.payments import (
    TransferCreatedV1,
    TransferFailedV1,
    TransferReversalFailedV1,
)
from payments.adapters.stripe_gateway import SetupIntentResult
from payments.domain.checkout import Checkout
from payments.service_layer.deposits import Deposits
from payments.service_layer.transfers import TransferOutcome
from tests.support.payments_fakes import FakeUnitOfWork, envelope, offline_handlers

PAYMENT = "pay_transfer_unit"
BOOKING = "bk_transfer_unit"
HOST = "acct_host_unit"


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


def _envelope(event: EventModel, producer: str = "finance") -> Envelope:
    return envelope(event, PAYMENT, producer)


def _release(release_id: str = "rel_unit", amount: int = 5_000) -> PayoutReleasedV1:
    return PayoutReleasedV1(
        release_id=release_id,
        payment_id=PAYMENT,
        booking_id=BOOKING,
        host_account_id=HOST,
        amount=amount,
        currency="usd",
    )


# -- payout released ----------------------------------------------------------------------
async def test_a_released_payout_is_recorded_created_and_announced_once(
    uow: FakeUnitOfWork,
) -> None:
    transfers = offline_handlers().transfers
    release = _release()
    await uow.transfers.decide(  # what `prepare` reserved before it called Stripe
        {
            "release_id": release.release_id,
            "payment_id": PAYMENT,
            "booking_id": BOOKING,
            "host_account_id": HOST,
            "amount": release.amount,
            "currency": "usd",
            "status": "pending",
            "transfer_id": None,
            "failure_code": None,
            "failure_message": None,
        }
    )
    env = _envelope(release)
    outcome = TransferOutcome(release, "tr_unit", "group_unit")

    await transfers.apply(uow, env, release, outcome)
    await transfers.apply(uow, env, release, outcome)  # a redelivery: decided already

    row = uow.transfers.rows[release.release_id]
    assert (row["status"], row["transfer_id"]) == ("created", "tr_unit")
    [(event, meta)] = uow.outbox.added
    assert isinstance(event, TransferCreatedV1)
    assert (event.transfer_id, event.transfer_group, event.amount) == (
        "tr_unit",
        "group_unit",
        5_000,
    )
    assert meta == {
        "key": PAYMENT,
        "correlation_id": env.correlation_id,
        "causation_id": env.event_id,
    }


async def test_a_refused_release_is_recorded_failed_with_its_reason(uow: FakeUnitOfWork) -> None:
    transfers = offline_handlers().transfers
    release = _release("rel_refused")
    refused = TransferOutcome(
        release, None, code="amount_exceeds_available", message="4000 may still be transferred"
    )

    await transfers.apply(uow, _envelope(release), release, refused)

    row = uow.transfers.rows["rel_refused"]  # refused before anything was reserved
    assert (row["status"], row["failure_code"], row["transfer_id"]) == (
        "failed",
        "amount_exceeds_available",
        None,
    )
    [(event, _)] = uow.outbox.added
    assert isinstance(event, TransferFailedV1)
    assert (event.code, event.message) == (
        "amount_exceeds_available",
        "4000 may still be transferred",
    )


# -- finance asks for a reversal ----------------------------------------------------------
def _reversal_request(amount: int, transfer_id: str = "tr_made") -> TransferReversalRequestedV1:
    return TransferReversalRequestedV1(
        request_id="rq_unit",
        transfer_id=transfer_id,
        payment_id=PAYMENT,
        booking_id=BOOKING,
        host_account_id=HOST,
        amount=amount,
        currency="usd",
        cause="dispute_lost",
    )


async def _made_transfer(uow: FakeUnitOfWork, amount: int) -> None:
    await uow.transfers.decide(
        {
            "release_id": "rel_made",
            "payment_id": PAYMENT,
            "booking_id": BOOKING,
            "host_account_id": HOST,
            "amount": amount,
            "currency": "usd",
            "status": "created",
            "transfer_id": "tr_made",
            "failure_code": None,
            "failure_message": None,
        }
    )


@pytest.mark.parametrize(
    ("transfer_id", "amount", "code"),
    [("tr_unknown", 1_000, "transfer_not_found"), ("tr_made", 6_000, "amount_exceeds_transfer")],
)
async def test_a_reversal_request_that_cannot_be_made_is_answered_failed_at_once(
    uow: FakeUnitOfWork, transfer_id: str, amount: int, code: str
) -> None:
    reversals = offline_handlers().reversals
    await _made_transfer(uow, 5_000)
    request = _reversal_request(amount, transfer_id)
    env = _envelope(request)

    await reversals.request(uow, env, request)

    assert uow.transfers.reversals == {}
    [(event, meta)] = uow.outbox.added
    assert isinstance(event, TransferReversalFailedV1)
    assert (event.code, event.reversal_request_id, event.refund_id) == (code, "rq_unit", None)
    assert (meta["key"], meta["causation_id"]) == (PAYMENT, env.event_id)


async def test_a_reversal_request_is_left_pending_for_the_worker(uow: FakeUnitOfWork) -> None:
    reversals = offline_handlers().reversals
    await _made_transfer(uow, 5_000)
    request = _reversal_request(5_000)  # all that is left of the transfer
    env = _envelope(request)

    await reversals.request(uow, env, request)

    [row] = uow.transfers.reversals.values()
    assert (row["reversal_key"], row["request_id"], row["cause"]) == (
        "rq_unit",
        "rq_unit",
        "dispute_lost",
    )
    assert (row["release_id"], row["amount"], row["status"]) == ("rel_made", 5_000, "pending")
    assert row["correlation_id"] == env.correlation_id
    assert uow.outbox.added == []  # the worker announces it once Stripe has made it


# -- security deposits --------------------------------------------------------------------
def _checkout(deposit_amount: int) -> Checkout:
    return Checkout(
        payment_id=PAYMENT,
        booking_id=BOOKING,
        group_id=None,
        guest_id="guest_unit",
        amount=10_000,
        platform_fee=1_500,
        currency="usd",
        host_account_id=HOST,
        payment_method="pm_card_visa",
        save_for_later=False,
        deposit_amount=deposit_amount,
    )


def _setup_intent(status: str, payment_method: str | None) -> SetupIntentResult:
    return SetupIntentResult("seti_unit", status, payment_method, "visa", "4242")


async def test_a_deposit_is_recorded_only_when_its_card_was_saved(uow: FakeUnitOfWork) -> None:
    declined = _setup_intent("requires_payment_method", None)
    assert await Deposits.record(uow, _checkout(5_000), "cus_unit", declined) is None
    no_deposit = _checkout(0)
    assert (
        await Deposits.record(uow, no_deposit, "cus_unit", _setup_intent("succeeded", "pm_1"))
        is None
    )
    assert uow.deposits.rows == {}

    saved = _setup_intent("succeeded", "pm_saved")
    assert await Deposits.record(uow, _checkout(5_000), "cus_unit", saved) == "seti_unit"

    row = uow.deposits.rows[PAYMENT]
    assert (row["customer_id"], row["payment_method"], row["amount"]) == (
        "cus_unit",
        "pm_saved",
        5_000,
    )


async def test_a_released_deposit_is_released_once_with_what_was_charged(
    uow: FakeUnitOfWork,
) -> None:
    deposits = offline_handlers().deposits
    await uow.deposits.insert_deposit(payment_id=PAYMENT, amount=5_000)
    released = DepositReleasedV1(
        booking_id=BOOKING,
        payment_id=PAYMENT,
        amount=5_000,
        charged=1_200,
        currency="usd",
        reason="claim_settled",
    )
    again = released.model_copy(update={"charged": 0, "reason": "no_claim"})

    await deposits.on_released(uow, _envelope(released, "booking"), released, None)
    await deposits.on_released(uow, _envelope(again, "booking"), again, None)

    row = uow.deposits.rows[PAYMENT]
    assert (row["status"], row["charged"], row["release_reason"]) == (
        "released",
        1_200,
        "claim_settled",
    )
