"""An Instant Book's card charged at checkout (`capture_at_checkout`), on booking's and
payments' units of work in memory (tests/support/booking_fakes.py, payments_fakes.py): booking
asks for it, payments records the charge as captured and announces it with the card, booking
confirms on the capture, and a charge that reaches a booking that had ended is given back. The
same saga on the real database, the broker and the simulator: tests/e2e/test_instant_book.py,
tests/e2e/test_charged_at_checkout.py."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from booking.domain.model import BookingMode
from booking.features.cancellations import service as cancellations
from booking.features.checkout.messages import charged_at_checkout
from booking.service_layer.handlers import BookingHandlers
from booking.service_layer.timer_kinds import COMPLETION, HOLD_EXPIRY
from eventkit.routing import PermanentError
from marketplace_contracts import make_envelope
from marketplace_contracts.events.booking import BookingFailedV1, CheckoutRequestedV1
from marketplace_contracts.events.payments import (
    PaymentAuthorizedV1,
    PaymentCapturedV2,
    PaymentSplit,
    RefundFailedV1,
    RefundSucceededV1,
)
from payments.adapters.stripe_intents import intent_result
from payments.domain.payment import PaymentStatus
from payments.domain.refunds import CHECKOUT_FAILED
from payments.service_layer import card_actions
from payments.service_layer.card_authorizations import Authorization
from payments.service_layer.handlers import checkout_refund
from tests.support import payments_fakes
from tests.support.booking_fakes import FakeUnitOfWork as BookingUnit
from tests.unit.test_checkout_service import _listing, _place
from tests.unit.test_payments_checkout_service import (
    BOOKING,
    PAYMENT,
    _intent_webhook,
    _record_checkout,
)

CARD_PAYMENT = "pay_charged"


# -- booking asks for it ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "charged"),
    [
        ({}, True),
        ({"payment_method_type": None}, True),  # a row from before bank debits: a card
        ({"mode": BookingMode.REQUEST}, False),  # the host answers first: authorized
        ({"save_for_later": True}, False),  # too far ahead to hold: the card is saved
        ({"payment_method_type": "us_bank_account"}, False),  # debited, not charged
    ],
)
def test_only_an_instant_book_paid_by_card_now_is_charged_at_checkout(
    changes: dict[str, Any], charged: bool
) -> None:
    row = {"mode": "instant", "save_for_later": False, "payment_method_type": "card", **changes}
    assert charged_at_checkout(row) is charged


async def test_an_instant_books_checkout_asks_to_be_charged_and_a_requests_does_not() -> None:
    asked = []
    for instant in (True, False):
        fake = BookingUnit()
        fake.bookings.listings["lst_checkout"] = _listing(instant_book=instant)
        await _place(fake)
        [(event, _)] = fake.outbox.added
        assert isinstance(event, CheckoutRequestedV1)
        asked.append(event.capture_at_checkout)
    assert asked == [True, False]


# -- booking confirms on the capture ----------------------------------------------------------


@pytest.fixture
def booking() -> BookingUnit:
    fake = BookingUnit()
    fake.bookings.listings["lst_checkout"] = _listing()
    return fake


def _captured(booking_id: uuid.UUID, amount: int, **changes: Any) -> PaymentCapturedV2:
    fields: dict[str, Any] = {
        "payment_id": CARD_PAYMENT,
        "booking_id": str(booking_id),
        "payment_intent_id": "pi_charged",
        "charge_id": "ch_charged",
        "amount": amount,
        "currency": "usd",
        "platform_fee": 3_600,
        "splits": [
            PaymentSplit(
                booking_id=str(booking_id),
                host_account_id="acct_checkout",
                amount=amount,
                platform_fee=3_600,
                host_amount=amount - 3_600,
            )
        ],
        "transfer_group": str(booking_id),
        "purpose": "checkout",
        "card_brand": "visa",
        "card_last4": "4242",
        **changes,
    }
    return PaymentCapturedV2(**fields)


def _env(event: Any) -> Any:
    return make_envelope(
        event, key=event.payment_id, producer="payments", correlation_id=uuid.uuid4()
    )


async def _deliver(fake: BookingUnit, event: PaymentCapturedV2) -> None:
    env = _env(event)
    await BookingHandlers(fake.outbox).on_payment_captured(fake.as_uow(), env, event)  # type: ignore[arg-type]


async def test_the_charge_confirms_the_pending_instant_book_with_its_card(
    booking: BookingUnit,
) -> None:
    booking_id = await _place(booking)
    row = booking.bookings.bookings[booking_id]
    await _deliver(booking, _captured(booking_id, row["amount"]))

    row = booking.bookings.bookings[booking_id]
    assert (row["status"], row["payment_status"], row["payment_id"]) == (
        "confirmed",
        "captured",
        CARD_PAYMENT,
    )
    assert (row["card_brand"], row["card_last4"]) == ("visa", "4242")
    receipt = booking.receipts.receipts[f"rcpt_{CARD_PAYMENT}"]
    assert (receipt["amount"], receipt["method"]) == (
        row["amount"],
        {"brand": "visa", "last4": "4242"},
    )
    assert booking.outbox.types == ["booking.checkout_requested", "booking.booking_confirmed"]
    confirmed, _ = booking.outbox.added[-1]
    assert (confirmed.payment_id, confirmed.amount) == (CARD_PAYMENT, row["amount"])
    assert confirmed.payment_captured  # payments takes nothing more
    assert (HOLD_EXPIRY, str(booking_id)) not in booking.timers.pending
    assert booking.timers.pending[(COMPLETION, str(booking_id))] == row["ends_at"]


@pytest.mark.parametrize("status", ["expired", "failed"])
async def test_a_charge_reaching_a_booking_that_ended_is_given_back(
    booking: BookingUnit, status: str
) -> None:
    """Whichever payment the booking last knew (a 3-D Secure step's, or none): it ended
    unconfirmed, so payments is asked to refund the charge; the booking's status stays."""
    booking_id = await _place(booking)
    row = booking.bookings.bookings[booking_id]
    row |= {"status": status, "payment_id": CARD_PAYMENT if status == "expired" else None}
    kept = ("status", "payment_status", "payment_id", "version")
    before = [row[name] for name in kept]
    await _deliver(booking, _captured(booking_id, row["amount"]))

    row = booking.bookings.bookings[booking_id]
    assert [row[name] for name in kept] == before
    receipt = booking.receipts.receipts[f"rcpt_{CARD_PAYMENT}"]  # the charge was made
    assert receipt["method"] == {"brand": "visa", "last4": "4242"}
    failed, meta = booking.outbox.added[-1]
    assert isinstance(failed, BookingFailedV1)
    assert (failed.payment_id, failed.reason) == (CARD_PAYMENT, "booking_not_pending")
    assert meta["key"] == str(booking_id)


@pytest.mark.parametrize(
    ("listing", "changes"),
    [
        ({"instant_book": False}, {}),  # a request is captured once its host accepted
        ({}, {"amount_delta": 1}),  # not the booking's amount
        ({}, {"currency": "eur"}),
    ],
)
async def test_a_capture_a_pending_booking_cannot_be_confirmed_by_is_out_of_order(
    booking: BookingUnit, listing: dict[str, Any], changes: dict[str, Any]
) -> None:
    booking.bookings.listings["lst_checkout"] = _listing(**listing)
    booking_id = await _place(booking)
    row = booking.bookings.bookings[booking_id]
    amount = row["amount"] + changes.pop("amount_delta", 0)
    with pytest.raises(PermanentError, match="out_of_order"):
        await _deliver(booking, _captured(booking_id, amount, **changes))
    assert booking.bookings.bookings[booking_id]["status"] == "pending_payment"


# -- payments records the charge --------------------------------------------------------------


async def test_a_checkout_charged_at_once_is_recorded_captured_and_announced_once() -> None:
    fake = payments_fakes.FakeUnitOfWork()
    charged = payments_fakes.intent("succeeded", payment_method="pm_1")
    auth = Authorization("cus_1", charged)
    await _record_checkout(fake, auth, capture_at_checkout=True)
    await _record_checkout(fake, auth, capture_at_checkout=True)  # redelivered

    payment = fake.payments.rows[PAYMENT]
    assert payment["status"] == PaymentStatus.CAPTURED
    assert (payment["captured_amount"], payment["charge_id"]) == (10_000, charged.charge_id)
    assert payment["saved_payment_method"] == "pm_1"  # for extra charges, off-session
    [captured] = fake.outbox.of(PaymentCapturedV2)
    assert (captured.payment_id, captured.booking_id, captured.amount) == (PAYMENT, BOOKING, 10_000)
    assert (captured.card_brand, captured.card_last4) == ("visa", "4242")
    assert captured.purpose == "checkout" and captured.charge_request_id is None
    [split] = captured.splits
    assert (split.booking_id, split.amount, split.platform_fee) == (BOOKING, 10_000, 1_500)
    assert fake.outbox.of(PaymentAuthorizedV1) == []
    assert len(fake.outbox.added) == 1


async def test_a_guest_who_authenticates_a_charge_at_checkout_captures_the_payment_once() -> None:
    fake = payments_fakes.FakeUnitOfWork()
    fake.payments.given(
        PAYMENT, PaymentStatus.REQUIRES_ACTION, booking_id=BOOKING, card_last4="4000"
    )
    webhook = _intent_webhook(
        "succeeded",
        amount=10_000,
        amount_capturable=0,
        amount_received=10_000,
        currency="usd",
        latest_charge="ch_3ds",
        payment_method="pm_3ds",
    )
    for _ in range(2):  # a duplicated webhook finds the payment captured
        payments = await fake.payments.lock_by_intent(f"pi_{PAYMENT}")
        await card_actions.apply_intent_event(fake.as_uow(), webhook, payments)

    payment = fake.payments.rows[PAYMENT]
    assert (payment["status"], payment["captured_amount"], payment["charge_id"]) == (
        PaymentStatus.CAPTURED,
        10_000,
        "ch_3ds",
    )
    [captured] = fake.outbox.of(PaymentCapturedV2)
    assert (captured.booking_id, captured.amount, captured.card_last4) == (BOOKING, 10_000, "4000")
    assert len(fake.outbox.added) == 1


# -- payments gives a charge back -------------------------------------------------------------


def _payment(**changes: Any) -> dict[str, Any]:
    fake = payments_fakes.FakeUnitOfWork()
    return fake.payments.given(
        PAYMENT,
        PaymentStatus.CAPTURED,
        booking_id=BOOKING,
        captured_amount=10_000,
        tax=300,
        **{"payment_purpose": "checkout", **changes},
    )


def test_a_charge_that_reached_an_ended_booking_is_refunded_in_full() -> None:
    failed = BookingFailedV1(booking_id=BOOKING, payment_id=PAYMENT, reason="booking_not_pending")
    order = checkout_refund(failed, _payment())
    assert order is not None
    assert (order.payment_id, order.booking_id, order.cause) == (PAYMENT, BOOKING, CHECKOUT_FAILED)
    assert (order.amount, order.platform_fee, order.tax, order.host_amount) == (
        10_000,
        1_500,
        300,
        8_500,
    )
    assert order.refund_id == checkout_refund(failed, _payment()).refund_id  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("reason", "changes"),
    [
        ("hold_expired", {}),  # a booking fails before its confirmation: nothing to undo
        ("booking_not_pending", {"charge_request_id": "chg_1"}),  # an extra charge
        ("booking_not_pending", {"payment_purpose": "deposit_claim"}),
    ],
)
def test_no_other_failure_refunds_a_captured_payment(reason: str, changes: dict[str, Any]) -> None:
    failed = BookingFailedV1(booking_id=BOOKING, payment_id=PAYMENT, reason=reason)
    assert checkout_refund(failed, _payment(**changes)) is None


def test_an_intent_without_a_charge_names_the_card_of_its_expanded_payment_method() -> None:
    """A 3-D Secure step has no charge yet: the card comes from the PaymentMethod (expanded
    at checkout), so the payment row, and later the receipt, have it."""
    intent = {
        "id": "pi_1",
        "status": "requires_action",
        "amount": 10_000,
        "amount_capturable": 0,
        "amount_received": 0,
        "currency": "usd",
        "latest_charge": None,
        "payment_method": {"id": "pm_1", "card": {"brand": "visa", "last4": "3184"}},
    }
    result = intent_result(intent)
    assert (result.card_brand, result.card_last4, result.payment_method) == ("visa", "3184", "pm_1")
    charged = {
        **intent,
        "latest_charge": {
            "id": "ch_1",
            "payment_method_details": {"card": {"brand": "mastercard", "last4": "4444"}},
        },
    }
    assert intent_result(charged).card_last4 == "4444"  # the charge's, when there is one


@pytest.mark.parametrize("outcome", ["succeeded", "failed"])
async def test_the_refund_of_a_late_charge_shows_on_the_ended_booking(
    booking: BookingUnit, outcome: str
) -> None:
    """Expired, charged late, given back: the booking stays expired and shows the refund beside
    its receipts (or, refused, its failure for ops)."""
    booking_id = await _place(booking)
    row = booking.bookings.bookings[booking_id]
    row |= {"status": "expired", "refund_status": "none", "refunded_amount": 0}
    await _deliver(booking, _captured(booking_id, row["amount"]))
    common: dict[str, Any] = {
        "refund_id": f"rf_checkout_failed_{CARD_PAYMENT}",
        "payment_id": CARD_PAYMENT,
        "booking_id": str(booking_id),
        "amount": row["amount"],
        "currency": "usd",
        "cause": "checkout_failed",
    }
    uow = booking.as_uow()
    if outcome == "succeeded":
        refund = RefundSucceededV1(
            **common,
            platform_fee=3_600,
            host_amount=row["amount"] - 3_600,
            host_account_id="acct_checkout",
            method="refund",
        )
        await cancellations.on_refund_succeeded(uow, _env(refund), refund)  # type: ignore[arg-type]
        await cancellations.on_refund_succeeded(uow, _env(refund), refund)  # type: ignore[arg-type]
        receipt = booking.receipts.receipts[f"rcpt_{refund.refund_id}"]
        assert (receipt["kind"], receipt["amount"]) == ("refund", row["amount"])
        expected = ("refunded", row["amount"], None)
    else:
        failed = RefundFailedV1(**common, code="refund_failed", message="declined", attempts=4)
        await cancellations.on_refund_failed(uow, _env(failed), failed)  # type: ignore[arg-type]
        expected = ("failed", 0, "refund_failed: declined")
    row = booking.bookings.bookings[booking_id]
    assert row["status"] == "expired"
    assert (row["refund_status"], row["refunded_amount"], row["refund_failure"]) == expected
