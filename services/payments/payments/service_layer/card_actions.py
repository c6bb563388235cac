"""3-D Secure at checkout: the bank wants the guest to authenticate before authorizing.

The authorization then comes back `requires_action`. Payments records the payment as
`requires_action` and emits `payments.payment_action_required` with the intent's
`client_secret`. Booking shows it to the guest as the booking's `next_action`, and the client
finishes the step with Stripe.js (`stripe.handleNextAction({clientSecret})`). Stripe reports
the outcome by webhook; the webhook worker applies it here, in the transaction that marks the
webhook processed:

- the intent is `requires_capture`: the payment is `authorized` (`payments.payment_authorized`);
- the intent `succeeded` (a checkout charged at once): the payment is `captured`
  (`payments.payment_captured`, naming the card);
- the intent is back in `requires_payment_method` (the guest failed or abandoned the step) or
  `canceled`: the payment `failed` (`payments.payment_failed`, code
  `payment_intent_authentication_failure` or Stripe's).

Only a payment still in `requires_action` moves, so a duplicate or late webhook changes
nothing. A guest who never finishes is released by booking's checkout hold; its
`booking_failed` voids the intent (`handlers.void`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg

from domainkit.rows import from_row
from marketplace_contracts import EventModel
from marketplace_contracts.events.payments import (
    PaymentActionRequiredV1,
    PaymentAuthorizedV1,
    PaymentFailedV1,
)
from payments.adapters.stripe_gateway import PaymentIntentResult
from payments.adapters.stripe_intents import intent_result
from payments.domain.checkout import Checkout
from payments.domain.payment import PaymentStatus, PaymentTrigger
from payments.service_layer import captures, lifecycle
from payments.service_layer.unit_of_work import UnitOfWork

log = logging.getLogger("payments.card_actions")
AUTHENTICATION_FAILED = "payment_intent_authentication_failure"
AUTHENTICATION_FAILED_SENTENCE = "The card's bank did not confirm this payment."


def action_required(checkout: Checkout, result: PaymentIntentResult) -> PaymentActionRequiredV1:
    return PaymentActionRequiredV1(
        payment_id=checkout.payment_id,
        booking_id=checkout.booking_id,
        group_id=checkout.group_id,
        payment_intent_id=result.id,
        action_type=result.next_action_type or "use_stripe_sdk",
        client_secret=result.client_secret or "",
        redirect_url=result.redirect_url,
    )


def _id(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.get("id") if isinstance(value, dict) else None


async def apply_intent_event(
    uow: UnitOfWork,
    event: dict[str, Any],
    payments: Sequence[Mapping[str, Any]],
) -> None:
    """Settle a payment waiting for the guest's authentication from its intent's webhook
    (`payments`: the intent's payments, locked by the caller)."""
    intent = event["data"]["object"]
    payment = next((p for p in payments if p["status"] == PaymentStatus.REQUIRES_ACTION), None)
    if payment is None:
        return
    status = intent.get("status")
    if status == "requires_capture":
        await _authenticated(uow, payment, intent)
    elif status == "succeeded":  # a checkout charged at once (`capture_at_checkout`)
        await _charged(uow, payment, intent)
    elif status in ("requires_payment_method", "canceled"):
        await _authentication_failed(uow, payment, intent)
    # else: still requires_action, or a status this flow does not end on


async def _settle(
    uow: UnitOfWork,
    payment: asyncpg.Record,
    trigger: PaymentTrigger,
    event: EventModel,
    **columns: Any,
) -> None:
    """Move the `payment` (locked by the caller while still awaiting the guest: nobody else can
    move it) and publish `event`, the one `trigger` declares: in the checkout's saga, caused by
    a webhook (no event)."""
    builders = {event.TYPE: lambda: event}
    cause = lifecycle.Cause(payment["correlation_id"])
    await lifecycle.apply_locked(uow, payment, trigger, builders, cause, **columns)


async def _authenticated(uow: UnitOfWork, payment: asyncpg.Record, intent: dict[str, Any]) -> None:
    deposit = await uow.deposits.deposit_setup_intent(payment["payment_id"])
    authorized = from_row(
        PaymentAuthorizedV1,
        payment,
        payment_intent_id=intent["id"],
        deposit_setup_intent_id=deposit,
    )
    method = _id(intent.get("payment_method")) or payment["saved_payment_method"]
    changes = {"stripe_status": intent["status"], "saved_payment_method": method}
    await _settle(uow, payment, PaymentTrigger.AUTHENTICATED, authorized, **changes)
    log.info("payment %s authorized after the guest authenticated", payment["payment_id"])


async def _charged(uow: UnitOfWork, payment: asyncpg.Record, intent: dict[str, Any]) -> None:
    result = intent_result(intent)
    splits = captures.splits_of(payment, result)
    captured = captures.payment_captured(payment, result, splits, with_card=True)
    method = _id(intent.get("payment_method")) or payment["saved_payment_method"]
    changes = {
        "stripe_status": intent["status"],
        "saved_payment_method": method,
        "captured_amount": result.amount_received,
        "charge_id": result.charge_id,
        "three_d_secure": True,
    }
    await _settle(uow, payment, PaymentTrigger.CAPTURE, captured, **changes)
    log.info("payment %s captured after the guest authenticated", payment["payment_id"])


async def _authentication_failed(
    uow: UnitOfWork, payment: asyncpg.Record, intent: dict[str, Any]
) -> None:
    status = intent["status"]
    error = intent.get("last_payment_error") or {}
    code = error.get("code") or (
        "payment_intent_canceled" if status == "canceled" else AUTHENTICATION_FAILED
    )
    # The payer reads it (booking's `failure_detail`): Stripe's text of this error is written
    # for developers ("You can provide payment_method_data ..."); it stays in the log.
    message = AUTHENTICATION_FAILED_SENTENCE
    if error.get("message"):
        log.info("payment %s: Stripe says %s", payment["payment_id"], error["message"])
    failed = PaymentFailedV1(
        payment_id=payment["payment_id"],
        booking_id=payment["booking_id"],
        code=code,
        message=message,
        group_id=payment["group_id"],
        purpose=payment["payment_purpose"],
        subject_id=payment["subject_id"],
    )
    changes = {"stripe_status": status, "failure_code": code, "failure_message": message}
    await _settle(uow, payment, PaymentTrigger.AUTHENTICATION_FAILED, failed, **changes)
    log.info("payment %s failed: authentication %s", payment["payment_id"], code)
