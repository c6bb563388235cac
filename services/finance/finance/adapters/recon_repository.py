"""SQL of the Stripe import and the reconciliation (asyncpg): balance transactions, the import
cursor, payments' expectations (`stripe_objects`), the three-way view and exceptions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from eventkit.rows import insert, select_all, select_one, settle
from finance.domain.reconciliation import (
    FEE_BEARING_TYPES,
    IMPORT_KINDS,
    STRIPE_PENDING,
    UNMATCHED_TYPES,
    BalanceTransaction,
    Finding,
    ObjectView,
    Side,
)

T = "finance.stripe_balance_transactions"


async def cursor(conn: asyncpg.Connection, name: str) -> asyncpg.Record:
    await insert(conn, "finance.recon_cursors", {"name": name}, "ON CONFLICT DO NOTHING")
    row = await select_one(conn, "finance.recon_cursors", "name", name)
    assert row is not None  # inserted above if it was not there
    return row


async def request_import(conn: asyncpg.Connection, name: str, at: datetime) -> None:
    """Ask for an import soon (a webhook fact announced new balance transactions)."""
    await conn.execute(
        "INSERT INTO finance.recon_cursors (name, requested_at) VALUES ($1, $2) "
        "ON CONFLICT (name) DO UPDATE SET requested_at = EXCLUDED.requested_at",
        name,
        at,
    )


async def mark_started(conn: asyncpg.Connection, name: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE finance.recon_cursors SET last_started_at = $2 WHERE name = $1", name, at
    )


async def advance(
    conn: asyncpg.Connection, name: str, watermark: datetime | None, ids: list[str], imported: int
) -> None:
    await conn.execute(
        "UPDATE finance.recon_cursors SET watermark = $2, ids_at_watermark = $3, "
        "imported = imported + $4, last_finished_at = now() WHERE name = $1",
        name,
        watermark,
        ids,
        imported,
    )


async def oldest_pending(conn: asyncpg.Connection) -> datetime | None:
    """The creation time of the oldest transaction Stripe has not made available yet."""
    oldest: datetime | None = await conn.fetchval(
        f"SELECT min(created) FROM {T} WHERE status = 'pending'"
    )
    return oldest


async def pending_due(conn: asyncpg.Connection, now: datetime) -> tuple[datetime, datetime] | None:
    """The `created` span of the pending transactions whose `available_on` has come by `now`
    (or is unknown): the only ones Stripe may have made available since they were read."""
    row = await conn.fetchrow(
        f"SELECT min(created) AS first, max(created) AS last FROM {T} "
        "WHERE status = 'pending' AND (available_on <= $1 OR available_on IS NULL)",
        now,
    )
    return None if row is None or row["first"] is None else (row["first"], row["last"])


async def mark_matched(conn: asyncpg.Connection, name: str, at: datetime) -> None:
    """The database time the round's match started: the next round judges what changed since."""
    await conn.execute("UPDATE finance.recon_cursors SET matched_at = $2 WHERE name = $1", name, at)


async def upsert(
    conn: asyncpg.Connection, bts: Sequence[BalanceTransaction]
) -> list[tuple[str, bool]]:
    """Store new transactions and pending → available changes; (txn_id, is_new) of each row
    that changed (a transaction seen before, unchanged, returns nothing).

    A transaction read again unchanged (every round re-lists the look-back's) is neither
    written nor locked: an `ON CONFLICT DO UPDATE ... WHERE` locks the row even when its
    condition is false, and 40,000 such locks wrote 12 MB of WAL (docs/benchmarks.md)."""
    rows = await conn.fetch(
        "WITH i AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], "
        "$5::bigint[], $6::bigint[], $7::text[], $8::text[], $9::timestamptz[], "
        "$10::timestamptz[], $11::text[]) AS i(txn_id, type, source, amount, fee, net, "
        "currency, status, created, available_on, reporting_category)), "
        f"added AS (INSERT INTO {T} (txn_id, type, source, amount, fee, net, currency, status, "
        "created, available_on, reporting_category) SELECT * FROM i "
        "ON CONFLICT (txn_id) DO NOTHING RETURNING txn_id), "
        f"available AS (UPDATE {T} t SET status = i.status, available_on = i.available_on, "
        "updated_at = now() FROM i WHERE t.txn_id = i.txn_id AND t.status = 'pending' "
        "AND i.status = 'available' RETURNING t.txn_id) "
        "SELECT txn_id, true AS inserted FROM added "
        "UNION ALL SELECT txn_id, false FROM available",
        [b.txn_id for b in bts],
        [b.type for b in bts],
        [b.source for b in bts],
        [b.amount for b in bts],
        [b.fee for b in bts],
        [b.net for b in bts],
        [b.currency for b in bts],
        [b.status for b in bts],
        [b.created for b in bts],
        [b.available_on for b in bts],
        [b.reporting_category for b in bts],
    )
    return [(r["txn_id"], r["inserted"]) for r in rows]


async def database_now(conn: asyncpg.Connection) -> datetime:
    """The database's clock: the one that stamps `imported_at`, `recorded_at`, `posted_at`."""
    found: datetime = await conn.fetchval("SELECT now()")
    return found


async def lock_rounds(conn: asyncpg.Connection, name: str) -> None:
    """Wait for, and take, the session's advisory lock named `name` (one round at a time)."""
    await conn.execute("SELECT pg_advisory_lock(hashtext($1))", name)


async def unlock_rounds(conn: asyncpg.Connection, name: str) -> None:
    await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", name)


async def analyze(conn: asyncpg.Connection) -> None:
    """Fresh planner statistics for the tables the match reads."""
    for table in (T, "finance.journals", "finance.postings"):
        await conn.execute(f"ANALYZE {table}")


async def record_object(
    conn: asyncpg.Connection,
    source_event_id: uuid.UUID,
    *,
    once_per_object: bool = False,
    **row: Any,
) -> None:
    """What payments asked Stripe for, from one fact (a redelivered fact changes nothing). With
    `once_per_object`, a second fact about the same Stripe object (the same capture announced
    again under another event id) adds nothing either: Stripe moved that money once."""
    await conn.execute(
        "INSERT INTO finance.stripe_objects (source_event_id, kind, object_id, payment_id, "
        "booking_id, amount, currency) SELECT $1, $2, $3, $4, $5, $6, $7 "
        "WHERE NOT $8 OR NOT EXISTS (SELECT 1 FROM finance.stripe_objects o "
        "WHERE o.object_id = $3 AND o.kind = $2 AND o.source_event_id <> $1) "
        "ON CONFLICT (source_event_id, kind) DO UPDATE SET amount = EXCLUDED.amount",
        source_event_id,
        row["kind"],
        row["object_id"],
        row.get("payment_id"),
        row.get("booking_id"),
        row["amount"],
        row["currency"],
        once_per_object,
    )


async def charge_of(conn: asyncpg.Connection, payment_id: str) -> str | None:
    found: str | None = await conn.fetchval(
        "SELECT object_id FROM finance.stripe_objects WHERE payment_id = $1 AND kind = 'charge' "
        "LIMIT 1",
        payment_id,
    )
    return found


# The objects a round judges when it is not a full one: those any side touched since `$5`
# (a balance transaction imported or made available, a payments fact, a journal) and those
# with an open exception. Each part is an index range scan.
_TOUCHED = f"""
touched AS (
    SELECT coalesce(source, txn_id) AS object_id FROM {T} WHERE updated_at >= $5
    UNION SELECT object_id FROM finance.stripe_objects WHERE recorded_at >= $5
    UNION SELECT stripe_object_id FROM finance.journals
           WHERE posted_at >= $5 AND stripe_object_id IS NOT NULL
    UNION SELECT o.object_id FROM finance.journals j
           JOIN finance.stripe_objects o ON o.source_event_id = j.source_event_id
           WHERE j.posted_at >= $5 AND j.stripe_object_id IS NULL
    UNION SELECT object_id FROM finance.recon_exceptions WHERE status = 'open'),"""


def _views_sql(touched_only: bool) -> str:
    """Every Stripe object seen from the three sides, or (`touched_only`) those of `touched`.
    A journal names its object, or reaches it through the payments fact that caused it."""
    among = " AND {} IN (SELECT object_id FROM touched)" if touched_only else " AND {} IS NOT NULL"
    return f"""
WITH {_TOUCHED if touched_only else ""}
s AS (
    SELECT coalesce(source, txn_id) AS object_id, sum(amount)::bigint AS amount,
           min(currency) AS currency, count(DISTINCT currency) AS currencies,
           array_agg(DISTINCT type) AS types,
           coalesce(sum(fee) FILTER (WHERE type <> ALL($1::text[])), 0)::bigint AS odd_fee,
           max(imported_at) AS last_seen
      FROM {T} WHERE type <> ALL($2::text[]){among.format("coalesce(source, txn_id)")}
     GROUP BY 1),
e AS (
    SELECT object_id, sum(amount)::bigint AS amount, min(currency) AS currency,
           max(recorded_at) AS last_seen
      FROM finance.stripe_objects WHERE true{among.format("object_id")} GROUP BY object_id),
lj AS (
    SELECT journal_id, stripe_object_id AS object_id, posted_at FROM finance.journals
     WHERE kind <> ALL($4::text[]){among.format("stripe_object_id")}
    UNION ALL
    SELECT j.journal_id, o.object_id, j.posted_at FROM finance.stripe_objects o
      JOIN finance.journals j ON j.source_event_id = o.source_event_id
     WHERE j.stripe_object_id IS NULL AND j.kind <> ALL($4::text[]){among.format("o.object_id")}),
l AS (
    SELECT lj.object_id, sum(p.amount)::bigint AS amount, min(p.currency) AS currency,
           max(lj.posted_at) AS last_seen
      FROM lj JOIN finance.postings p USING (journal_id)
     WHERE p.account = $3
     GROUP BY 1)
SELECT coalesce(s.object_id, l.object_id, e.object_id) AS object_id,
       s.amount AS s_amount, s.currency AS s_currency, s.currencies, s.types, s.odd_fee,
       l.amount AS l_amount, l.currency AS l_currency, e.amount AS e_amount,
       e.currency AS e_currency, greatest(s.last_seen, l.last_seen, e.last_seen) AS last_seen
  FROM s FULL JOIN l ON l.object_id = s.object_id
  FULL JOIN e ON e.object_id = coalesce(s.object_id, l.object_id)
"""


_VIEWS, _VIEWS_TOUCHED = _views_sql(False), _views_sql(True)


async def object_views(
    conn: asyncpg.Connection, touched_since: datetime | None = None
) -> list[ObjectView]:
    """Every Stripe object seen from Stripe, the ledger and payments (one set-based query), or
    only those touched since `touched_since` and those with an open exception."""
    args: list[Any] = [
        sorted(FEE_BEARING_TYPES),
        sorted(UNMATCHED_TYPES),
        STRIPE_PENDING,
        list(IMPORT_KINDS),
    ]
    sql = _VIEWS if touched_since is None else _VIEWS_TOUCHED
    if touched_since is not None:
        args.append(touched_since)
    return [_view(r) for r in await conn.fetch(sql, *args)]


def _view(r: asyncpg.Record) -> ObjectView:
    stripe = None if r["s_amount"] is None else Side(r["s_amount"], r["s_currency"])
    if stripe is not None and r["currencies"] > 1:
        stripe = Side(r["s_amount"], "mixed")
    return ObjectView(
        object_id=r["object_id"],
        stripe=stripe,
        ledger=None if r["l_amount"] is None else Side(r["l_amount"], r["l_currency"]),
        payments=None if r["e_amount"] is None else Side(r["e_amount"], r["e_currency"]),
        types=frozenset(r["types"] or ()),
        unexpected_fee=r["odd_fee"] or 0,
        last_seen=r["last_seen"],
    )


async def sync_exceptions(
    conn: asyncpg.Connection, judged: list[str], findings: list[Finding], now: datetime
) -> tuple[list[asyncpg.Record], int]:
    """Raise each new finding once (one resolved by a person stays resolved while its detail
    is unchanged; one the reconciliation resolved is raised again if it comes back) and
    resolve open exceptions of judged objects that now match.
    Returns (the exceptions raised, how many were resolved)."""
    raised = await conn.fetch(
        "INSERT INTO finance.recon_exceptions (kind, object_id, currency, detail, raised_at) "
        "SELECT f.kind, f.object_id, f.currency, f.detail, $5 "
        "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) "
        "AS f(kind, object_id, currency, detail) WHERE NOT EXISTS (SELECT 1 FROM "
        "finance.recon_exceptions x WHERE x.object_id = f.object_id AND x.kind = f.kind "
        "AND (x.status = 'open' OR (x.detail = f.detail AND x.resolved_by <> 'reconciliation'))) "
        "ON CONFLICT (object_id, kind) WHERE status = 'open' DO NOTHING RETURNING *",
        [str(f.kind) for f in findings],
        [f.object_id for f in findings],
        [f.currency for f in findings],
        [f.detail for f in findings],
        now,
    )
    resolved = await conn.execute(
        "UPDATE finance.recon_exceptions x SET status = 'resolved', resolved_at = $4, "
        "resolved_by = 'reconciliation', note = 'the three sides now agree' "
        "WHERE x.status = 'open' AND x.object_id = ANY($1::text[]) AND NOT EXISTS ("
        "SELECT 1 FROM unnest($2::text[], $3::text[]) AS f(object_id, kind) "
        "WHERE f.object_id = x.object_id AND f.kind = x.kind)",
        judged,
        [f.object_id for f in findings],
        [str(f.kind) for f in findings],
        now,
    )
    return list(raised), int(resolved.split()[-1])


async def list_exceptions(
    conn: asyncpg.Connection,
    *,
    status: str | None = "open",
    kind: str | None = None,
    currency: str | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[asyncpg.Record]:
    return await select_all(
        conn,
        "SELECT * FROM finance.recon_exceptions WHERE exception_id > $1 "
        "AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR kind = $3) "
        "AND ($4::text IS NULL OR currency = $4) ORDER BY exception_id LIMIT $5",
        after,
        status,
        kind,
        currency,
        limit,
    )


async def resolve_exception(
    conn: asyncpg.Connection, exception_id: int, actor: str, note: str, now: datetime
) -> asyncpg.Record | None:
    """Resolve an open exception; None if it is not open (compare-and-set on the status)."""
    changes = {"status": "resolved", "resolved_at": now, "resolved_by": actor, "note": note}
    return await settle(
        conn,
        "finance.recon_exceptions",
        ("exception_id", exception_id),
        changes,
        only_while="status = 'open'",
    )


async def get_exception(conn: asyncpg.Connection, exception_id: int) -> asyncpg.Record | None:
    return await select_one(conn, "finance.recon_exceptions", "exception_id", exception_id)


async def open_exceptions(conn: asyncpg.Connection, currency: str) -> list[asyncpg.Record]:
    return await select_all(
        conn,
        "SELECT exception_id, kind, object_id, detail, raised_at FROM "
        "finance.recon_exceptions WHERE status = 'open' AND currency = $1 "
        "ORDER BY exception_id",
        currency,
    )
