"""SQL of reserve policies (versioned), their assignments and the reserves held (asyncpg)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import asyncpg

from domainkit.rows import from_row
from eventkit.rows import insert, select_all, settle
from finance.adapters.payables_repository import FinanceDB
from finance.domain.reserves import ReserveKind, ReservePolicy, Scope


def policy(row: asyncpg.Record) -> ReservePolicy:
    return from_row(ReservePolicy, row, kind=ReserveKind(row["kind"]))


async def add_version(
    conn: asyncpg.Connection, draft: ReservePolicy, *, actor: str, note: str
) -> ReservePolicy:
    """The policy's next version (1 for a new policy). Serialised per policy by an advisory
    lock: two staff creating versions at once get 2 and 3, not a duplicate key."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext('reserve_policy:' || $1))", draft.policy_id
    )
    version: int = await conn.fetchval(
        "SELECT coalesce(max(version), 0) + 1 FROM finance.reserve_policies WHERE policy_id = $1",
        draft.policy_id,
    )
    await insert(
        conn,
        "finance.reserve_policies",
        {
            "policy_id": draft.policy_id,
            "version": version,
            "kind": draft.kind.value,
            "percent_bps": draft.percent_bps,
            "hold_days": draft.hold_days,
            "fixed_amount": draft.fixed_amount,
            "currency": draft.currency,
            "created_by": actor,
            "note": note,
        },
    )
    return replace(draft, version=version)


async def exists(conn: FinanceDB, policy_id: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM finance.reserve_policies WHERE policy_id = $1 LIMIT 1", policy_id
        )
    )


async def assign(
    conn: asyncpg.Connection, scope: Scope, scope_key: str, policy_id: str, actor: str
) -> None:
    await conn.execute(
        "INSERT INTO finance.reserve_assignments (scope, scope_key, policy_id, assigned_by) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (scope, scope_key) DO UPDATE "
        "SET policy_id = EXCLUDED.policy_id, assigned_by = EXCLUDED.assigned_by, "
        "assigned_at = now()",
        scope.value,
        scope_key,
        policy_id,
        actor,
    )


async def assigned(
    conn: FinanceDB, host_account_id: str, tier: str | None
) -> dict[tuple[Scope, str], ReservePolicy]:
    """The latest version of each policy assigned to this host, its tier or the platform."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (a.scope) a.scope, a.scope_key, p.* "
        "FROM finance.reserve_assignments a JOIN finance.reserve_policies p USING (policy_id) "
        "WHERE (a.scope = 'host' AND a.scope_key = $1) OR (a.scope = 'tier' AND a.scope_key = $2)"
        " OR a.scope = 'platform' ORDER BY a.scope, p.version DESC",
        host_account_id,
        tier or "",
    )
    return {(Scope(r["scope"]), r["scope_key"]): policy(r) for r in rows}


async def policies(conn: FinanceDB) -> list[asyncpg.Record]:
    return await select_all(
        conn, "SELECT * FROM finance.reserve_policies ORDER BY policy_id, version"
    )


async def assignments(conn: FinanceDB) -> list[asyncpg.Record]:
    return await select_all(
        conn, "SELECT * FROM finance.reserve_assignments ORDER BY scope, scope_key"
    )


async def held(conn: asyncpg.Connection, host_account_id: str, currency: str) -> int:
    total: int = await conn.fetchval(
        "SELECT coalesce(sum(amount), 0)::bigint FROM finance.reserves "
        "WHERE host_account_id = $1 AND currency = $2 AND state = 'held'",
        host_account_id,
        currency,
    )
    return total


async def add_reserve(conn: asyncpg.Connection, row: dict[str, Any]) -> None:
    await insert(conn, "finance.reserves", row, "ON CONFLICT DO NOTHING")


async def take(conn: asyncpg.Connection, reserve_id: str, at: datetime) -> asyncpg.Record | None:
    """Mark a held reserve released (compare-and-set); None if it was not held."""
    changes = {"state": "released", "released_at": at}
    return await settle(
        conn, "finance.reserves", ("reserve_id", reserve_id), changes, only_while="state = 'held'"
    )


async def for_entry(conn: FinanceDB, entry_id: str) -> list[asyncpg.Record]:
    return await select_all(conn, "SELECT * FROM finance.reserves WHERE entry_id = $1", entry_id)
