"""Payments' checkout saga (`service_layer/handlers.py`, `captures.py`,
`card_authorizations.py`, `saved_cards.py`, `card_actions.py`) on payments' unit of work in
memory (tests/support/payments_fakes.py): what recording Stripe's answer to a checkout, a
capture, a void and the bank's authentication writes to the payment and which event it
publishes, once, without Postgres. The same saga on the real database and the simulator:
tests/integration/test_payments_groups.py, test_stripe_webhooks.py and
tests/e2e/test_instant_book.py, test_card_authentication.py.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import stripe

from marketplace_contracts.events.booking import (
    BookingConfirmedV1,
    BookingFailedV1,
    CheckoutRequestedV1,
)
from marketplace_contracts.events.payments import (
    PaymentActionRequiredV1,
    PaymentAuthorizedV1,
    PaymentCapturedV2,
    PaymentFailedV1,
    PaymentMethodSavedV1,
    PaymentVoidedV1,
)
from payments.adapters.stripe_client import translate_error
from payments.adapters.stripe_gateway import SetupIntentResult
from payments.domain.ids import checkout_payment_id
from payments.domain.payment import PaymentStatus
from payments.service_layer import card_actions
from payments.service_layer.captures import record_captured
from payments.service_layer.card_authorizations import Authorization
from tests.support.payments_fakes import FakeUnitOfWork, envelope, intent, offline_handlers

BOOKING = "bk_1"
PAYMENT = checkout_payment_id(BOOKING)


@pytest.fixture
def fake() -> FakeUnitOfWork:
    return FakeUnitOfWork()


def _checkout(**fields: Any) -> CheckoutRequestedV1:
    start = datetime(2030, 7, 1, 15, tzinfo=UTC)
    return CheckoutRequestedV1(
        **{
            "booking_id": BOOKING,
            "guest_id": "guest-1",
            "listing_id": "lst_1",
            "host_id": "host-1",
            "host_account_id": "acct_host",
            "starts_at": start,
            "ends_at": start + timedelta(days=2),
            "amount": 10_000,
            "currency": "usd",
            "platform_fee": 1_500,
            "payment_method": "pm_card_visa",
            **fields,
        }
    )


async def _record_checkout(fake: FakeUnitOfWork, auth: Authorization, **fields: Any) -> None:
    event = _checkout(**fields)
    await offline_handlers().record_authorization(
        fake.as_uow(), envelope(event, BOOKING), event, auth
    )


async def test_an_authorized_card_records_the_payment_and_its_event_once(
    fake: FakeUnitOfWork,
) -> None:
    auth = Authorization("cus_1", intent("requires_capture", payment_method="pm_1"))
    await _record_checkout(fake, auth)
    await _record_checkout(fake, auth)  # redelivered: recorded already

    payment = fake.payments.rows[PAYMENT]
    assert payment["status"] == PaymentStatus.AUTHORIZED
    assert (payment["customer_id"], payment["saved_payment_method"]) == ("cus_1", "pm_1")
    assert fake.payments.customers == {"guest-1": "cus_1"}
    [authorized] = fake.outbox.of(PaymentAuthorizedV1)
    assert (authorized.payment_id, authorized.booking_id) == (PAYMENT, BOOKING)
    assert authorized.payment_intent_id == payment["payment_intent_id"]
    assert len(fake.outbox.added) == 1


async def test_a_customer_read_from_the_customers_table_is_not_written_again(
    fake: FakeUnitOfWork,
) -> None:
    auth = Authorization("cus_1", intent("requires_capture"), new_customer=False)
    await _record_checkout(fake, auth)
    assert fake.payments.customers == {}  # the statement was not sent
    assert fake.payments.rows[PAYMENT]["customer_id"] == "cus_1"


async def test_a_declined_card_records_a_failed_payment_with_the_banks_reason(
    fake: FakeUnitOfWork,
) -> None:
    declined = intent("declined", decline_code="insufficient_funds", failure_code="card_declined")
    await _record_checkout(fake, Authorization("cus_1", declined))

    payment = fake.payments.rows[PAYMENT]
    assert payment["status"] == PaymentStatus.FAILED
    assert payment["saved_payment_method"] is None
    [failed] = fake.outbox.of(PaymentFailedV1)
    assert (failed.code, failed.decline_code) == ("card_declined", "insufficient_funds")
    assert fake.outbox.of(PaymentAuthorizedV1) == []


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (  # a card PaymentMethod sent as a bank account: Stripe's text is for developers
            stripe.InvalidRequestError(
                "The PaymentMethod provided (card) is not allowed for this PaymentIntent. "
                "Please attach a PaymentMethod of one of the following types: us_bank_account.",
                "payment_method",
            ),
            "The payment could not be made with this payment method.",
        ),
        (  # a card error's message is written for the payer
            stripe.CardError("Your card has expired.", "exp_month", "expired_card"),
            "Your card has expired.",
        ),
    ],
)
async def test_what_the_payer_is_told_of_a_refused_checkout_is_written_for_them(
    fake: FakeUnitOfWork, error: stripe.StripeError, shown: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="payments.card_authorizations"):
        await _record_checkout(fake, Authorization("cus_1", None, error=translate_error(error)))
    # Stripe's text for developers stays in the log, with the payment it was about.
    logged = [r.getMessage() for r in caplog.records if r.name == "payments.card_authorizations"]
    if shown == error.user_message:
        assert logged == []
    else:
        [line] = logged
        assert PAYMENT in line and BOOKING in line and str(error.user_message) in line

    payment = fake.payments.rows[PAYMENT]
    assert payment["status"] == PaymentStatus.FAILED
    assert payment["failure_message"] == shown
    [failed] = fake.outbox.of(PaymentFailedV1)
    assert failed.message == shown


async def test_a_bank_asking_for_authentication_publishes_the_action_not_an_outcome(
    fake: FakeUnitOfWork,
) -> None:
    action = intent("requires_action", client_secret="pi_secret", next_action_type="use_stripe_sdk")
    await _record_checkout(fake, Authorization("cus_1", action))

    assert fake.payments.rows[PAYMENT]["status"] == PaymentStatus.REQUIRES_ACTION
    [required] = fake.outbox.of(PaymentActionRequiredV1)
    assert required.client_secret == "pi_secret"
    assert fake.outbox.of(PaymentAuthorizedV1) == fake.outbox.of(PaymentFailedV1) == []


async def test_a_far_ahead_checkout_saves_the_card_instead_of_authorizing(
    fake: FakeUnitOfWork,
) -> None:
    setup = SetupIntentResult(
        id="seti_1", status="succeeded", payment_method="pm_1", card_brand="visa", card_last4="4242"
    )
    await _record_checkout(fake, Authorization("cus_1", setup), save_for_later=True)

    payment = fake.payments.rows[PAYMENT]
    assert (payment["status"], payment["setup_intent_id"]) == (PaymentStatus.SAVED, "seti_1")
    [saved] = fake.outbox.of(PaymentMethodSavedV1)
    assert saved.setup_intent_id == "seti_1"


async def test_a_capture_marks_the_payment_captured_and_splits_it_once(
    fake: FakeUnitOfWork,
) -> None:
    fake.payments.given(PAYMENT, PaymentStatus.AUTHORIZED, booking_id=BOOKING)
    event = BookingConfirmedV1(
        booking_id=BOOKING, payment_id=PAYMENT, amount=10_000, currency="usd"
    )
    env = envelope(event, BOOKING)
    captured = intent("succeeded")
    await offline_handlers().record_capture(fake.as_uow(), env, event, captured)
    await offline_handlers().record_capture(fake.as_uow(), env, event, captured)  # redelivered

    payment = fake.payments.rows[PAYMENT]
    assert payment["status"] == PaymentStatus.CAPTURED
    assert (payment["captured_amount"], payment["charge_id"]) == (10_000, captured.charge_id)
    [(fact, meta)] = fake.outbox.added
    assert isinstance(fact, PaymentCapturedV2)
    assert [(s.booking_id, s.amount, s.platform_fee) for s in fact.splits] == [
        (BOOKING, 10_000, 1_500)
    ]
    assert (meta["correlation_id"], meta["causation_id"]) == (env.correlation_id, env.event_id)


async def test_a_capture_that_lost_the_compare_and_set_publishes_nothing(
    fake: FakeUnitOfWork,
) -> None:
    # Read while authorized; voided by another delivery before this capture is recorded.
    read = fake.payments.given(PAYMENT, PaymentStatus.AUTHORIZED)
    fake.payments.rows[PAYMENT]["status"] = PaymentStatus.VOIDED

    recorded = await record_captured(
        fake.as_uow(),
        PAYMENT,
        PaymentStatus.AUTHORIZED,
        intent("succeeded"),
        uuid.uuid4(),
        uuid.uuid4(),
        payment=read,
    )

    assert recorded is False
    assert fake.payments.rows[PAYMENT]["status"] == PaymentStatus.VOIDED
    assert fake.outbox.added == []


async def test_a_saved_cards_declined_charge_leaves_it_for_the_guest_to_pay(
    fake: FakeUnitOfWork,
) -> None:
    fake.payments.given(PAYMENT, PaymentStatus.SAVED, booking_id=BOOKING)
    event = BookingConfirmedV1(
        booking_id=BOOKING, payment_id=PAYMENT, amount=10_000, currency="usd"
    )
    declined = intent("declined", decline_code="expired_card", failure_code="card_declined")
    await offline_handlers().record_capture(
        fake.as_uow(), envelope(event, BOOKING), event, declined
    )

    payment = fake.payments.rows[PAYMENT]
    assert (payment["status"], payment["decline_code"]) == (
        PaymentStatus.CHARGE_FAILED,
        "expired_card",
    )
    [failed] = fake.outbox.of(PaymentFailedV1)
    assert (failed.booking_id, failed.code) == (BOOKING, "card_declined")
    assert fake.outbox.of(PaymentCapturedV2) == []


@pytest.mark.parametrize("held", [PaymentStatus.AUTHORIZED, PaymentStatus.REQUIRES_ACTION])
async def test_a_failed_booking_voids_what_its_payment_holds_once(
    fake: FakeUnitOfWork, held: PaymentStatus
) -> None:
    fake.payments.given(PAYMENT, held, booking_id=BOOKING)
    event = BookingFailedV1(booking_id=BOOKING, payment_id=PAYMENT, reason="host_declined")
    env = envelope(event, BOOKING)
    cancelled = intent("canceled")
    await offline_handlers().record_void(fake.as_uow(), env, event, cancelled)
    await offline_handlers().record_void(fake.as_uow(), env, event, cancelled)  # redelivered

    payment = fake.payments.rows[PAYMENT]
    assert (payment["status"], payment["stripe_status"]) == (PaymentStatus.VOIDED, "canceled")
    [voided] = fake.outbox.of(PaymentVoidedV1)
    assert (voided.payment_id, voided.reason, voided.group_id) == (PAYMENT, "host_declined", None)
    assert len(fake.outbox.added) == 1


def _intent_webhook(status: str, **fields: Any) -> dict[str, Any]:
    """A `payment_intent.*` webhook of the payment's intent, as Stripe sends it."""
    obj = {"id": f"pi_{PAYMENT}", "object": "payment_intent", "status": status, **fields}
    return {"id": "evt_1", "type": f"payment_intent.{status}", "data": {"object": obj}}


async def test_a_guest_who_fails_the_banks_authentication_fails_the_payment_once(
    fake: FakeUnitOfWork,
) -> None:
    fake.payments.given(PAYMENT, PaymentStatus.REQUIRES_ACTION, booking_id=BOOKING)
    stripes_text = (
        "The provided PaymentMethod has failed authentication. You can provide "
        "payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again."
    )
    error = {"code": card_actions.AUTHENTICATION_FAILED, "message": stripes_text}
    webhook = _intent_webhook("requires_payment_method", last_payment_error=error)
    for _ in range(2):  # a duplicated webhook finds the payment settled
        payments = await fake.payments.lock_by_intent(f"pi_{PAYMENT}")
        await card_actions.apply_intent_event(fake.as_uow(), webhook, payments)

    payment = fake.payments.rows[PAYMENT]
    assert (payment["status"], payment["failure_code"]) == (
        PaymentStatus.FAILED,
        card_actions.AUTHENTICATION_FAILED,
    )
    [failed] = fake.outbox.of(PaymentFailedV1)
    assert (failed.booking_id, failed.code) == (BOOKING, card_actions.AUTHENTICATION_FAILED)
    assert failed.message == card_actions.AUTHENTICATION_FAILED_SENTENCE  # for the payer
    assert len(fake.outbox.added) == 1


async def test_an_intent_webhook_leaves_a_payment_not_awaiting_authentication_alone(
    fake: FakeUnitOfWork,
) -> None:
    fake.payments.given(PAYMENT, PaymentStatus.AUTHORIZED, booking_id=BOOKING)
    payments = await fake.payments.lock_by_intent(f"pi_{PAYMENT}")
    await card_actions.apply_intent_event(fake.as_uow(), _intent_webhook("canceled"), payments)

    assert fake.payments.rows[PAYMENT]["status"] == PaymentStatus.AUTHORIZED
    assert fake.outbox.added == []
