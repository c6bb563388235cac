"""Disputes keeps its own copy of every captured charge, so a chargeback can be matched
without asking payments at dispute time."""

from __future__ import annotations

import asyncpg

from marketplace_contracts import Envelope
from marketplace_contracts.events.payments import PaymentCapturedV1


async def on_payment_captured(
    conn: asyncpg.Connection, env: Envelope, event: PaymentCapturedV1, _: object
) -> None:
    await conn.execute(
        "INSERT INTO disputes.charges (payment_id, booking_id, payment_intent_id, charge_id, "
        "amount, currency, host_account_id, captured_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) "
        "ON CONFLICT (payment_id) DO NOTHING",
        event.payment_id,
        event.booking_id,
        event.payment_intent_id,
        event.charge_id,
        event.amount,
        event.currency,
        event.host_account_id,
        env.occurred_at,
    )
