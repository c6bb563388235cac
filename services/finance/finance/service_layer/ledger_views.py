"""What finance's staff read of the ledger and of payables (views, no transaction)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from finance.adapters import disputes_repository as disputes_db
from finance.adapters import ledger_repository
from finance.adapters import payables_repository as payables_db
from finance.adapters.payables_repository import FinanceDB
from finance.domain import disputes as rules


async def trial_balance(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """The balance of every account per currency."""
    return await ledger_repository.trial_balance(conn)


async def booking_journals(conn: asyncpg.Connection, booking_id: str) -> list[asyncpg.Record]:
    return await ledger_repository.journals_for_booking(conn, booking_id)


async def dispute_books(
    conn: asyncpg.Connection, processor_id: str, dispute_id: str
) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    """A dispute's host share recoveries, and its journals: those naming its `du_…`
    (`processor_id`) and those of its recoveries' reversals and transfers."""
    recoveries = await disputes_db.recoveries(conn, dispute_id)
    objects = [o for r in recoveries for o in (r["reversal_id"], r["transfer_id"]) if o]
    rows = await ledger_repository.journals_for_dispute(
        conn, processor_id, objects, [rules.RECOVERY_REVERSED, rules.RECOVERY_FAILED]
    )
    return recoveries, rows


async def payables(
    conn: FinanceDB, booking_id: str, now: datetime
) -> tuple[list[tuple[asyncpg.Record, dict[str, Any]]], list[asyncpg.Record]]:
    """A booking's payables, each with what remains of it and whether it is held at `now`,
    and its releases."""
    rows = await payables_db.payables_for(conn, booking_id)
    releases = await payables_db.releases_for(conn, booking_id)
    listed = []
    for row in rows:
        payable = payables_db.payable(row)
        listed.append((row, {"remaining": payable.remaining, "held": payable.held(now)}))
    return listed, releases
