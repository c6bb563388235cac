"""Recording a successful charge: one place, whichever way the money was taken."""

from __future__ import annotations

import uuid

import asyncpg

from eventkit.outbox import Outbox
from marketplace_contracts.events.payments import PaymentCapturedV1
from payments.adapters import repository
from payments.adapters.stripe_gateway import PaymentIntentResult


async def record_captured(
    conn: asyncpg.Connection,
    outbox: Outbox,
    payment_id: str,
    from_status: str,
    result: PaymentIntentResult,
    correlation_id: uuid.UUID,
    causation_id: uuid.UUID,
) -> bool:
    """Mark the payment captured (if still `from_status`) and emit payment_captured."""
    payment = await repository.get_payment(conn, payment_id)
    assert payment is not None
    captured = result.amount_received
    if not await repository.transition(
        conn,
        payment_id,
        from_status,
        status="captured",
        captured_amount=captured,
        charge_id=result.charge_id,
        stripe_status=result.status,
        payment_intent_id=result.id,
    ):
        return False
    await outbox.add(
        conn,
        PaymentCapturedV1(
            payment_id=payment_id,
            booking_id=payment["booking_id"],
            payment_intent_id=result.id,
            charge_id=result.charge_id,
            amount=captured,
            currency=payment["currency"],
            platform_fee=payment["platform_fee"],
            host_amount=captured - payment["platform_fee"],
            host_account_id=payment["host_account_id"],
        ),
        key=payment_id,
        correlation_id=correlation_id,
        causation_id=causation_id,
    )
    return True
