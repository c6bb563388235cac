"""SQL for bank debits (ACH Direct Debit): their payment rows, settlement and returns."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from payments.adapters.repository import PaymentsDB, claim_batch
from payments.domain.checkout import US_BANK_ACCOUNT
from payments.domain.payment import PaymentStatus


class BankDebitsRepository:
    """Bank debits' payment rows, on a connection (inside the caller's transaction: a unit of
    work's) or on the pool."""

    def __init__(self, db: PaymentsDB) -> None:
        self.db = db

    async def lock_debit_by_charge(
        self, charge_id: str | None, intent_id: str | None
    ) -> asyncpg.Record | None:
        """The bank debit a dispute names (by its charge, else its intent), locked."""
        row: asyncpg.Record | None = await self.db.fetchrow(
            "SELECT * FROM payments.payments WHERE payment_method_type = $1 "
            "AND (charge_id = $2 OR payment_intent_id = $3) FOR UPDATE",
            US_BANK_ACCOUNT,
            charge_id,
            intent_id,
        )
        return row

    async def record_settlement(
        self, payment_id: str, succeeded_at: datetime, hold_until: datetime
    ) -> bool:
        """When the debit succeeded and until when the bank may still return it."""
        status = await self.db.execute(
            "UPDATE payments.payments SET succeeded_at = $2, funds_hold_until = $3 "
            "WHERE payment_id = $1",
            payment_id,
            succeeded_at,
            hold_until,
        )
        return bool(status == "UPDATE 1")

    async def claim_cleared(self, now: datetime, limit: int) -> list[asyncpg.Record]:
        """Mark (once) the captured debits whose return window has passed; the marked rows."""
        return await claim_batch(
            self.db,
            now,
            limit,
            PaymentStatus.CAPTURED,
            mark="funds_cleared_at = $1",
            due="funds_hold_until IS NOT NULL AND funds_cleared_at IS NULL "
            "AND returned_at IS NULL AND funds_hold_until <= $1",
            oldest_first="funds_hold_until",
            returning="payment_id, booking_id, captured_amount, currency, correlation_id, "
            "funds_cleared_at",
        )

    async def insert_repay(
        self,
        returned: asyncpg.Record,
        *,
        repay_id: str,
        purpose: str,
        payment_method: str,
    ) -> bool:
        """The card payment that replaces a returned debit, `charge_failed` (not paid) until
        its attempt's outcome is recorded; False when an earlier attempt created it."""
        status = await self.db.execute(
            "INSERT INTO payments.payments (payment_id, booking_id, purpose, guest_id, amount, "
            "platform_fee, tax, currency, host_account_id, payment_method, customer_id, "
            "status, correlation_id, replaces_payment_id, transfer_group) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $14, $12, $13, $2) "
            "ON CONFLICT (payment_id) DO NOTHING",
            repay_id,
            returned["booking_id"],
            purpose,
            returned["guest_id"],
            returned["amount"],
            returned["platform_fee"],
            returned["tax"],
            returned["currency"],
            returned["host_account_id"],
            payment_method,
            returned["customer_id"],
            returned["correlation_id"],
            returned["payment_id"],
            PaymentStatus.CHARGE_FAILED,
        )
        return bool(status == "INSERT 0 1")
