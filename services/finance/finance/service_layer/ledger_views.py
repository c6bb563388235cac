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


async def trial_balance(conn: asyncpg.Connection) -> dict[str, Any]:
    """The balance of every account per currency, each currency's total, and whether every
    total is zero (as a balanced ledger's are)."""
    rows = await ledger_repository.trial_balance(conn)
    totals: dict[str, int] = {}
    for row in rows:
        totals[row["currency"]] = totals.get(row["currency"], 0) + row["balance"]
    return {
        "accounts": [dict(r) for r in rows],
        "totals": totals,
        "balanced": all(v == 0 for v in totals.values()),
    }


async def booking_journals(conn: asyncpg.Connection, booking_id: str) -> list[dict[str, Any]]:
    """One line per posting of the booking's journals, in posting order."""
    rows = await ledger_repository.journals_for_booking(conn, booking_id)
    return [{**dict(r), "journal_id": str(r["journal_id"])} for r in rows]


async def dispute_books(conn: asyncpg.Connection, dispute_id: str) -> dict[str, Any] | None:
    """A dispute's journals, grouped with their postings, each account's total left, and its
    host share recoveries; None when finance booked nothing for it.

    `dispute_id` is ours (`dsp_…`) or Stripe's (`du_…`): ours is Stripe's without `du_`. The
    journals are those naming its `du_…` and those of its recoveries' reversals and
    transfers."""
    processor = "du_" + dispute_id.removeprefix("dsp_").removeprefix("du_")
    ours = "dsp_" + processor.removeprefix("du_")
    recoveries = await disputes_db.recoveries(conn, ours)
    objects = [o for r in recoveries for o in (r["reversal_id"], r["transfer_id"]) if o]
    rows = await ledger_repository.journals_for_dispute(
        conn, processor, objects, [rules.RECOVERY_REVERSED, rules.RECOVERY_FAILED]
    )
    if not rows and not recoveries:
        return None
    journals: dict[str, dict[str, Any]] = {}
    totals: dict[str, int] = {}
    for r in rows:
        journal = journals.setdefault(
            str(r["journal_id"]),
            {
                "journal_id": str(r["journal_id"]),
                "kind": r["kind"],
                "booking_id": r["booking_id"],
                "currency": r["currency"],
                "posted_at": r["posted_at"],
                "postings": [],
            },
        )
        journal["postings"].append({"account": r["account"], "amount": r["amount"]})
        totals[r["account"]] = totals.get(r["account"], 0) + r["amount"]
    return {
        "dispute_id": ours,
        "processor_dispute_id": processor,
        "journals": list(journals.values()),
        "totals": {account: amount for account, amount in totals.items() if amount},
        "recoveries": [dict(r) for r in recoveries],
    }


async def payables(conn: FinanceDB, booking_id: str, now: datetime) -> dict[str, Any]:
    """A booking's payables, each with what remains of it and whether it is held at `now`,
    and its releases."""
    rows = await payables_db.payables_for(conn, booking_id)
    releases = await payables_db.releases_for(conn, booking_id)
    listed = []
    for row in rows:
        payable = payables_db.payable(row)
        listed.append({**dict(row), "remaining": payable.remaining, "held": payable.held(now)})
    return {"booking_id": booking_id, "payables": listed, "releases": [dict(r) for r in releases]}
