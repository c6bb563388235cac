"""SQL for payments and customers (asyncpg, on the caller's connection or pool)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict
from datetime import timedelta
from typing import Any, TypeAlias

import asyncpg

from eventkit.rows import LostUpdate as LostUpdate  # re-exported: callers use repository.*
from eventkit.rows import expect_changed as expect_changed
from eventkit.rows import insert
from payments.domain.checkout import Checkout, Split, captured_splits
from payments.domain.payment import PaymentStatus

PaymentsDB: TypeAlias = asyncpg.Pool | asyncpg.Connection


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
        "splits": [asdict(s) for s in checkout.splits] if checkout.splits else None,
        "transfer_group": checkout.transfer_group,
        "tax": checkout.tax,
        "payment_purpose": checkout.purpose,
    }


def splits_of(payment: Mapping[str, Any]) -> tuple[Split, ...]:
    """The recorded splits of a group's payment (empty for a single booking's); those
    recorded before taxes were (no `tax`) have none."""
    return tuple(Split(**item) for item in payment["splits"] or ())


def captured_splits_of(payment: Mapping[str, Any], captured: int) -> tuple[Split, ...]:
    """What each booking a payment row paid for got of `captured` (`captured_splits`: its
    recorded splits, or the single booking's). Raises InvalidCheckout."""
    return captured_splits(
        booking_id=payment["booking_id"],
        host_account_id=payment["host_account_id"],
        platform_fee=payment["platform_fee"],
        captured=captured,
        splits=splits_of(payment),
        tax=payment["tax"],
    )


async def insert_once(conn: PaymentsDB, table: str, row: dict[str, Any], unique: str) -> bool:
    """Insert `row` unless `table` holds one with the same `unique` columns; True when this
    call wrote it (what lets a fact be emitted once)."""
    status = await insert(conn, table, row, f"ON CONFLICT ({unique}) DO NOTHING")
    return bool(status == "INSERT 0 1")


async def claim_batch(
    conn: PaymentsDB,
    value: object,
    limit: int,
    status: PaymentStatus,
    *,
    mark: str,
    due: str,
    oldest_first: str,
    returning: str,
) -> list[asyncpg.Record]:
    """A sweeper's batch: set `mark` on at most `limit` payments in `status` for which `due`
    holds (`due` excludes the marked ones: each is claimed once), by `oldest_first`; their
    `returning` columns. `$1` in the clauses is `value`. Rows another sweeper holds are
    skipped, not waited for."""
    # The status is written as a literal (an enum's value, never input): a partial index on
    # it (ix_payments_authorized_at) then serves every plan, a generic one included.
    rows: list[asyncpg.Record] = await conn.fetch(
        f"UPDATE payments.payments SET {mark}, updated_at = now() "
        "WHERE payment_id IN (SELECT payment_id FROM payments.payments "
        f"  WHERE status = '{PaymentStatus(status).value}' AND {due} "
        f"  ORDER BY {oldest_first} LIMIT $2 FOR UPDATE SKIP LOCKED) "
        f"RETURNING {returning}",
        value,
        limit,
    )
    return rows


class PaymentsRepository:
    """Payments, customers and replaced authorizations, on a connection (inside the caller's
    transaction: a unit of work's) or on the pool (a read or a statement of its own)."""

    def __init__(self, db: PaymentsDB) -> None:
        self.db = db

    async def get_payment(self, payment_id: str) -> asyncpg.Record | None:
        return await self.db.fetchrow(
            "SELECT * FROM payments.payments WHERE payment_id = $1", payment_id
        )

    async def checkout_state(self, payment_id: str, guest_id: str) -> tuple[bool, str | None]:
        """Whether the payment is recorded already, and the guest's stored Stripe customer: what a
        checkout reads before it calls Stripe, in one round trip instead of two."""
        row = await self.db.fetchrow(
            "SELECT EXISTS (SELECT 1 FROM payments.payments WHERE payment_id = $1) AS recorded, "
            "(SELECT stripe_customer_id FROM payments.customers WHERE guest_id = $2) AS customer",
            payment_id,
            guest_id,
        )
        assert row is not None  # a SELECT without FROM always answers one row
        return bool(row["recorded"]), row["customer"]

    async def save_customer(self, guest_id: str, customer_id: str) -> None:
        await self.db.execute(
            "INSERT INTO payments.customers (guest_id, stripe_customer_id) VALUES ($1, $2) "
            "ON CONFLICT (guest_id) DO NOTHING",
            guest_id,
            customer_id,
        )

    async def forget_customer(self, guest_id: str, customer_id: str) -> None:
        await self.db.execute(
            "DELETE FROM payments.customers WHERE guest_id = $1 AND stripe_customer_id = $2",
            guest_id,
            customer_id,
        )

    async def insert_payment(self, payment: dict[str, Any]) -> bool:
        """False if this checkout's payment already exists (a redelivered request)."""
        return await insert_once(self.db, "payments.payments", payment, "booking_id, purpose")

    async def transition(self, payment_id: str, from_status: str, **changes: Any) -> bool:
        """Compare-and-set on status; False when the payment is no longer in `from_status`."""
        columns = ", ".join(f"{name} = ${i}" for i, name in enumerate(changes, start=3))
        status = await self.db.execute(
            f"UPDATE payments.payments SET {columns}, updated_at = now() "
            "WHERE payment_id = $1 AND status = $2",
            payment_id,
            from_status,
            *changes.values(),
        )
        return bool(status == "UPDATE 1")

    async def lock_payment(self, payment_id: str) -> asyncpg.Record | None:
        return await self.db.fetchrow(
            "SELECT * FROM payments.payments WHERE payment_id = $1 FOR UPDATE", payment_id
        )

    async def lock_by_intent(self, intent_id: str) -> list[asyncpg.Record]:
        """Every payment of a PaymentIntent, locked: a webhook's handlers all read these rows."""
        rows: list[asyncpg.Record] = await self.db.fetch(
            "SELECT * FROM payments.payments WHERE payment_intent_id = $1 FOR UPDATE",
            intent_id,
        )
        return rows

    async def set_stripe_status(self, payment_id: str, stripe_status: str) -> bool:
        status = await self.db.execute(
            "UPDATE payments.payments SET stripe_status = $2, updated_at = now() WHERE payment_id = $1",
            payment_id,
            stripe_status,
        )
        return bool(status == "UPDATE 1")

    async def claim_expiring(self, older_than: timedelta, limit: int) -> list[asyncpg.Record]:
        """Mark (once) the authorizations held longer than `older_than`; the marked rows."""
        return await claim_batch(
            self.db,
            older_than,
            limit,
            PaymentStatus.AUTHORIZED,
            mark="expiry_notified_at = now()",
            due="expiry_notified_at IS NULL "
            "AND coalesce(authorized_at, created_at) < now() - $1::interval",
            oldest_first="coalesce(authorized_at, created_at)",
            returning="payment_id, booking_id, group_id, amount, currency, payment_intent_id, "
            "coalesce(authorized_at, created_at) AS authorized_at, correlation_id",
        )

    async def swap_authorization(
        self,
        payment_id: str,
        expiring_intent_id: str,
        intent_id: str,
        stripe_status: str,
    ) -> asyncpg.Record | None:
        """Compare-and-set: the still-authorized payment takes the renewed authorization in place
        of `expiring_intent_id`; None when it was renewed, captured or voided meanwhile."""
        return await self.db.fetchrow(
            "UPDATE payments.payments SET payment_intent_id = $3, authorized_at = now(), "
            "renewals = renewals + 1, expiry_notified_at = NULL, stripe_status = $4, "
            "updated_at = now() "
            "WHERE payment_id = $1 AND status = $5 AND payment_intent_id = $2 "
            "RETURNING authorized_at, amount, currency",
            payment_id,
            expiring_intent_id,
            intent_id,
            stripe_status,
            PaymentStatus.AUTHORIZED,
        )

    async def add_replaced_authorization(
        self, intent_id: str, payment_id: str, replaced_by: str
    ) -> bool:
        """False when this authorization is recorded as replaced already (a redelivery)."""
        status = await self.db.execute(
            "INSERT INTO payments.replaced_authorizations "
            "(payment_intent_id, payment_id, replaced_by) VALUES ($1, $2, $3) "
            "ON CONFLICT (payment_intent_id) DO NOTHING",
            intent_id,
            payment_id,
            replaced_by,
        )
        return bool(status == "INSERT 0 1")

    async def replaced_due(self, grace: timedelta, limit: int) -> list[str]:
        """Replaced authorizations not cancelled yet whose grace has passed, oldest first."""
        rows = await self.db.fetch(
            "SELECT payment_intent_id FROM payments.replaced_authorizations "
            "WHERE cancelled_at IS NULL AND replaced_at < now() - $1::interval "
            "ORDER BY replaced_at LIMIT $2",
            grace,
            limit,
        )
        return [row["payment_intent_id"] for row in rows]

    async def settle_replaced(self, intent_id: str, error: str | None) -> bool:
        """Record a replaced authorization as cancelled (or not cancellable: `error`)."""
        status = await self.db.execute(
            "UPDATE payments.replaced_authorizations SET cancelled_at = now(), cancel_error = $2 "
            "WHERE payment_intent_id = $1",
            intent_id,
            error,
        )
        return bool(status == "UPDATE 1")

    async def authorized_before(self, age: timedelta) -> int:
        """Card authorizations still held that were taken more than `age` ago (the index
        `ix_payments_authorized_at`): the metrics' expiring gauge."""
        count: int = await self.db.fetchval(
            "SELECT count(*) FROM payments.payments WHERE status = 'authorized' "
            "AND coalesce(authorized_at, created_at) < now() - $1::interval",
            age,
        )
        return count
