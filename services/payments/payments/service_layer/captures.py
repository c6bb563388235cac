"""Recording a successful charge: one place, whichever way the money was taken."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from domainkit.rows import from_attrs
from eventkit.routing import PermanentError
from marketplace_contracts.events.payments import PaymentCapturedV2, PaymentSplit
from payments.adapters import repository
from payments.adapters.stripe_gateway import PaymentIntentResult
from payments.domain.checkout import InvalidCheckout, Split, check_splits
from payments.domain.payment import Payment, PaymentStatus, PaymentTrigger
from payments.service_layer import lifecycle
from payments.service_layer.unit_of_work import UnitOfWork


async def record_captured(
    uow: UnitOfWork,
    payment_id: str,
    from_status: str,
    result: PaymentIntentResult,
    correlation_id: uuid.UUID,
    causation_id: uuid.UUID,
    splits: tuple[Split, ...] | None = None,
    trigger: PaymentTrigger = PaymentTrigger.CAPTURE,
    payment: Mapping[str, Any] | None = None,
) -> bool:
    """Mark the payment captured (if still `from_status`) and emit payment_captured v2, with
    one split per booking it paid for: those recorded at checkout, or `splits` when less than
    the whole authorization was captured (a refund taken out before the capture). `payment`:
    its row, when the caller read it in this transaction already (one read fewer)."""
    if payment is None:
        payment = await uow.payments.get_payment(payment_id)
    assert payment is not None
    captured = result.amount_received
    if splits is None:
        splits = splits_of(payment, result)
    else:
        try:
            check_splits(splits, amount=captured, platform_fee=sum(s.platform_fee for s in splits))
        except InvalidCheckout as exc:
            raise PermanentError(f"capture of {payment_id} cannot be split: {exc}") from exc
    done = await lifecycle.apply(
        uow,
        Payment(payment_id, PaymentStatus(from_status)),
        trigger,
        {PaymentCapturedV2.TYPE: lambda: payment_captured(payment, result, splits)},
        lifecycle.Cause(correlation_id, causation_id),
        captured_amount=captured,
        charge_id=result.charge_id,
        stripe_status=result.status,
        payment_intent_id=result.id,
        three_d_secure=result.three_d_secure,
    )
    return done is not None


def splits_of(payment: Mapping[str, Any], result: PaymentIntentResult) -> tuple[Split, ...]:
    """What each booking the payment row paid for got of what `result` captured, as recorded
    at checkout; raises PermanentError when that cannot be split."""
    try:
        return repository.captured_splits_of(payment, result.amount_received)
    except InvalidCheckout as exc:
        raise PermanentError(f"capture of {payment['payment_id']} cannot be split: {exc}") from exc


def payment_captured(
    payment: Mapping[str, Any],
    result: PaymentIntentResult,
    splits: tuple[Split, ...],
    *,
    with_card: bool = False,
) -> PaymentCapturedV2:
    """payment_captured v2 of a payment row. An extra charge (amendment, overtime) answers its
    charge request and is its booking's, also for a group leg: `booking_id` is the leg and
    `group_id` stays empty (`transfer_group` names the group's transfers). `with_card`: a
    checkout charged at once names its card (booking confirms on this event, not on an
    authorization that would have named it)."""
    charge_request_id = payment["charge_request_id"]
    card: dict[str, str | None] = {}
    if with_card:
        card = {
            "card_brand": result.card_brand or payment.get("card_brand"),
            "card_last4": result.card_last4 or payment.get("card_last4"),
        }
    return PaymentCapturedV2(
        payment_id=payment["payment_id"],
        booking_id=payment["booking_id"],
        group_id=None if charge_request_id else payment["group_id"],
        payment_intent_id=result.id,
        charge_id=result.charge_id,
        amount=result.amount_received,
        currency=payment["currency"],
        platform_fee=sum(s.platform_fee for s in splits),
        splits=[from_attrs(PaymentSplit, s) for s in splits],
        transfer_group=payment["transfer_group"],
        charge_request_id=charge_request_id,
        # A bank debit can still be returned: finance holds the payout until then.
        payment_method_type=payment.get("payment_method_type") or "card",
        funds_hold_until=payment.get("funds_hold_until"),
        purpose=payment.get("payment_purpose"),
        subject_id=payment.get("subject_id"),
        **card,
    )
