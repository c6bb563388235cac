"""SQL of staff mutations: idempotency tokens (`ops.mutations`) and the audit log (`ops.audit`)."""

from __future__ import annotations

from typing import Any

import asyncpg


async def claim(
    conn: asyncpg.Connection, token: str, action: str, actor: str, request: dict[str, Any]
) -> bool:
    """True when this call owns the token; False when the token was used before."""
    return bool(
        await conn.fetchval(
            "INSERT INTO mutations (token, action, actor, request) VALUES ($1, $2, $3, $4::jsonb) "
            "ON CONFLICT (token) DO NOTHING RETURNING true",
            token,
            action,
            actor,
            request,
        )
    )


async def earlier(
    conn: asyncpg.Connection, token: str, request: dict[str, Any]
) -> asyncpg.Record | None:
    """The token's first use; `same_request`: whether it carried this request (compared as
    jsonb, so key order and 1 against 1.0 do not matter)."""
    return await conn.fetchrow(
        "SELECT action, request = $2 AS same_request, result, status FROM mutations "
        "WHERE token = $1",
        token,
        request,
    )


async def release(conn: asyncpg.Connection, token: str) -> None:
    """The action failed: the token may be used again (nothing was done under it)."""
    await conn.execute("DELETE FROM mutations WHERE token = $1 AND status = 'running'", token)


async def finish(conn: asyncpg.Connection, token: str, result: dict[str, Any]) -> None:
    await conn.execute(
        "UPDATE mutations SET result = $2::jsonb, status = 'done', finished_at = now() "
        "WHERE token = $1",
        token,
        result,
    )


async def audit(
    conn: asyncpg.Connection,
    *,
    actor: str,
    role: str,
    action: str,
    target: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    token: str,
) -> None:
    await conn.execute(
        "INSERT INTO audit (actor, role, action, target, before, after, token) "
        "VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7)",
        actor,
        role,
        action,
        target,
        before,
        after,
        token,
    )


async def audit_log(
    conn: asyncpg.Connection, target: str | None, limit: int, offset: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM audit WHERE ($1::text IS NULL OR target = $1) ORDER BY id DESC "
        "LIMIT $2 OFFSET $3",
        target,
        limit,
        offset,
    )
