"""SQL for payments and customers (asyncpg, on the caller's connection or pool)."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict
from typing import Any, TypeAlias

import asyncpg

from payments.domain.checkout import Checkout, Split

PaymentsDB: TypeAlias = asyncpg.Pool | asyncpg.Connection


async def get_payment(db: PaymentsDB, payment_id: str) -> asyncpg.Record | None:
    return await db.fetchrow("SELECT * FROM payments.payments WHERE payment_id = $1", payment_id)


async def checkout_state(db: PaymentsDB, payment_id: str, guest_id: str) -> tuple[bool, str | None]:
    """Whether the payment is recorded already, and the guest's stored Stripe customer: what a
    checkout reads before it calls Stripe, in one round trip instead of two."""
    row = await db.fetchrow(
        "SELECT EXISTS (SELECT 1 FROM payments.payments WHERE payment_id = $1) AS recorded, "
        "(SELECT stripe_customer_id FROM payments.customers WHERE guest_id = $2) AS customer",
        payment_id,
        guest_id,
    )
    assert row is not None  # a SELECT without FROM always answers one row
    return bool(row["recorded"]), row["customer"]


async def save_customer(conn: asyncpg.Connection, guest_id: str, customer_id: str) -> None:
    await conn.execute(
        "INSERT INTO payments.customers (guest_id, stripe_customer_id) VALUES ($1, $2) "
        "ON CONFLICT (guest_id) DO NOTHING",
        guest_id,
        customer_id,
    )


async def forget_customer(db: PaymentsDB, guest_id: str, customer_id: str) -> None:
    await db.execute(
        "DELETE FROM payments.customers WHERE guest_id = $1 AND stripe_customer_id = $2",
        guest_id,
        customer_id,
    )


def checkout_payment(checkout: Checkout, correlation_id: uuid.UUID) -> dict[str, Any]:
    """The columns every checkout payment row takes from the checkout request."""
    return {
        "payment_id": checkout.payment_id,
        "booking_id": checkout.booking_id,
        "guest_id": checkout.guest_id,
        "amount": checkout.amount,
        "platform_fee": checkout.platform_fee,
        "currency": checkout.currency,
        "host_account_id": checkout.host_account_id,
        "payment_method": checkout.payment_method,
        "correlation_id": correlation_id,
        "group_id": checkout.group_id,
        "splits": json.dumps([asdict(s) for s in checkout.splits]) if checkout.splits else None,
        "transfer_group": checkout.transfer_group,
        "tax": checkout.tax,
        "payment_purpose": checkout.purpose,
    }


def splits_of(payment: asyncpg.Record) -> tuple[Split, ...]:
    """The recorded splits of a group's payment (empty for a single booking's); those
    recorded before taxes were (no `tax`) have none."""
    raw = payment["splits"]
    return tuple(Split(**item) for item in json.loads(raw)) if raw else ()


async def insert_payment(conn: asyncpg.Connection, payment: dict[str, Any]) -> bool:
    """False if this checkout's payment already exists (a redelivered request)."""
    columns = ", ".join(payment)
    params = ", ".join(f"${i}" for i in range(1, len(payment) + 1))
    status = await conn.execute(
        f"INSERT INTO payments.payments ({columns}) VALUES ({params}) "
        "ON CONFLICT (booking_id, purpose) DO NOTHING",
        *payment.values(),
    )
    return bool(status == "INSERT 0 1")


async def transition(
    conn: asyncpg.Connection, payment_id: str, from_status: str, **changes: Any
) -> bool:
    """Compare-and-set on status; False when the payment is no longer in `from_status`."""
    columns = ", ".join(f"{name} = ${i}" for i, name in enumerate(changes, start=3))
    status = await conn.execute(
        f"UPDATE payments.payments SET {columns}, updated_at = now() "
        "WHERE payment_id = $1 AND status = $2",
        payment_id,
        from_status,
        *changes.values(),
    )
    return bool(status == "UPDATE 1")
