"""SQL for payables, payout releases and the payment facts counted into them (asyncpg)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, TypeAlias

import asyncpg

from domainkit.rows import from_row
from eventkit.rows import insert, select_all, settle
from finance.domain.payouts import Payable

FinanceDB: TypeAlias = asyncpg.Pool | asyncpg.Connection


async def first_time(conn: asyncpg.Connection, source_event_id: uuid.UUID, kind: str) -> bool:
    """Claim a payment fact for the payables (False: it was counted already)."""
    status = await conn.execute(
        "INSERT INTO finance.payout_facts (source_event_id, kind) VALUES ($1, $2) "
        "ON CONFLICT DO NOTHING",
        source_event_id,
        kind,
    )
    return bool(status == "INSERT 0 1")


async def counted(conn: asyncpg.Connection, source_event_id: uuid.UUID) -> bool:
    """Whether a payment fact was claimed for the payables already."""
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM finance.payout_facts WHERE source_event_id = $1)",
        source_event_id,
    )
    return found


async def owed(
    conn: asyncpg.Connection, payment_id: str, booking_id: str
) -> tuple[int, int] | None:
    """A payable's host share and what refunds took of it so far (None: no such payable)."""
    row = await conn.fetchrow(
        "SELECT host_amount, refunded FROM finance.payables "
        "WHERE payment_id = $1 AND booking_id = $2",
        payment_id,
        booking_id,
    )
    return None if row is None else (row["host_amount"], row["refunded"])


async def add_payable(conn: asyncpg.Connection, row: dict[str, Any]) -> None:
    await insert(conn, "finance.payables", row, "ON CONFLICT (payment_id, booking_id) DO NOTHING")


async def add_to(
    conn: asyncpg.Connection, column: str, payment_id: str, booking_id: str, amount: int
) -> bool:
    """`refunded`, `released` or `reversed` of one payable grows by `amount` (may be < 0)."""
    assert column in ("refunded", "released", "reversed", "reserved", "netted")
    status = await conn.execute(
        f"UPDATE finance.payables SET {column} = {column} + $3, updated_at = now() "
        "WHERE payment_id = $1 AND booking_id = $2",
        payment_id,
        booking_id,
        amount,
    )
    return bool(status == "UPDATE 1")


async def charge_of(conn: asyncpg.Connection, payment_id: str) -> str | None:
    """The Stripe charge that paid the payment (None before payments reported it)."""
    charge_id: str | None = await conn.fetchval(
        "SELECT charge_id FROM finance.payables WHERE payment_id = $1 AND charge_id IS NOT NULL "
        "LIMIT 1",
        payment_id,
    )
    return charge_id


async def clear(conn: asyncpg.Connection, payment_id: str, cleared_at: datetime) -> int:
    status = await conn.execute(
        "UPDATE finance.payables SET cleared_at = $2, updated_at = now() "
        "WHERE payment_id = $1 AND cleared_at IS NULL",
        payment_id,
        cleared_at,
    )
    return int(status.split()[-1])


async def mark_returned(conn: asyncpg.Connection, payment_id: str) -> int:
    status = await conn.execute(
        "UPDATE finance.payables SET returned_at = now(), updated_at = now() "
        "WHERE payment_id = $1 AND returned_at IS NULL",
        payment_id,
    )
    return int(status.split()[-1])


async def payables_for(
    conn: FinanceDB, booking_id: str, payment_id: str | None = None, *, for_update: bool = False
) -> list[asyncpg.Record]:
    lock = " FOR UPDATE" if for_update else ""
    return await select_all(
        conn,
        "SELECT * FROM finance.payables WHERE booking_id = $1 "
        f"AND ($2::text IS NULL OR payment_id = $2) ORDER BY created_at, payment_id{lock}",
        booking_id,
        payment_id,
    )


def payable(row: asyncpg.Record) -> Payable:
    return from_row(Payable, row)


async def next_release_number(conn: asyncpg.Connection, payment_id: str, booking_id: str) -> int:
    number: int = await conn.fetchval(
        "UPDATE finance.payables SET releases = releases + 1 "
        "WHERE payment_id = $1 AND booking_id = $2 RETURNING releases",
        payment_id,
        booking_id,
    )
    return number


async def add_release(conn: asyncpg.Connection, row: dict[str, Any]) -> None:
    await insert(conn, "finance.payout_releases", row)


async def decide_release(
    conn: asyncpg.Connection,
    release_id: str,
    status: str,
    *,
    transfer_id: str | None = None,
    code: str | None = None,
    message: str | None = None,
) -> asyncpg.Record | None:
    """A `released` release becomes `transferred` or `failed`; None if it was not released."""
    changes = {"status": status, "transfer_id": transfer_id}
    changes |= {"failure_code": code, "failure_message": message}
    return await settle(
        conn,
        "finance.payout_releases",
        ("release_id", release_id),
        changes,
        only_while="status = 'released'",
        stamp="decided_at",
    )


async def releases_for(conn: FinanceDB, booking_id: str) -> list[asyncpg.Record]:
    return await select_all(
        conn,
        "SELECT * FROM finance.payout_releases WHERE booking_id = $1 ORDER BY released_at",
        booking_id,
    )


async def returned_and_paid(
    conn: asyncpg.Connection, *, payment_id: str | None = None, transfer_id: str | None = None
) -> list[asyncpg.Record]:
    """The payout entries that paid a bank debit's host share (`transferred`, by a transfer or
    by netting) after the debit came back: of the payment, or of the transfer."""
    return await select_all(
        conn,
        "SELECT e.entry_id, e.payment_id, e.booking_id, e.host_account_id, e.currency, "
        "e.state, e.amount, e.netted, e.transfer_id FROM finance.payout_entries e "
        "JOIN finance.payables p ON p.payment_id = e.payment_id "
        "AND p.booking_id = e.booking_id WHERE e.kind = 'payable' "
        "AND e.state = 'transferred' AND p.returned_at IS NOT NULL "
        "AND (e.payment_id = $1 OR e.transfer_id = $2) ORDER BY e.entry_id",
        payment_id,
        transfer_id,
    )
