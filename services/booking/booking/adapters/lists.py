"""SQL of the callers' lists: bookings, a host's waiting requests, invites, booking groups,
receipts.

Each reads one keyset page (domain/pages.py): the rows after a position in a fixed order,
`limit` of them, within a scope (whose things: a guest's, a host's; none for staff) and the
client's filters, which only ever narrow it. Migration 0024 gives every order an index.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from booking.adapters.repository import BOOKING_COLUMNS
from booking.domain.pages import Filters, Position, Scope

Fetch = Callable[
    [asyncpg.Connection, Scope, Filters, Position | None, int], Awaitable[list[asyncpg.Record]]
]
"""One list: the `limit` rows after a position, within a scope and the client's filters."""


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

    def any_of(self, column: str, values: tuple[str, ...]) -> None:
        if values:
            self.add(f"{column} = ANY({{}}::text[])", list(values))

    def sql(self) -> str:
        return " AND ".join(self.clauses) if self.clauses else "true"


def _scoped(scope: Scope, filters: Filters) -> _Where:
    where = _Where()
    for column in ("guest_id", "host_id"):
        where.equal(column, getattr(scope, column))
        where.equal(column, getattr(filters, column))
    where.equal("listing_id", filters.listing_id)
    where.any_of("status", filters.statuses)
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
# A receipt with the journal finance posted for it, once it has.
_RECEIPTS = _Order(
    "booking.receipts r LEFT JOIN booking.ledger_journals j USING (source_event_id)",
    "r.*, j.journal_id, j.kind AS journal_kind, j.postings",
    "r.issued_at",
    "r.receipt_id",
)


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


def _lister(order: _Order, where: Callable[[Scope, Filters], _Where] = _scoped) -> Fetch:
    """The list of `order` within `where` (the caller's scope and filters by default)."""

    async def page(
        conn: asyncpg.Connection, scope: Scope, filters: Filters, after: Position | None, limit: int
    ) -> list[asyncpg.Record]:
        return await _page(conn, order, where(scope, filters), after, limit)

    return page


def _waiting(scope: Scope, filters: Filters) -> _Where:
    where = _scoped(scope, filters)
    where.add("status = {}", "awaiting_host")
    return where


def _of_guest(scope: Scope, filters: Filters) -> _Where:
    """A group's scope and filters: its guest (`guest_id`) and statuses."""
    where = _Where()
    where.equal("guest_id", scope.guest_id)
    where.equal("guest_id", filters.guest_id)
    where.any_of("status", filters.statuses)
    return where


bookings = _lister(_BOOKINGS)
"""Newest first by `created_at` (set at insert, never changed), then `booking_id`."""
waiting_requests = _lister(_REQUESTS, _waiting)
"""Requests awaiting their host, soonest `respond_by` first (fixed while a request waits:
set when the host is asked), then `booking_id`."""
invites = _lister(_INVITES)
"""Newest first by `created_at`, then `invite_id`."""
groups = _lister(_GROUPS, _of_guest)
"""Booking groups (a guest's: `guest_id`; statuses), newest first by `created_at`, then
`group_id`."""


def _of_payer(scope: Scope, filters: Filters) -> _Where:
    """Receipts' scope: the guest who paid (`guest_id`; none for admins)."""
    where = _Where()
    where.equal("r.guest_id", scope.guest_id)
    return where


receipts = _lister(_RECEIPTS, _of_payer)
"""A guest's receipts (everyone's for admins), newest first by `issued_at` (set when issued),
then `receipt_id`."""
