"""SQL for card disputes, their balance transactions, the actions disputes asked for, and early
fraud warnings (asyncpg, on the caller's connection or pool). Each `add_*`/`open` answers
whether it wrote something new: that is what lets a fact be emitted once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from eventkit.rows import select_one
from payments.adapters.repository import PaymentsDB, insert_once
from payments.adapters.stripe_disputes import BalanceMove


async def payment_of_charge(
    db: PaymentsDB, charge_id: str | None, payment_intent_id: str | None
) -> asyncpg.Record | None:
    """The payment Stripe's charge (or its PaymentIntent) belongs to."""
    row: asyncpg.Record | None = await db.fetchrow(
        "SELECT * FROM payments.payments WHERE charge_id = $1 OR payment_intent_id = $2 "
        "ORDER BY (charge_id = $1) DESC NULLS LAST LIMIT 1",
        charge_id,
        payment_intent_id,
    )
    return row


async def open_dispute(conn: asyncpg.Connection, row: dict[str, Any]) -> bool:
    """The dispute's row, unless one exists; True when this call created it."""
    return await insert_once(conn, "payments.disputes", row, "dispute_id")


async def lock(conn: asyncpg.Connection, dispute_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM payments.disputes WHERE dispute_id = $1 FOR UPDATE", dispute_id
    )
    return row


async def get(db: PaymentsDB, dispute_id: str) -> asyncpg.Record | None:
    return await select_one(db, "payments.disputes", "dispute_id", dispute_id)


async def advance(
    conn: asyncpg.Connection,
    dispute_id: str,
    *,
    status: str,
    due_by: datetime | None,
    has_evidence: bool,
    submission_count: int,
) -> None:
    await conn.execute(
        "UPDATE payments.disputes SET status = $2, due_by = coalesce($3, due_by), "
        "has_evidence = $4, submission_count = greatest(submission_count, $5), "
        "updated_at = now() WHERE dispute_id = $1",
        dispute_id,
        status,
        due_by,
        has_evidence,
        submission_count,
    )


async def close(
    conn: asyncpg.Connection, dispute_id: str, status: str, closed_at: datetime
) -> asyncpg.Record | None:
    """Close the dispute once; the row, or None when it was closed already."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "UPDATE payments.disputes SET status = $2, closed_at = $3, updated_at = now() "
        "WHERE dispute_id = $1 AND closed_at IS NULL RETURNING *",
        dispute_id,
        status,
        closed_at,
    )
    return row


async def add_move(conn: asyncpg.Connection, dispute_id: str, move: BalanceMove) -> bool:
    """Note a balance transaction of the dispute; True the first time it is seen."""
    status = await conn.execute(
        "INSERT INTO payments.dispute_balance_transactions (balance_transaction_id, dispute_id, "
        "kind, amount, fee, currency) VALUES ($1, $2, $3, $4, $5, $6) "
        "ON CONFLICT (balance_transaction_id) DO NOTHING",
        move.id,
        dispute_id,
        move.kind,
        move.amount,
        move.fee,
        move.currency,
    )
    return bool(status == "INSERT 0 1")


async def set_accepting(db: PaymentsDB, dispute_id: str, accepting: bool) -> None:
    """Mark (or unmark) the dispute as being accepted for the platform, before asking Stripe
    to close it: the closed webhook may be applied before the acceptance is recorded."""
    await db.execute(
        "UPDATE payments.disputes SET accepting = $2, updated_at = now() "
        "WHERE dispute_id = $1 AND closed_at IS NULL",
        dispute_id,
        accepting,
    )


async def get_action(db: PaymentsDB, request_id: str) -> asyncpg.Record | None:
    return await select_one(db, "payments.dispute_actions", "request_id", request_id)


async def record_action(conn: asyncpg.Connection, row: dict[str, Any]) -> bool:
    """The outcome of a request disputes made; True the first time (emit its fact then)."""
    return await insert_once(conn, "payments.dispute_actions", row, "request_id")


async def add_fraud_warning(conn: asyncpg.Connection, row: dict[str, Any]) -> bool:
    return await insert_once(conn, "payments.early_fraud_warnings", row, "warning_id")
