"""SQL of a dispute's money (asyncpg): the host shares of lost disputes and how each is
recovered (`finance.dispute_recoveries`), and what the dispute's other paths already booked."""

from __future__ import annotations

from typing import Any

import asyncpg

from eventkit.rows import insert, select_all, select_one, settle
from finance.adapters.payables_repository import FinanceDB
from finance.domain.disputes import DISPUTE_FEE, Paid
from finance.domain.payouts import PAYMENT_RETURNED
from finance.domain.reconciliation import STRIPE_FEE, source_event_id


async def is_bank_debit(conn: asyncpg.Connection, payment_id: str, dispute: str) -> bool:
    """The dispute is a returned bank debit's: `payments.payment_returned` books its money
    (its journal names the dispute), so the card path must not book it again."""
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM finance.journals WHERE stripe_object_id = $2 AND kind = $3)"
        " OR EXISTS (SELECT 1 FROM finance.payables WHERE payment_id = $1 "
        "AND payment_method_type = 'us_bank_account')",
        payment_id,
        dispute,
        PAYMENT_RETURNED,
    )
    return found


async def fee_booked(conn: asyncpg.Connection, txn_id: str) -> bool:
    """The import booked this transaction's fee already (as a dispute fee, or as a processing
    fee by an import that ran before dispute fees had their own kind)."""
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM finance.journals WHERE source_event_id = $1 "
        "AND kind = ANY($2::text[]))",
        source_event_id(txn_id),
        [DISPUTE_FEE, STRIPE_FEE],
    )
    return found


async def paid(conn: asyncpg.Connection, payment_id: str, booking_id: str) -> Paid | None:
    """The transfer that paid the booking's payout entry, and what of it is left to reverse
    (less what refunds and earlier disputes took back); None when the entry is not paid."""
    row = await conn.fetchrow(
        "SELECT e.transfer_id, e.amount - p.reversed - coalesce((SELECT sum(r.reversal_amount) "
        "FROM finance.dispute_recoveries r WHERE r.transfer_id = e.transfer_id "
        "AND r.state <> 'reversal_failed'), 0) AS reversible "
        "FROM finance.payout_entries e JOIN finance.payables p "
        "ON p.payment_id = e.payment_id AND p.booking_id = e.booking_id "
        "WHERE e.entry_id = $1 AND e.state = 'transferred' AND e.transfer_id IS NOT NULL",
        f"{payment_id}:{booking_id}",
    )
    if row is None:
        return None
    return Paid(row["transfer_id"], max(int(row["reversible"]), 0))


async def add_recovery(conn: asyncpg.Connection, row: dict[str, Any]) -> bool:
    """Record one host share's recovery; False when it was recorded before."""
    status = await insert(conn, "finance.dispute_recoveries", row, "ON CONFLICT DO NOTHING")
    return status == "INSERT 0 1"


async def settle_reversal(
    conn: asyncpg.Connection,
    recovery_id: str,
    state: str,
    *,
    reversal_id: str | None = None,
    failure_code: str | None = None,
) -> asyncpg.Record | None:
    """A requested reversal is `reversed` or `reversal_failed` (compare-and-set: None when it
    was settled before, or was never requested)."""
    changes = {"state": state, "reversal_id": reversal_id, "failure_code": failure_code}
    return await settle(
        conn,
        "finance.dispute_recoveries",
        ("recovery_id", recovery_id),
        changes,
        only_while="state = 'reversal_requested'",
        stamp="updated_at",
    )


async def recovery(conn: asyncpg.Connection, recovery_id: str) -> asyncpg.Record | None:
    return await select_one(conn, "finance.dispute_recoveries", "recovery_id", recovery_id)


async def recoveries(conn: asyncpg.Connection, dispute_id: str) -> list[asyncpg.Record]:
    return await select_all(
        conn,
        "SELECT * FROM finance.dispute_recoveries WHERE dispute_id = $1 ORDER BY recovery_id",
        dispute_id,
    )


async def for_entry(db: FinanceDB, payment_id: str, booking_id: str) -> list[asyncpg.Record]:
    """The lost disputes' host shares of one payout entry's booking."""
    return await select_all(
        db,
        "SELECT * FROM finance.dispute_recoveries WHERE payment_id = $1 AND booking_id = $2 "
        "ORDER BY created_at, recovery_id",
        payment_id,
        booking_id,
    )
