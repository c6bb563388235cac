"""SQL for refunds (asyncpg, on the caller's connection or pool)."""

from __future__ import annotations

import uuid

import asyncpg

from domainkit.rows import from_row
from payments.adapters.repository import PaymentsDB, splits_of
from payments.domain.disputes import REFUND_BLOCKING
from payments.domain.refunds import MONEY_METHODS, PaymentState, Refunded, RefundOrder

_MESSAGE_LIMIT = 2000


class RefundsRepository:
    """Refunds (and what a refund changes of its payment row), on a connection (inside the
    caller's transaction: a unit of work's) or on the pool (a statement of its own: the refund's
    row between tries)."""

    def __init__(self, db: PaymentsDB) -> None:
        self.db = db

    async def open_refund(
        self, order: RefundOrder, correlation_id: uuid.UUID, source_event_id: uuid.UUID
    ) -> asyncpg.Record:
        """The refund's row, created `pending` by its first request (a later request with the same
        id finds the first one's)."""
        await self.db.execute(
            "INSERT INTO payments.refunds (refund_id, payment_id, booking_id, group_id, amount, "
            "currency, platform_fee, host_amount, tax, host_account_id, lines, correlation_id, "
            "source_event_id, cause, subject_id) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13, $14, $15) "
            "ON CONFLICT (refund_id) DO NOTHING",
            order.refund_id,
            order.payment_id,
            order.booking_id,
            order.group_id,
            order.amount,
            order.currency,
            order.platform_fee,
            order.host_amount,
            order.tax,
            order.host_account_id,
            order.line_items,
            correlation_id,
            source_event_id,
            order.cause,
            order.subject_id,
        )
        row = await self.get_refund(order.refund_id)
        assert row is not None
        return row

    async def get_refund(
        self, refund_id: str, *, for_update: bool = False
    ) -> asyncpg.Record | None:
        lock = " FOR UPDATE" if for_update else ""
        return await self.db.fetchrow(
            f"SELECT * FROM payments.refunds WHERE refund_id = $1{lock}", refund_id
        )

    async def count_attempt(self, refund_id: str) -> int:
        """One more attempt at a pending refund; returns how many there have been."""
        attempts: int = await self.db.fetchval(
            "UPDATE payments.refunds SET attempts = attempts + 1, updated_at = now() "
            "WHERE refund_id = $1 RETURNING attempts",
            refund_id,
        )
        return attempts

    async def note_error(self, refund_id: str, code: str, message: str) -> None:
        await self.db.execute(
            "UPDATE payments.refunds SET last_error = $2, updated_at = now() WHERE refund_id = $1",
            refund_id,
            f"{code}: {message}"[:_MESSAGE_LIMIT],
        )

    async def payment_state(
        self, payment_id: str, *, for_update: bool = False
    ) -> PaymentState | None:
        lock = " FOR UPDATE" if for_update else ""
        row = await self.db.fetchrow(
            "SELECT p.*, EXISTS (SELECT 1 FROM payments.disputes d WHERE d.payment_id = "
            "p.payment_id AND d.status = ANY($2::text[])) AS disputed "
            f"FROM payments.payments p WHERE p.payment_id = $1{lock}",
            payment_id,
            list(REFUND_BLOCKING),
        )
        if row is None:
            return None
        return from_row(PaymentState, row, splits=splits_of(row))

    async def reserved(self, payment_id: str, refund_id: str) -> int:
        """What the payment's other refunds under way (a method chosen, not decided) will take."""
        total: int = await self.db.fetchval(
            "SELECT coalesce(sum(amount), 0)::bigint FROM payments.refunds "
            "WHERE payment_id = $1 AND refund_id <> $2 AND status = 'pending' "
            "AND method = ANY($3::text[])",
            payment_id,
            refund_id,
            list(MONEY_METHODS),
        )
        return total

    async def refunded_for_booking(self, payment_id: str, booking_id: str, refund_id: str) -> int:
        """What the payment's other refunds of this booking gave back or are giving back."""
        total: int = await self.db.fetchval(
            "SELECT coalesce(sum(amount), 0)::bigint FROM payments.refunds "
            "WHERE payment_id = $1 AND booking_id = $2 AND refund_id <> $3 "
            "AND status IN ('pending', 'succeeded') AND method = ANY($4::text[])",
            payment_id,
            booking_id,
            refund_id,
            list(MONEY_METHODS),
        )
        return total

    async def refunded_by_booking(self, payment_id: str) -> dict[str, Refunded]:
        """What Stripe gave back of the payment (succeeded refunds), per booking."""
        rows = await self.db.fetch(
            "SELECT booking_id, sum(amount)::bigint AS amount, "
            "sum(platform_fee)::bigint AS platform_fee, sum(tax)::bigint AS tax, "
            "sum(host_amount)::bigint AS host_amount FROM payments.refunds "
            "WHERE payment_id = $1 AND status = 'succeeded' AND method = 'refund' "
            "GROUP BY booking_id",
            payment_id,
        )
        return {r["booking_id"]: from_row(Refunded, r) for r in rows}

    async def choose_method(self, refund_id: str, method: str) -> None:
        await self.db.execute(
            "UPDATE payments.refunds SET method = $2, updated_at = now() WHERE refund_id = $1",
            refund_id,
            method,
        )

    async def mark_succeeded(
        self, refund_id: str, method: str, stripe_refund_id: str | None
    ) -> float | None:
        """Seconds from the refund's request to now (its success), for the refund-time metric."""
        return await self.db.fetchval(
            "UPDATE payments.refunds SET status = 'succeeded', method = $2, stripe_refund_id = $3, "
            "failure_code = NULL, decided_at = now(), updated_at = now() WHERE refund_id = $1 "
            "RETURNING extract(epoch FROM now() - created_at)::float8",
            refund_id,
            method,
            stripe_refund_id,
        )

    async def mark_failed(
        self, refund_id: str, method: str | None, code: str, message: str
    ) -> None:
        await self.db.execute(
            "UPDATE payments.refunds SET status = 'failed', method = coalesce($2, method), "
            "failure_code = $3, last_error = $4, decided_at = now(), updated_at = now() "
            "WHERE refund_id = $1",
            refund_id,
            method,
            code,
            f"{code}: {message}"[:_MESSAGE_LIMIT],
        )

    async def lower_charge(
        self,
        payment_id: str,
        from_status: str,
        *,
        amount: int,
        platform_fee: int,
        tax: int,
    ) -> bool:
        """A saved card not charged yet is to be charged less (an amendment lowered the price);
        False when the payment is no longer in `from_status`."""
        status = await self.db.execute(
            "UPDATE payments.payments SET amount = $3, platform_fee = $4, tax = $5, "
            "updated_at = now() WHERE payment_id = $1 AND status = $2",
            payment_id,
            from_status,
            amount,
            platform_fee,
            tax,
        )
        return bool(status == "UPDATE 1")

    async def add_refunded(self, payment_id: str, amount: int) -> None:
        """The payment gave `amount` more back (refused by the database beyond its capture)."""
        await self.db.execute(
            "UPDATE payments.payments SET refunded_amount = refunded_amount + $2, updated_at = now() "
            "WHERE payment_id = $1",
            payment_id,
            amount,
        )

    async def reopen(self, refund_id: str) -> asyncpg.Record | None:
        """A failed refund back to `pending` with a fresh attempt budget (its last error kept)
        and its reopening counted (its next Stripe call has a key of its own); None unless it
        was failed."""
        return await self.db.fetchrow(
            "UPDATE payments.refunds SET status = 'pending', attempts = 0, failure_code = NULL, "
            "reopened = reopened + 1, decided_at = NULL, updated_at = now() "
            "WHERE refund_id = $1 AND status = 'failed' "
            "RETURNING *",
            refund_id,
        )
