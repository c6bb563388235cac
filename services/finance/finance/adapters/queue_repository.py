"""SQL of the payout queue: entries, their history, host settings and booking starts
(asyncpg). Every state change is a compare-and-set on the entry's (`state`, `version`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from domainkit.rows import from_row
from eventkit.rows import insert, select_all, select_one
from finance.adapters.payables_repository import FinanceDB
from finance.domain.ledger import host_receivable
from finance.domain.payout_queue import Entry, StaleEntry, State


def entry(row: asyncpg.Record) -> Entry:
    return from_row(Entry, row, state=State(row["state"]), holds=frozenset(row["holds"]))


async def add_entry(conn: asyncpg.Connection, row: dict[str, Any]) -> bool:
    status = await insert(conn, "finance.payout_entries", row, "ON CONFLICT DO NOTHING")
    return status == "INSERT 0 1"


async def get(conn: FinanceDB, entry_id: str, *, for_update: bool = False) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(
        f"SELECT * FROM finance.payout_entries WHERE entry_id = $1{lock}", entry_id
    )


async def entries_where(
    conn: asyncpg.Connection, where: str, *args: Any, for_update: bool = True
) -> list[asyncpg.Record]:
    """Entries matching a fixed condition of ours (never input), locked in id order."""
    lock = " FOR UPDATE" if for_update else ""
    return await select_all(
        conn, f"SELECT * FROM finance.payout_entries WHERE {where} ORDER BY entry_id{lock}", *args
    )


async def compare_and_set(
    conn: asyncpg.Connection, row: asyncpg.Record, after: Entry, **changes: Any
) -> None:
    """Write the entry's new state, holds and `changes` if it is still as read; else
    StaleEntry."""
    sets = ["state = $3", "holds = $4", "version = version + 1", "updated_at = now()"]
    values = [row["entry_id"], row["version"], after.state.value, sorted(after.holds)]
    for column, value in changes.items():
        values.append(value)
        sets.append(f"{column} = ${len(values)}")
    status = await conn.execute(
        f"UPDATE finance.payout_entries SET {', '.join(sets)} WHERE entry_id = $1 AND version = $2",
        *values,
    )
    if status != "UPDATE 1":
        raise StaleEntry(f"payout entry {row['entry_id']} changed concurrently")


async def record(
    conn: asyncpg.Connection,
    entry_id: str,
    *,
    from_state: str | None,
    to_state: str,
    trigger: str,
    actor: str,
    at: datetime,
    reason: str | None = None,
    note: str = "",
) -> None:
    await conn.execute(
        "INSERT INTO finance.payout_entry_history (entry_id, from_state, to_state, trigger, "
        "reason, actor, note, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        entry_id,
        from_state,
        to_state,
        trigger,
        reason,
        actor,
        note,
        at,
    )


async def history(conn: FinanceDB, entry_id: str) -> list[asyncpg.Record]:
    return await select_all(
        conn,
        "SELECT from_state, to_state, trigger, reason, actor, note, at "
        "FROM finance.payout_entry_history WHERE entry_id = $1 ORDER BY id",
        entry_id,
    )


async def page(
    conn: FinanceDB,
    *,
    state: str | None,
    host_account_id: str | None,
    due_before: datetime | None,
    currency: str | None,
    after: str | None,
    limit: int,
) -> list[asyncpg.Record]:
    """One page of the queue in entry id order, after the cursor `after`."""
    return await select_all(
        conn,
        "SELECT * FROM finance.payout_entries WHERE ($1::text IS NULL OR state = $1) "
        "AND ($2::text IS NULL OR host_account_id = $2) "
        "AND ($3::timestamptz IS NULL OR due_at < $3) "
        "AND ($4::text IS NULL OR currency = $4) AND ($5::text IS NULL OR entry_id > $5) "
        "ORDER BY entry_id LIMIT $6",
        state,
        host_account_id,
        due_before,
        currency,
        after,
        limit,
    )


# -- hosts and bookings --------------------------------------------------------------------
async def host(conn: FinanceDB, host_account_id: str) -> asyncpg.Record | None:
    return await select_one(conn, "finance.host_settings", "host_account_id", host_account_id)


async def lock_host(conn: asyncpg.Connection, host_account_id: str) -> asyncpg.Record:
    """The host's settings row, created if missing, locked: netting what a host owes is
    serialised per host (two payouts of one host must not both recover the same debt). The
    row nearly always exists: it is locked in one statement, and created only when missing."""
    lock = "SELECT * FROM finance.host_settings WHERE host_account_id = $1 FOR UPDATE"
    row = await conn.fetchrow(lock, host_account_id)
    if row is None:
        await conn.execute(
            "INSERT INTO finance.host_settings (host_account_id) VALUES ($1) "
            "ON CONFLICT DO NOTHING",
            host_account_id,
        )
        row = await conn.fetchrow(lock, host_account_id)
    assert row is not None
    return row


async def set_host(conn: asyncpg.Connection, host_account_id: str, **values: Any) -> None:
    await lock_host(conn, host_account_id)
    sets = ", ".join(f"{column} = ${i}" for i, column in enumerate(values, start=2))
    await conn.execute(
        f"UPDATE finance.host_settings SET {sets}, updated_at = now() WHERE host_account_id = $1",
        host_account_id,
        *values.values(),
    )


async def set_start(conn: asyncpg.Connection, row: dict[str, Any]) -> None:
    """A booking's start (booking_id, group_id, host_account_id, starts_at); a later one of
    the same booking moves it."""
    await insert(
        conn,
        "finance.booking_starts",
        row,
        "ON CONFLICT (booking_id) DO UPDATE SET starts_at = EXCLUDED.starts_at, "
        "received_at = now()",
    )


async def propose_start(
    conn: asyncpg.Connection, amendment_id: str, booking_id: str, starts_at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO finance.amendment_starts (amendment_id, booking_id, starts_at) "
        "VALUES ($1, $2, $3) ON CONFLICT (amendment_id) DO NOTHING",
        amendment_id,
        booking_id,
        starts_at,
    )


async def apply_start(conn: asyncpg.Connection, amendment_id: str) -> asyncpg.Record | None:
    """The booking's start becomes the amendment's; the booking's row (None: unknown)."""
    return await conn.fetchrow(
        "UPDATE finance.booking_starts b SET starts_at = a.starts_at, received_at = now() "
        "FROM finance.amendment_starts a WHERE a.amendment_id = $1 "
        "AND b.booking_id = a.booking_id RETURNING b.*",
        amendment_id,
    )


async def move_due(conn: asyncpg.Connection, row: asyncpg.Record, due_at: datetime) -> None:
    """A new due time for an unpaid entry (compare-and-set; StaleEntry otherwise)."""
    status = await conn.execute(
        "UPDATE finance.payout_entries SET due_at = $3, version = version + 1, "
        "updated_at = now() WHERE entry_id = $1 AND version = $2",
        row["entry_id"],
        row["version"],
        due_at,
    )
    if status != "UPDATE 1":
        raise StaleEntry(f"payout entry {row['entry_id']} changed concurrently")


async def start_of(conn: asyncpg.Connection, booking_id: str) -> datetime | None:
    """The booking's start, once `set_start` has recorded it. Call `hold_booking` first in the
    same transaction: it orders this read after a concurrent `set_start` of the booking."""
    starts_at: datetime | None = await conn.fetchval(
        "SELECT starts_at FROM finance.booking_starts WHERE booking_id = $1", booking_id
    )
    return starts_at


async def hold_booking(conn: asyncpg.Connection, booking_id: str) -> None:
    """Until this transaction ends, one transaction at a time records a booking's start or
    enqueues a payable of it. The booking's fact (its start) and the payment's (its capture)
    come on different topics, so they may be handled at once: without this, each would miss
    the other's uncommitted row and the entry would wait for a start already recorded."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('finance.booking_start:' || $1, 0))",
        booking_id,
    )


async def receivable(conn: asyncpg.Connection, host_account_id: str, currency: str) -> int:
    """What the host owes the platform now (the receivable account's debit balance)."""
    owed: int = await conn.fetchval(
        "SELECT coalesce(sum(amount), 0)::bigint FROM finance.postings "
        "WHERE account = $1 AND currency = $2",
        host_receivable(host_account_id),
        currency,
    )
    return owed
