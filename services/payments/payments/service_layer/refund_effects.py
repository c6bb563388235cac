"""What a refund's outcome does to its payment, recorded with the refund (`refunds.record`):
a refund adds to `refunded_amount`; a void or a smaller capture moves an authorized payment; a
saved card not charged yet is never charged (a cancellation) or charged less (an amendment)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from payments.adapters.stripe_gateway import PaymentIntentResult
from payments.domain.checkout import Split
from payments.domain.payment import Payment, PaymentStatus, PaymentTrigger
from payments.domain.refunds import (
    AMENDMENT,
    NOT_CHARGED_YET,
    PARTIAL_CAPTURE,
    REFUND,
    VOID,
    PaymentState,
    RefundOrder,
    lowered_charge,
)
from payments.service_layer import lifecycle
from payments.service_layer.captures import record_captured
from payments.service_layer.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class RefundOutcome:
    """How a refund ended, for `record` to write down with its event."""

    order: RefundOrder
    succeeded: bool
    method: str | None
    stripe_refund_id: str | None = None
    intent: PaymentIntentResult | None = None
    """The PaymentIntent after a void or a smaller capture."""
    capture_splits: tuple[Split, ...] = ()
    code: str | None = None
    message: str = ""


async def apply_to_payment(
    uow: UnitOfWork,
    outcome: RefundOutcome,
    payment: PaymentState | None,
    correlation_id: uuid.UUID,
    causation_id: uuid.UUID,
) -> None:
    order = outcome.order
    cause = lifecycle.Cause(correlation_id, causation_id)
    if outcome.method == REFUND:
        await uow.refunds.add_refunded(order.payment_id, order.amount)
    elif outcome.method == VOID:
        assert outcome.intent is not None
        # refund_succeeded (`refunds.record`) announces it: the trigger declares no event.
        await lifecycle.apply(
            uow,
            Payment(order.payment_id, PaymentStatus.AUTHORIZED),
            PaymentTrigger.REFUND_VOID,
            {},
            cause,
            stripe_status=outcome.intent.status,
        )
    elif outcome.method == PARTIAL_CAPTURE:
        assert outcome.intent is not None
        await record_captured(
            uow,
            order.payment_id,
            PaymentStatus.AUTHORIZED,
            outcome.intent,
            correlation_id,
            causation_id,
            splits=outcome.capture_splits,
        )
    elif payment is not None and payment.group_id is None and payment.status in NOT_CHARGED_YET:
        rest = lowered_charge(order, payment) if order.cause == AMENDMENT else ()
        if not rest:
            # A cancelled booking must never be charged: its saved card will not be.
            saved = Payment(order.payment_id, PaymentStatus(payment.status))
            await lifecycle.apply(uow, saved, PaymentTrigger.CANCEL, {}, cause)
            return
        # An amended booking's saved card is charged the lower price instead.
        [split] = rest
        await uow.refunds.lower_charge(
            order.payment_id,
            payment.status,
            amount=split.amount,
            platform_fee=split.platform_fee,
            tax=split.tax,
        )
