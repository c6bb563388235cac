"""SQL of the callers' lists: bookings, a host's waiting requests, invites, booking groups.

Each reads one keyset page (domain/pages.py): the rows after a position in a fixed order,
`limit` of them, within a scope (whose things: a guest's, a host's; none for staff) and the
client's filters, which only ever narrow it. Migration 0024 gives every order an index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg

from booking.adapters.repository import BOOKING_COLUMNS
from booking.domain.pages import Filters, Position, Scope


@dataclass
class _Where:
    clauses: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, clause: str, *values: Any) -> None:
        """`clause` with `{}` for each value, in order."""
        numbers = range(len(self.params) + 1, len(self.params) + len(values) + 1)
        self.params.extend(values)
        self.clauses.append(clause.format(*(f"${n}" for n in numbers)))

    def equal(self, column: str, value: Any) -> None:
        if value is not None:
            self.add(f"{column} = {{}}", value)

    def sql(self) -> str:
        return " AND ".join(self.clauses) if self.clauses else "true"


def _scoped(scope: Scope, filters: Filters) -> _Where:
    where = _Where()
    for column in ("guest_id", "host_id"):
        where.equal(column, getattr(scope, column))
        where.equal(column, getattr(filters, column))
    where.equal("listing_id", filters.listing_id)
    if filters.statuses:
        where.add("status = ANY({}::text[])", list(filters.statuses))
    if filters.starts_from is not None:
        where.add("starts_at >= {}", filters.starts_from)
    if filters.starts_to is not None:
        where.add("starts_at < {}", filters.starts_to)
    return where


@dataclass(frozen=True)
class _Order:
    """A list's keyset order: by `at`, then `id` (neither changes once the row is listed)."""

    table: str
    columns: str
    at: str
    id: str
    newest_first: bool = True


_BOOKINGS = _Order("booking.bookings", BOOKING_COLUMNS, "created_at", "booking_id")
_REQUESTS = _Order("booking.bookings", BOOKING_COLUMNS, "respond_by", "booking_id", False)
_INVITES = _Order("booking.invites", "*", "created_at", "invite_id")
_GROUPS = _Order("booking.checkout_groups", "*", "created_at", "group_id")


async def _page(
    conn: asyncpg.Connection, order: _Order, where: _Where, after: Position | None, limit: int
) -> list[asyncpg.Record]:
    """The `limit` rows after `after` in `order`, within `where`."""
    if after is not None:
        beyond = "<" if order.newest_first else ">"
        where.add(f"({order.at}, {order.id}) {beyond} ({{}}, {{}})", after.at, after.id)
    where.params.append(limit)
    direction = " DESC" if order.newest_first else ""
    return list(
        await conn.fetch(
            f"SELECT {order.columns} FROM {order.table} WHERE {where.sql()} "
            f"ORDER BY {order.at}{direction}, {order.id}{direction} LIMIT ${len(where.params)}",
            *where.params,
        )
    )


async def bookings(
    conn: asyncpg.Connection, scope: Scope, filters: Filters, after: Position | None, limit: int
) -> list[asyncpg.Record]:
    """Newest first by `created_at` (set at insert, never changed), then `booking_id`."""
    return await _page(conn, _BOOKINGS, _scoped(scope, filters), after, limit)


async def waiting_requests(
    conn: asyncpg.Connection, scope: Scope, filters: Filters, after: Position | None, limit: int
) -> list[asyncpg.Record]:
    """Requests awaiting their host, soonest `respond_by` first (fixed while a request waits:
    set when the host is asked), then `booking_id`."""
    where = _scoped(scope, filters)
    where.add("status = {}", "awaiting_host")
    return await _page(conn, _REQUESTS, where, after, limit)


async def invites(
    conn: asyncpg.Connection, scope: Scope, filters: Filters, after: Position | None, limit: int
) -> list[asyncpg.Record]:
    """Newest first by `created_at`, then `invite_id`."""
    return await _page(conn, _INVITES, _scoped(scope, filters), after, limit)


async def groups(
    conn: asyncpg.Connection, scope: Scope, filters: Filters, after: Position | None, limit: int
) -> list[asyncpg.Record]:
    """Booking groups (a guest's: `guest_id`; statuses), newest first by `created_at`, then
    `group_id`."""
    where = _Where()
    where.equal("guest_id", scope.guest_id)
    where.equal("guest_id", filters.guest_id)
    if filters.statuses:
        where.add("status = ANY({}::text[])", list(filters.statuses))
    return await _page(conn, _GROUPS, where, after, limit)
