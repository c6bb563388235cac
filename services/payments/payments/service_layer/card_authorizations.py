"""A card checkout's authorization, recorded once: the payment row and the event it makes
(authorized, captured for a checkout charged at once, action required for 3-D Secure, or
failed), in the consumer's transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, TypeVar

from domainkit.rows import from_attrs
from marketplace_contracts import Envelope, EventModel
from marketplace_contracts.events.payments import (
    PaymentAuthorizedV1,
    PaymentCapturedV2,
    PaymentFailedV1,
)
from payments import metrics
from payments.adapters import repository
from payments.adapters.stripe_gateway import (
    PaymentIntentResult,
    SetupIntentResult,
    StripeGatewayError,
)
from payments.domain.checkout import Checkout
from payments.domain.payment import REFUSED_SENTENCE, authorization_outcome
from payments.service_layer import captures, card_actions
from payments.service_layer.deposits import Deposits
from payments.service_layer.unit_of_work import UnitOfWork

E = TypeVar("E", bound=EventModel)
log = logging.getLogger("payments.card_authorizations")


async def record_attempt(
    uow: UnitOfWork, env: Envelope, checkout: Checkout, row: dict[str, Any]
) -> dict[str, Any] | None:
    """Insert a checkout's payment row as Stripe answered (once) and count the attempt; the
    outbox metadata of the events announcing it, or None when a redelivery found it recorded."""
    if not await uow.payments.insert_payment(row):
        return None
    metrics.charge_attempted(checkout.payment_method_type, row["status"], row["decline_code"])
    return {
        "key": checkout.payment_id,
        "correlation_id": env.correlation_id,
        "causation_id": env.event_id,
    }


@dataclass(frozen=True)
class Authorization:
    """What Stripe answered a checkout, to be recorded: the guest's customer and the intent
    (a PaymentIntent, or the SetupIntent that saved the card), or its refusal (`error`, with
    `result` None)."""

    customer_id: str | None
    result: PaymentIntentResult | SetupIntentResult | None
    error: StripeGatewayError | None = None
    deposit: SetupIntentResult | None = None  # the card saved for a security deposit
    new_customer: bool = True  # False: `customer_id` is the one payments.customers holds

    @property
    def payment_intent(self) -> PaymentIntentResult | None:
        """The result of a checkout that authorizes a card or debits a bank account."""
        assert self.result is None or isinstance(self.result, PaymentIntentResult)
        return self.result

    @property
    def setup_intent(self) -> SetupIntentResult | None:
        """The result of a checkout that saves its card for later (`save_for_later`)."""
        assert self.result is None or isinstance(self.result, SetupIntentResult)
        return self.result


async def record_card_authorization(
    uow: UnitOfWork,
    deposits: Deposits,
    env: Envelope,
    checkout: Checkout,
    auth: Authorization,
) -> None:
    """Stripe refused the call: `auth.error`. A redelivery inserts nothing."""
    result = auth.payment_intent
    # Charged at once (`capture_at_checkout`): captured, not held.
    captured = result is not None and not result.declined and result.status == "succeeded"
    ok = captured or (
        result is not None and not result.declined and result.status == "requires_capture"
    )
    # The bank wants the guest to authenticate (3-D Secure): neither authorized nor failed
    # yet; the webhook of the intent decides (`card_actions`).
    action = result is not None and result.status == "requires_action"
    row = {
        **attempt_columns(env, checkout, auth, ok=ok or action),
        "status": authorization_outcome(ok, action, captured=captured),
        "payment_intent_id": result.id if result else None,
        "stripe_status": result.stripe_status if result else None,
        "card_brand": result.card_brand if result else None,
        "card_last4": result.card_last4 if result else None,
        "saved_payment_method": result.payment_method if (ok or action) and result else None,
    }
    if captured:
        assert result is not None
        row |= {"captured_amount": result.amount_received, "charge_id": result.charge_id}
    meta = await record_attempt(uow, env, checkout, row)
    if meta is None:
        return
    if action:
        assert result is not None
        await deposits.record(uow, checkout, auth.customer_id, auth.deposit)
        await uow.emit(card_actions.action_required(checkout, result), **meta)
    elif captured:
        assert result is not None
        await deposits.record(uow, checkout, auth.customer_id, auth.deposit)
        await uow.emit(charged_at_checkout(row, result), **meta)
    elif ok:
        assert result is not None
        deposit_setup = await deposits.record(uow, checkout, auth.customer_id, auth.deposit)
        authorized = card_fact(
            PaymentAuthorizedV1,
            checkout,
            result,
            payment_intent_id=result.id,
            deposit_setup_intent_id=deposit_setup,
        )
        await uow.emit(authorized, **meta)
    else:
        await uow.emit(checkout_failed(checkout, row, "authorization_failed"), **meta)


def charged_at_checkout(row: dict[str, Any], result: PaymentIntentResult) -> PaymentCapturedV2:
    """payment_captured of a checkout charged at once (its payment `row` as inserted)."""
    payment = {**row, "charge_request_id": None}
    splits = captures.splits_of(payment, result)
    return captures.payment_captured(payment, result, splits, with_card=True)


def attempt_columns(
    env: Envelope,
    checkout: Checkout,
    auth: Authorization,
    *,
    ok: bool,
    status_is_code: bool = False,
) -> dict[str, Any]:
    """The columns every checkout's payment row has, as Stripe answered its attempt: the
    checkout's, the customer (what an off-session charge of the booking needs later), and why
    it failed (nothing when `ok`). Each kind adds its status, its intent, the card or the bank
    account."""
    if not ok and auth.error is not None and auth.error.customer_message is None:
        # The payer is shown REFUSED_SENTENCE (`_failure_columns`); Stripe's own text is kept
        # here, with the ids support looks for.
        log.warning(
            "stripe refused payment %s of booking %s: %s: %s (request %s)",
            checkout.payment_id,
            checkout.booking_id,
            auth.error.code,
            auth.error.message,
            auth.error.request_id,
        )
    return {
        **repository.checkout_payment(checkout, env.correlation_id),
        "customer_id": auth.customer_id,
        **_failure_columns(auth.result, auth.error, ok=ok, status_is_code=status_is_code),
    }


def _failure_columns(
    result: PaymentIntentResult | SetupIntentResult | None,
    error: StripeGatewayError | None,
    *,
    ok: bool,
    status_is_code: bool = False,
) -> dict[str, str | None]:
    """Why a checkout's attempt failed, as its payment row records it: Stripe's refusal of the
    call (`error`) or its answer's decline (`result`); no code nor message when `ok`.
    `status_is_code`: an answer that gives no failure code fails with its status (a card
    setup left `requires_action`)."""
    code = message = None
    if not ok and error is not None:
        # The payer sees this (booking's `failure_detail`): Stripe's developer text of a
        # refused request (a wrong parameter, a payment method of another type) is logged.
        code, message = error.code, error.customer_message or REFUSED_SENTENCE
    elif not ok and result is not None:
        code = result.failure_code
        if status_is_code:
            code = code or result.status
        message = result.failure_message
    return {
        "failure_code": code,
        "decline_code": result.decline_code if result else None,
        "failure_message": message,
    }


def card_fact(
    fact: type[E],
    checkout: Checkout,
    result: PaymentIntentResult | SetupIntentResult,
    **given: Any,
) -> E:
    """An event of the card a checkout paid or saved with: the checkout's ids (and amounts),
    the card as Stripe answered, and what else the event names (`given`)."""
    return from_attrs(
        fact, checkout, card_brand=result.card_brand, card_last4=result.card_last4, **given
    )


def checkout_failed(checkout: Checkout, row: Any, default_code: str) -> PaymentFailedV1:
    """A checkout's payment that failed at Stripe, as recorded (`row`: its failure columns);
    `default_code` when Stripe gave none (an authorization's, a card setup's, a debit's)."""
    return PaymentFailedV1(
        payment_id=checkout.payment_id,
        booking_id=checkout.booking_id,
        code=row["failure_code"] or default_code,
        decline_code=row["decline_code"],
        message=row["failure_message"] or "",
        group_id=checkout.group_id,
        purpose=checkout.purpose,
    )
