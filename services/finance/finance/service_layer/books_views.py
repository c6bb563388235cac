"""What finance's staff read and resolve of reconciliation and of the day closes."""

from __future__ import annotations

from datetime import date, datetime

import asyncpg

from finance.adapters import close_repository as close_db
from finance.adapters import recon_repository as recon_db


async def exceptions(
    conn: asyncpg.Connection,
    *,
    status: str | None,
    kind: str | None,
    currency: str | None,
    after: int = 0,
    limit: int,
) -> list[asyncpg.Record]:
    """Reconciliation exceptions after the cursor `after`, oldest first."""
    return await recon_db.list_exceptions(
        conn, status=status, kind=kind, currency=currency, after=after, limit=limit
    )


async def resolve(
    conn: asyncpg.Connection, exception_id: int, actor: str, note: str, now: datetime
) -> asyncpg.Record | None:
    """The exception resolved; None when it is not open (or does not exist)."""
    return await recon_db.resolve_exception(conn, exception_id, actor, note, now)


async def exception(conn: asyncpg.Connection, exception_id: int) -> asyncpg.Record | None:
    return await recon_db.get_exception(conn, exception_id)


async def closes(conn: asyncpg.Connection, currency: str | None) -> list[asyncpg.Record]:
    """The newest closes first (of one currency, or all)."""
    return await close_db.closes(conn, currency)


async def close(conn: asyncpg.Connection, day: date, currency: str) -> asyncpg.Record | None:
    return await close_db.get_close(conn, day, currency)
