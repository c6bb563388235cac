"""Every staff mutation runs through `once`: an idempotency token, then the action, then the
audit record, so a repeated token returns the first result and does nothing again.

The token is claimed before the action (INSERT ... ON CONFLICT, never check-then-insert), so two
concurrent calls with one token cannot both act: the second sees `in_progress`. An action that
fails releases its token; one that succeeded records its result and its audit row in one
transaction. An action on Kafka or another service cannot share Postgres' transaction: a crash
between it and that commit leaves the token `running`, and the audit then lacks the row (the
dead letter's replay header still says what happened).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from eventkit.auth import Principal
from ops.adapters import mutations_repository as repo
from ops.domain.errors import OpsError, invalid

Record = Callable[[asyncpg.Connection], Awaitable[None]]


@dataclass(frozen=True)
class Caller:
    """Who acts and under which idempotency token."""

    pool: asyncpg.Pool
    principal: Principal
    token: str

    async def once(
        self,
        *,
        action: str,
        target: str,
        request: dict[str, Any],
        act: Callable[[], Awaitable[Outcome]],
    ) -> dict[str, Any]:
        """`once`, as this caller under its token."""
        return await once(
            self.pool, token=self.token, principal=self.principal, action=action,
            target=target, request=request, act=act,
        )  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    """What an action did: its result, the target's state before and after, a write to keep."""

    result: dict[str, Any]
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    record: Record | None = None


async def once(
    pool: asyncpg.Pool,
    *,
    token: str,
    principal: Principal,
    action: str,
    target: str,
    request: dict[str, Any],
    act: Callable[[], Awaitable[Outcome]],
) -> dict[str, Any]:
    if not token.strip() or len(token) > 200:
        raise invalid("idempotencyToken must be 1 to 200 characters.")
    async with pool.acquire() as conn:
        if not await repo.claim(conn, token, action, principal.actor, request):
            return _repeat(await repo.earlier(conn, token, request), action)
    try:
        outcome = await act()
    except BaseException:
        async with pool.acquire() as conn:
            await repo.release(conn, token)
        raise
    async with pool.acquire() as conn, conn.transaction():
        if outcome.record is not None:
            await outcome.record(conn)
        await repo.audit(
            conn,
            actor=principal.actor,
            role=principal.role.value,
            action=action,
            target=target,
            before=outcome.before,
            after=outcome.after,
            token=token,
        )
        await repo.finish(conn, token, outcome.result)
    return outcome.result


def _repeat(row: asyncpg.Record | None, action: str) -> dict[str, Any]:
    if row is None:  # released between our claim and this read: the caller may try again
        raise OpsError("in_progress", "This idempotency token is being used; try again.")
    if not (row["action"] == action and row["same_request"]):
        raise OpsError(
            "idempotency_conflict",
            "This idempotency token was used for a different action; use a new token.",
        )
    if row["status"] != "done":
        raise OpsError("in_progress", "The first call with this idempotency token is running.")
    result: dict[str, Any] = row["result"]
    return result


async def audit(
    pool: asyncpg.Pool, target: str | None, limit: int, offset: int
) -> list[asyncpg.Record]:
    """Staff mutations, newest first (of one target, or all)."""
    async with pool.acquire() as conn:
        return await repo.audit_log(conn, target, limit, offset)
