"""A bank debit's webhooks (`bank_debits` tells the whole story): settled, returned before it
settled, or returned after (a dispute on a captured debit). Applied by the webhook worker in its
transaction; each change is a compare-and-set on our status, so a duplicated or replayed webhook
changes nothing and emits nothing twice."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from domainkit.rows import from_row
from eventkit.rows import expect_changed
from marketplace_contracts.events.payments import PaymentReturnedV1
from payments.adapters.stripe_gateway import PaymentIntentResult
from payments.domain.checkout import US_BANK_ACCOUNT
from payments.domain.payment import PaymentStatus, PaymentTrigger
from payments.domain.refunds import Refunded
from payments.service_layer import lifecycle
from payments.service_layer.bank_debits import DEFAULT_RETURN_WINDOW
from payments.service_layer.captures import record_captured
from payments.service_layer.unit_of_work import UnitOfWork

log = logging.getLogger("payments.bank_debits")
_NAMESPACE = uuid.UUID("0b8f3f3e-5c1e-4d8a-a7d4-6a5f2e1c9b70")  # bank_debits' namespace


def _webhook_causation(stripe_event_id: str) -> uuid.UUID:
    """A deterministic causation id for what a Stripe event caused."""
    return uuid.uuid5(_NAMESPACE, f"stripe-event:{stripe_event_id}")


async def apply_intent_event(
    uow: UnitOfWork,
    event: dict[str, Any],
    payments: Sequence[Mapping[str, Any]],
    return_window: timedelta = DEFAULT_RETURN_WINDOW,
) -> None:
    """A bank debit settled (`payment_intent.succeeded`) or was returned before it did
    (`payment_intent.payment_failed`); anything else, or a card intent, changes nothing here.
    `payments`: the intent's payments, locked by the caller."""
    intent = event["data"]["object"]
    if event["type"] not in ("payment_intent.succeeded", "payment_intent.payment_failed"):
        return
    payment = next((p for p in payments if p["payment_method_type"] == US_BANK_ACCOUNT), None)
    if payment is None or payment["status"] != PaymentStatus.PROCESSING:
        return  # not a debit, or settled already (a duplicated or replayed webhook)
    at = datetime.fromtimestamp(event["created"], UTC)
    causation = _webhook_causation(event["id"])
    if event["type"] == "payment_intent.succeeded":
        await _settled(uow, payment, intent, at, at + return_window, causation)
    else:
        error = intent.get("last_payment_error") or {}
        await _returned(
            uow,
            payment,
            code=error.get("code") or "bank_debit_failed",
            message=error.get("message") or "",
            after_capture=False,
            at=at,
            causation_id=causation,
            stripe_status=intent["status"],
        )


async def _settled(
    uow: UnitOfWork,
    payment: asyncpg.Record,
    intent: dict[str, Any],
    succeeded_at: datetime,
    hold_until: datetime,
    causation_id: uuid.UUID,
) -> None:
    charge = intent.get("latest_charge")
    charge_id = charge.get("id") if isinstance(charge, dict) else charge
    expect_changed(  # the caller locked it
        await uow.bank_debits.record_settlement(payment["payment_id"], succeeded_at, hold_until),
        f"settlement of bank debit {payment['payment_id']}",
    )
    result = PaymentIntentResult(
        id=intent["id"],
        status=intent["status"],
        amount=intent["amount"],
        amount_capturable=intent.get("amount_capturable") or 0,
        amount_received=intent.get("amount_received") or intent["amount"],
        currency=intent["currency"],
        charge_id=charge_id,
        card_brand=None,
        card_last4=None,
        transfer_group=intent.get("transfer_group"),
        bank_name=payment["bank_name"],
        bank_last4=payment["bank_last4"],
    )
    await record_captured(
        uow,
        payment["payment_id"],
        PaymentStatus.PROCESSING,
        result,
        payment["correlation_id"],
        causation_id,
        trigger=PaymentTrigger.DEBIT_SETTLED,
    )


async def _returned(
    uow: UnitOfWork,
    payment: asyncpg.Record,
    *,
    code: str,
    message: str,
    after_capture: bool,
    at: datetime,
    causation_id: uuid.UUID,
    stripe_status: str | None = None,
    dispute_id: str | None = None,
    returned: tuple[int, int, int] | None = None,
) -> None:
    """`returned`: what Stripe took back after capture (amount, platform fee, tax), when it is
    not the whole capture (a return of a debit refunded before)."""
    changes: dict[str, Any] = {
        "returned_at": at,
        "return_code": code,
        "failure_code": code,
        "failure_message": message,
    }
    if stripe_status is not None:
        changes["stripe_status"] = stripe_status
    split: dict[str, int] = {}
    if returned is not None:
        split = dict(zip(("amount", "platform_fee", "tax"), returned, strict=True))
    else:
        split["amount"] = payment["captured_amount"] if after_capture else payment["amount"]
    returned_event = from_row(
        PaymentReturnedV1,
        payment,
        **split,
        code=code,
        message=message,
        after_capture=after_capture,
        dispute_id=dispute_id,
    )
    # Both callers locked the debit and checked its status: nobody else can move it.
    await lifecycle.apply_locked(
        uow,
        payment,
        PaymentTrigger.DEBIT_RETURNED,
        {PaymentReturnedV1.TYPE: lambda: returned_event},
        lifecycle.Cause(payment["correlation_id"], causation_id),
        **changes,
    )
    log.warning(
        "bank debit %s returned (%s, after capture: %s)", payment["payment_id"], code, after_capture
    )


class SettlementPending(Exception):
    """A bank debit's return arrived before its settlement: the stored event waits for it."""


async def apply_dispute(uow: UnitOfWork, event: dict[str, Any]) -> None:
    """`charge.dispute.created` on a captured bank debit: the bank returned it after it
    succeeded (a card's dispute is not this module's)."""
    if event["type"] != "charge.dispute.created":
        return
    dispute = event["data"]["object"]
    charge = dispute.get("charge")
    charge_id = charge.get("id") if isinstance(charge, dict) else charge
    intent = dispute.get("payment_intent")
    intent_id = intent.get("id") if isinstance(intent, dict) else intent
    payment = await uow.bank_debits.lock_debit_by_charge(charge_id, intent_id)
    if payment is not None and payment["status"] == PaymentStatus.PROCESSING:
        # Stripe does not order its events: the return came before the settlement it returns
        # (a charge is disputed only once it succeeded). Applied once the settlement is.
        raise SettlementPending(f"dispute {dispute.get('id')} before {payment['payment_id']}")
    if payment is None or payment["status"] != PaymentStatus.CAPTURED:
        return
    await _returned(
        uow,
        payment,
        code=dispute.get("reason") or "debit_disputed",
        message=f"dispute {dispute.get('id')}",
        after_capture=True,
        at=datetime.fromtimestamp(event["created"], UTC),
        causation_id=_webhook_causation(event["id"]),
        dispute_id=dispute.get("id"),
        returned=await _left_of(uow, payment, int(dispute.get("amount") or 0)),
    )


async def _left_of(
    uow: UnitOfWork, payment: asyncpg.Record, taken: int
) -> tuple[int, int, int] | None:
    """What the return takes back when refunds came before it: Stripe's dispute takes what was
    left of the debit (`taken`), with the fee and tax still in it; None when nothing was
    refunded (the whole capture, as it was booked)."""
    per_booking = await uow.refunds.refunded_by_booking(payment["payment_id"])
    back = sum(per_booking.values(), Refunded())
    if back.amount == 0:
        return None
    left = max((payment["captured_amount"] or payment["amount"]) - back.amount, 0)
    fee_left = max((payment["platform_fee"] or 0) - back.platform_fee, 0)
    tax_left = min(max((payment["tax"] or 0) - back.tax, 0), fee_left)
    amount = min(taken, left)
    if left == 0 or amount == 0:
        return 0, 0, 0
    fee = fee_left * amount // left
    return amount, fee, min(tax_left * amount // left, fee)
