"""SQL of the daily close (asyncpg). Every figure is one set-based query over the postings of a
currency, grouped by account; `journals (currency, posted_on)` is the index they walk."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg

from eventkit.rows import select_all
from finance.domain.close import Acknowledgement
from finance.domain.reconciliation import STRIPE_AVAILABLE, STRIPE_PENDING

HOST_PAYABLE = "liability:host_payable:%"


async def lock_books(conn: asyncpg.Connection, currency: str) -> None:
    """Hold the currency's books for the close's transaction: a journal being posted waits
    (the posting trigger takes the same lock shared), so none lands in a day being closed."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext('finance.books:' || $1::text))", currency
    )


async def get_close(conn: asyncpg.Connection, day: date, currency: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM finance.day_closes WHERE business_date = $1 AND currency = $2",
        day,
        currency,
    )


async def last_closed(conn: asyncpg.Connection, currency: str) -> date | None:
    found: date | None = await conn.fetchval(
        "SELECT max(business_date) FROM finance.day_closes WHERE currency = $1 "
        "AND status = 'closed'",
        currency,
    )
    return found


async def first_open_day(conn: asyncpg.Connection, currency: str) -> date | None:
    """The earliest day with journals after the last closed one (None: nothing to close)."""
    found: date | None = await conn.fetchval(
        "SELECT min(posted_on) FROM finance.journals WHERE currency = $1 AND posted_on > "
        "coalesce((SELECT max(business_date) FROM finance.day_closes WHERE currency = $1 "
        "AND status = 'closed'), '-infinity'::date)",
        currency,
    )
    return found


async def first_day(conn: asyncpg.Connection, currency: str) -> date | None:
    """The earliest day with journals in `currency` (None: it has none)."""
    found: date | None = await conn.fetchval(
        "SELECT min(posted_on) FROM finance.journals WHERE currency = $1", currency
    )
    return found


async def currencies(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        "SELECT DISTINCT currency FROM finance.journals UNION "
        "SELECT DISTINCT currency FROM finance.stripe_balance_transactions"
    )
    return sorted(r["currency"] for r in rows)


async def ever_held(conn: asyncpg.Connection, currency: str) -> bool:
    """The books, Stripe's imported balance or an earlier close (one that Stripe's balance
    let run) know `currency`."""
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM finance.journals WHERE currency = $1)"
        " OR EXISTS (SELECT 1 FROM finance.stripe_balance_transactions WHERE currency = $1)"
        " OR EXISTS (SELECT 1 FROM finance.day_closes WHERE currency = $1)",
        currency,
    )
    return found


async def balances_as_of(conn: asyncpg.Connection, currency: str, day: date) -> dict[str, int]:
    """The trial balance at the end of `day`."""
    rows = await conn.fetch(
        "SELECT p.account, sum(p.amount)::bigint AS balance FROM finance.journals j "
        "JOIN finance.postings p USING (journal_id) WHERE j.currency = $1 AND j.posted_on <= $2 "
        "GROUP BY p.account ORDER BY p.account",
        currency,
        day,
    )
    return {r["account"]: r["balance"] for r in rows}


async def movements(conn: asyncpg.Connection, currency: str, day: date) -> list[dict[str, Any]]:
    """Debits and credits of `day` per account."""
    rows = await conn.fetch(
        "SELECT p.account, coalesce(sum(p.amount) FILTER (WHERE p.amount > 0), 0)::bigint AS "
        "debits, coalesce(-sum(p.amount) FILTER (WHERE p.amount < 0), 0)::bigint AS credits, "
        "count(*) AS postings FROM finance.journals j JOIN finance.postings p USING (journal_id) "
        "WHERE j.currency = $1 AND j.posted_on = $2 GROUP BY p.account ORDER BY p.account",
        currency,
        day,
    )
    return [dict(r) for r in rows]


async def journals_by_kind(
    conn: asyncpg.Connection, currency: str, day: date
) -> list[dict[str, Any]]:
    """Per journal kind of `day`: how many, the total debited, and how many adjust a closed
    day (fees, payouts made, reserves held and released are kinds)."""
    rows = await conn.fetch(
        "SELECT j.kind, count(DISTINCT j.journal_id) AS journals, "
        "coalesce(sum(p.amount) FILTER (WHERE p.amount > 0), 0)::bigint AS amount, "
        "count(DISTINCT j.journal_id) FILTER (WHERE j.adjusts_day IS NOT NULL) AS adjustments "
        "FROM finance.journals j JOIN finance.postings p USING (journal_id) "
        "WHERE j.currency = $1 AND j.posted_on = $2 GROUP BY j.kind ORDER BY j.kind",
        currency,
        day,
    )
    return [dict(r) for r in rows]


async def adjustments(conn: asyncpg.Connection, currency: str, day: date) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT journal_id::text, kind, adjusts_day::text, stripe_object_id, "
        "source_event_id::text FROM finance.journals WHERE currency = $1 AND posted_on = $2 "
        "AND adjusts_day IS NOT NULL ORDER BY posted_at LIMIT 1000",
        currency,
        day,
    )
    return [dict(r) for r in rows]


async def ledger_now(conn: asyncpg.Connection, currency: str) -> dict[str, int]:
    """The ledger's current Stripe balance, host payables and captured-minus-refunded."""
    row = await conn.fetchrow(
        "SELECT coalesce(sum(p.amount) FILTER (WHERE p.account = $2), 0)::bigint AS pending, "
        "coalesce(sum(p.amount) FILTER (WHERE p.account = $3), 0)::bigint AS available, "
        "coalesce(-sum(p.amount) FILTER (WHERE p.account LIKE $4), 0)::bigint AS payables, "
        "coalesce(sum(p.amount) FILTER (WHERE p.account = $2 AND j.kind IN "
        "('guest_payment_captured', 'guest_refund')), 0)::bigint AS captured_net "
        "FROM finance.postings p JOIN finance.journals j USING (journal_id) "
        "WHERE p.currency = $1",
        currency,
        STRIPE_PENDING,
        STRIPE_AVAILABLE,
        HOST_PAYABLE,
    )
    return dict(row)


async def payments_captured_net(conn: asyncpg.Connection, currency: str) -> int:
    """Captured minus refunded, as payments' facts reported them."""
    total: int = await conn.fetchval(
        "SELECT coalesce(sum(amount), 0)::bigint FROM finance.stripe_objects "
        "WHERE currency = $1 AND kind IN ('charge', 'refund')",
        currency,
    )
    return total


async def queue_owed(conn: asyncpg.Connection, currency: str, host: str | None = None) -> int:
    """What the payout queue still owes hosts on `liability:host_payable:*` (one host's, if
    given): what remains of every payable (less what it recovered of a host's debt, `netted`,
    and less what sits in the host's reserve account, `reserved`; nothing of the share of a
    returned bank debit, whose journal took it back), plus releases not yet transferred (the
    ledger owes those until their transfer is booked)."""
    total: int = await conn.fetchval(
        "SELECT coalesce((SELECT sum(CASE WHEN returned_at IS NULL THEN host_amount ELSE 0 END "
        "- refunded - released - netted + reversed - reserved) FROM finance.payables "
        "WHERE currency = $1 AND ($2::text IS NULL OR host_account_id = $2)), 0)::bigint + "
        "coalesce((SELECT sum(amount) FROM finance.payout_releases WHERE currency = $1 "
        "AND status = 'released' AND ($2::text IS NULL OR host_account_id = $2)), 0)::bigint",
        currency,
        host,
    )
    return total


async def acknowledgements(
    conn: asyncpg.Connection, day: date, currency: str
) -> list[Acknowledgement]:
    rows = await conn.fetch(
        "SELECT item, amount, note, actor FROM finance.close_acknowledgements "
        "WHERE business_date = $1 AND currency = $2 ORDER BY created_at",
        day,
        currency,
    )
    return [Acknowledgement(r["item"], r["amount"], r["note"], r["actor"]) for r in rows]


async def acknowledge(
    conn: asyncpg.Connection, day: date, currency: str, ack: Acknowledgement
) -> None:
    await conn.execute(
        "INSERT INTO finance.close_acknowledgements (business_date, currency, item, amount, "
        "note, actor) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        day,
        currency,
        ack.item,
        ack.amount,
        ack.note,
        ack.actor,
    )


async def save_close(
    conn: asyncpg.Connection,
    day: date,
    currency: str,
    *,
    closed: bool,
    blockers: list[dict[str, Any]],
    report: dict[str, Any],
    at: datetime,
) -> dict[str, Any] | None:
    """Record a close attempt; never overwrites a closed day (compare-and-set on status).
    The report as stored (what a later read returns: dates as text, jsonb's key order); None
    when the day was closed already."""
    stored: dict[str, Any] | None = await conn.fetchval(
        "INSERT INTO finance.day_closes AS d (business_date, currency, status, blockers, "
        "report, closed_at) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, "
        "CASE WHEN $3 = 'closed' THEN $6::timestamptz END) ON CONFLICT (business_date, currency) DO UPDATE "
        "SET status = EXCLUDED.status, blockers = EXCLUDED.blockers, report = EXCLUDED.report, "
        "attempts = d.attempts + 1, updated_at = now(), closed_at = EXCLUDED.closed_at "
        "WHERE d.status <> 'closed' RETURNING report",
        day,
        currency,
        "closed" if closed else "failed",
        blockers,
        report,
        at,  # the books' clock, as in the report (a simulated day closes at its own time)
    )
    return stored


async def closes(
    conn: asyncpg.Connection, currency: str | None, limit: int = 100
) -> list[asyncpg.Record]:
    return await select_all(
        conn,
        "SELECT business_date, currency, status, attempts, blockers, updated_at, closed_at "
        "FROM finance.day_closes WHERE ($1::text IS NULL OR currency = $1) "
        "ORDER BY business_date DESC, currency LIMIT $2",
        currency,
        limit,
    )


async def set_calendar(
    conn: asyncpg.Connection, cutoff_minutes: int, offset_seconds: float
) -> None:
    """The cutoff and the finance clock's offset the posting trigger dates journals by."""
    await conn.execute(
        "UPDATE finance.books_calendar SET cutoff = make_interval(mins => $1), "
        "clock_offset = make_interval(secs => $2) WHERE cutoff <> make_interval(mins => $1) "
        "OR abs(extract(epoch FROM clock_offset) - $2) > 1",
        cutoff_minutes,
        offset_seconds,
    )


async def open_exceptions(db: asyncpg.Pool | asyncpg.Connection, now: datetime) -> asyncpg.Record:
    """How many reconciliation exceptions are open, and the oldest's age in seconds at `now`
    (the metrics' gauges)."""
    row: asyncpg.Record = await db.fetchrow(
        "SELECT count(*) AS open, coalesce(extract(epoch FROM $1::timestamptz - min(raised_at)), 0)"
        "::float8 AS oldest FROM finance.recon_exceptions WHERE status = 'open'",
        now,
    )
    return row


async def latest_closes(db: asyncpg.Pool | asyncpg.Connection) -> list[asyncpg.Record]:
    """Each currency's latest business day's close: its status and when it was last tried."""
    return await select_all(
        db,
        "SELECT DISTINCT ON (currency) currency, status, "
        "extract(epoch FROM updated_at)::float8 AS at "
        "FROM finance.day_closes ORDER BY currency, business_date DESC",
    )
