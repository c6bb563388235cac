"""SQL for security deposits: the card saved for a booking's deposit."""

from __future__ import annotations

import asyncpg

from payments.adapters.repository import PaymentsDB


class DepositsRepository:
    """Security deposits, on a connection (inside the caller's transaction: a unit of work's)
    or on the pool (a read)."""

    def __init__(self, db: PaymentsDB) -> None:
        self.db = db

    async def deposit_card(self, payment_id: str) -> asyncpg.Record | None:
        """The customer and payment method saved for the payment's deposit."""
        return await self.db.fetchrow(
            "SELECT customer_id, payment_method FROM payments.deposits WHERE payment_id = $1",
            payment_id,
        )

    async def deposit_setup_intent(self, payment_id: str) -> str | None:
        value: str | None = await self.db.fetchval(
            "SELECT setup_intent_id FROM payments.deposits WHERE payment_id = $1", payment_id
        )
        return value

    async def insert_deposit(
        self,
        *,
        payment_id: str,
        booking_id: str,
        setup_intent_id: str,
        payment_method: str,
        customer_id: str,
        amount: int,
        currency: str,
    ) -> bool:
        """False when the checkout's deposit is recorded already (a redelivered request)."""
        status = await self.db.execute(
            "INSERT INTO payments.deposits (payment_id, booking_id, setup_intent_id, "
            "payment_method, customer_id, amount, currency) VALUES ($1, $2, $3, $4, $5, $6, $7) "
            "ON CONFLICT (payment_id) DO NOTHING",
            payment_id,
            booking_id,
            setup_intent_id,
            payment_method,
            customer_id,
            amount,
            currency,
        )
        return bool(status == "INSERT 0 1")

    async def release_deposit(self, payment_id: str, charged: int, reason: str | None) -> bool:
        """Compare-and-set secured → released, recording what was charged against it (at most its
        amount); False when released already or there is no deposit."""
        status = await self.db.execute(
            "UPDATE payments.deposits SET status = 'released', charged = LEAST($2, amount), "
            "release_reason = $3, released_at = now() "
            "WHERE payment_id = $1 AND status = 'secured'",
            payment_id,
            charged,
            reason,
        )
        return bool(status == "UPDATE 1")
