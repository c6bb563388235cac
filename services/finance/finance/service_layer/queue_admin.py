"""Staff use cases around the queue that are not entry transitions: reading an entry with its
history, a host's payout settings, reserve policies and their assignments (REST and CLI share
them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from finance.adapters import disputes_repository as disputes_db
from finance.adapters import payables_repository as payables_db
from finance.adapters import queue_repository as queue_db
from finance.adapters import reserves_repository as reserves_db
from finance.adapters.payables_repository import FinanceDB
from finance.domain.reserves import InvalidPolicy, ReserveKind, ReservePolicy, Scope


class UnknownPolicy(LookupError):
    """An assignment names no reserve policy."""


def plain(row: Any) -> dict[str, Any]:
    """A row as JSON-ready values (times as ISO 8601, arrays as lists)."""
    out: dict[str, Any] = {}
    for key, value in dict(row).items():
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, (list, tuple)):
            value = list(value)
        out[key] = value
    return out


# One page of the queue in entry id order, after the cursor `after` (an entry id): the
# repository's read as it is (nothing to add to it here).
page = queue_db.page


async def show(db: FinanceDB, entry_id: str) -> dict[str, Any] | None:
    row = await queue_db.get(db, entry_id)
    if row is None:
        return None
    releases = [
        r
        for r in await payables_db.releases_for(db, row["booking_id"])
        if r["payment_id"] == row["payment_id"]
    ]
    owed = await _owed(db, row["host_account_id"], row["currency"])
    return {
        **plain(row),
        "host_owes": owed,
        "history": [plain(h) for h in await queue_db.history(db, entry_id)],
        "reserves": [plain(r) for r in await reserves_db.for_entry(db, entry_id)],
        "releases": [plain(r) for r in releases],
        "dispute_recoveries": [
            plain(r) for r in await disputes_db.for_entry(db, row["payment_id"], row["booking_id"])
        ],
    }


async def _owed(db: FinanceDB, host_account_id: str, currency: str) -> int:
    if isinstance(db, asyncpg.Connection):
        return await queue_db.receivable(db, host_account_id, currency)
    async with db.acquire() as conn:
        return await queue_db.receivable(conn, host_account_id, currency)


async def set_host(
    conn: asyncpg.Connection,
    host_account_id: str,
    actor: str,
    delay_hours: float | None,
    risk_tier: str | None,
) -> dict[str, Any]:
    """Set a host's payout delay (applies to payables queued from now on) and risk tier."""
    values: dict[str, Any] = {"updated_by": actor}
    if delay_hours is not None:
        values["payout_delay_seconds"] = round(delay_hours * 3600)
    if risk_tier is not None:
        values["risk_tier"] = risk_tier or None
    await queue_db.set_host(conn, host_account_id, **values)
    row = await queue_db.host(conn, host_account_id)
    return plain(row)


async def new_policy(
    conn: asyncpg.Connection, fields: dict[str, Any], actor: str, note: str
) -> dict[str, Any]:
    draft = ReservePolicy(
        policy_id=fields["policy_id"],
        version=0,
        kind=ReserveKind(fields["kind"]),
        percent_bps=fields.get("percent_bps") or 0,
        hold_days=fields.get("hold_days") or 0,
        fixed_amount=fields.get("fixed_amount") or 0,
        currency=fields.get("currency"),
    )
    draft.check()
    policy = await reserves_db.add_version(conn, draft, actor=actor, note=note)
    return {
        "policy_id": policy.policy_id,
        "version": policy.version,
        "kind": policy.kind.value,
        "percent_bps": policy.percent_bps,
        "hold_days": policy.hold_days,
        "fixed_amount": policy.fixed_amount,
        "currency": policy.currency,
    }


async def assign(
    conn: asyncpg.Connection, scope: Scope, scope_key: str, policy_id: str, actor: str
) -> dict[str, Any]:
    """Apply the policy's latest version (at each payable's queueing) to the scope."""
    if not await reserves_db.exists(conn, policy_id):
        raise UnknownPolicy(f"no reserve policy {policy_id}")
    key = "" if scope is Scope.PLATFORM else scope_key
    if scope is not Scope.PLATFORM and not key:
        raise InvalidPolicy(f"a {scope.value} assignment needs a scope_key")
    await reserves_db.assign(conn, scope, key, policy_id, actor)
    return {"scope": scope.value, "scope_key": key, "policy_id": policy_id}


async def policies(db: FinanceDB) -> dict[str, Any]:
    return {
        "policies": [plain(r) for r in await reserves_db.policies(db)],
        "assignments": [plain(r) for r in await reserves_db.assignments(db)],
    }
