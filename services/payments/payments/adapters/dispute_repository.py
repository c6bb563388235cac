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


class DisputesRepository:
    """Disputes and what they record, on a connection (inside the caller's transaction: a unit
    of work's) or on the pool (a read, or a mark of its own before a call to Stripe)."""

    def __init__(self, db: PaymentsDB) -> None:
        self.db = db

    async def payment_of_charge(
        self, charge_id: str | None, payment_intent_id: str | None
    ) -> asyncpg.Record | None:
        """The payment Stripe's charge (or its PaymentIntent) belongs to."""
        row: asyncpg.Record | None = await self.db.fetchrow(
            "SELECT * FROM payments.payments WHERE charge_id = $1 OR payment_intent_id = $2 "
            "ORDER BY (charge_id = $1) DESC NULLS LAST LIMIT 1",
            charge_id,
            payment_intent_id,
        )
        return row

    async def open_dispute(self, row: dict[str, Any]) -> bool:
        """The dispute's row, unless one exists; True when this call created it."""
        return await insert_once(self.db, "payments.disputes", row, "dispute_id")

    async def lock(self, dispute_id: str) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self.db.fetchrow(
            "SELECT * FROM payments.disputes WHERE dispute_id = $1 FOR UPDATE", dispute_id
        )
        return row

    async def get(self, dispute_id: str) -> asyncpg.Record | None:
        return await select_one(self.db, "payments.disputes", "dispute_id", dispute_id)

    async def advance(
        self,
        dispute_id: str,
        *,
        status: str,
        due_by: datetime | None,
        has_evidence: bool,
        submission_count: int,
    ) -> None:
        await self.db.execute(
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
        self, dispute_id: str, status: str, closed_at: datetime
    ) -> asyncpg.Record | None:
        """Close the dispute once; the row, or None when it was closed already."""
        row: asyncpg.Record | None = await self.db.fetchrow(
            "UPDATE payments.disputes SET status = $2, closed_at = $3, updated_at = now() "
            "WHERE dispute_id = $1 AND closed_at IS NULL RETURNING *",
            dispute_id,
            status,
            closed_at,
        )
        return row

    async def add_move(self, dispute_id: str, move: BalanceMove) -> bool:
        """Note a balance transaction of the dispute; True the first time it is seen."""
        status = await self.db.execute(
            "INSERT INTO payments.dispute_balance_transactions (balance_transaction_id, "
            "dispute_id, kind, amount, fee, currency) VALUES ($1, $2, $3, $4, $5, $6) "
            "ON CONFLICT (balance_transaction_id) DO NOTHING",
            move.id,
            dispute_id,
            move.kind,
            move.amount,
            move.fee,
            move.currency,
        )
        return bool(status == "INSERT 0 1")

    async def set_accepting(self, dispute_id: str, accepting: bool) -> None:
        """Mark (or unmark) the dispute as being accepted for the platform, before asking
        Stripe to close it: the closed webhook may be applied before the acceptance is
        recorded."""
        await self.db.execute(
            "UPDATE payments.disputes SET accepting = $2, updated_at = now() "
            "WHERE dispute_id = $1 AND closed_at IS NULL",
            dispute_id,
            accepting,
        )

    async def get_action(self, request_id: str) -> asyncpg.Record | None:
        return await select_one(self.db, "payments.dispute_actions", "request_id", request_id)

    async def record_action(self, row: dict[str, Any]) -> bool:
        """The outcome of a request disputes made; True the first time (emit its fact then)."""
        return await insert_once(self.db, "payments.dispute_actions", row, "request_id")

    async def add_fraud_warning(self, row: dict[str, Any]) -> bool:
        return await insert_once(self.db, "payments.early_fraud_warnings", row, "warning_id")
