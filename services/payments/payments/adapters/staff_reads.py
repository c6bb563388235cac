"""SQL of the staff read API: payments and refunds as staff see them (no card data beyond
brand and last four, which the guest's receipt shows too)."""

from __future__ import annotations

from typing import Any

import asyncpg

PAYMENT_COLUMNS = (
    "payment_id, booking_id, group_id, payment_purpose AS purpose, guest_id, host_account_id, "
    "amount, platform_fee, tax, currency, status, stripe_status, captured_amount, refunded_amount, "
    "payment_method_type, card_brand, card_last4, bank_name, bank_last4, payment_intent_id, "
    "charge_id, failure_code, decline_code, failure_message, correlation_id, created_at, "
    "updated_at"
)
REFUND_COLUMNS = (
    "refund_id, payment_id, booking_id, group_id, cause, amount, platform_fee, host_amount, "
    "tax, currency, host_account_id, status, method, stripe_refund_id, attempts, failure_code, "
    "last_error, correlation_id, created_at, updated_at, decided_at"
)
LIMIT = 200  # a booking has a handful of payments; the bound only keeps an answer small


def _doc(row: asyncpg.Record) -> dict[str, Any]:
    return {k: str(v) if k == "correlation_id" else v for k, v in dict(row).items()}


async def payment(pool: asyncpg.Pool, payment_id: str) -> dict[str, Any] | None:
    row = await pool.fetchrow(
        f"SELECT {PAYMENT_COLUMNS} FROM payments.payments WHERE payment_id = $1", payment_id
    )
    return _doc(row) if row else None


async def payments_of_booking(pool: asyncpg.Pool, booking_id: str) -> list[dict[str, Any]]:
    """A booking's payments (its checkout, extra charges), and those of a group it is in."""
    rows = await pool.fetch(
        f"SELECT {PAYMENT_COLUMNS} FROM payments.payments WHERE booking_id = $1 "
        "OR (group_id IS NOT NULL AND group_id = $1) ORDER BY created_at, payment_id LIMIT $2",
        booking_id,
        LIMIT,
    )
    return [_doc(r) for r in rows]


async def refunds(
    pool: asyncpg.Pool, *, payment_id: str | None, booking_id: str | None
) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        f"SELECT {REFUND_COLUMNS} FROM payments.refunds "
        "WHERE ($1::text IS NULL OR payment_id = $1) AND ($2::text IS NULL OR booking_id = $2) "
        "ORDER BY created_at, refund_id LIMIT $3",
        payment_id,
        booking_id,
        LIMIT,
    )
    return [_doc(r) for r in rows]
