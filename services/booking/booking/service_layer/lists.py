"""Use cases: the caller's lists, one keyset page each (read-only; docs/api.md).

Bookings (newest first), a host's requests awaiting an answer (soonest `respond_by` first),
invites, booking groups and receipts (newest first). The caller's scope comes from the gateway
(whose things they are); each item is shown as the one-item route shows it to the same caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from booking.adapters import lists
from booking.adapters.lists import Fetch
from booking.domain import pages
from booking.domain.pages import Filters, ListKind, Position, Scope
from booking.features.groups.views import visible_group
from booking.features.invites.views import invite_view
from booking.features.receipts.service import receipt_view
from booking.service_layer import disputes
from booking.service_layer.booking_views import booking_view


@dataclass(frozen=True)
class Viewer:
    """How items are shown: staff see a dispute's details; only the guest who pays sees the
    checkout's `next_action` (its client secret)."""

    staff: bool = False
    guest: bool = False


@dataclass(frozen=True)
class PageRequest:
    scope: Scope
    filters: Filters
    cursor: str | None
    limit: int


async def bookings(conn: asyncpg.Connection, ask: PageRequest, viewer: Viewer) -> dict[str, Any]:
    pages.check_range(ask.filters.starts_from, ask.filters.starts_to, "starts")
    rows, next_cursor = await _page(
        conn, ask, ListKind.BOOKINGS, lists.bookings, ("created_at", "booking_id")
    )
    return {"data": [await _booking(conn, r, viewer) for r in rows], "next_cursor": next_cursor}


async def host_requests(
    conn: asyncpg.Connection, ask: PageRequest, viewer: Viewer
) -> dict[str, Any]:
    rows, next_cursor = await _page(
        conn, ask, ListKind.REQUESTS, lists.waiting_requests, ("respond_by", "booking_id")
    )
    return {"data": [await _booking(conn, r, viewer) for r in rows], "next_cursor": next_cursor}


async def invites(conn: asyncpg.Connection, ask: PageRequest) -> dict[str, Any]:
    pages.check_range(ask.filters.starts_from, ask.filters.starts_to, "starts")
    rows, next_cursor = await _page(
        conn, ask, ListKind.INVITES, lists.invites, ("created_at", "invite_id")
    )
    return {"data": [invite_view(r) for r in rows], "next_cursor": next_cursor}


async def groups(conn: asyncpg.Connection, ask: PageRequest, viewer: Viewer) -> dict[str, Any]:
    rows, next_cursor = await _page(
        conn, ask, ListKind.GROUPS, lists.groups, ("created_at", "group_id")
    )
    data = [
        await visible_group(conn, r["group_id"], None, staff=viewer.staff) for r in rows
    ]  # the scope was applied by the query: None shows the group as found
    return {"data": data, "next_cursor": next_cursor}


async def receipts(conn: asyncpg.Connection, ask: PageRequest) -> dict[str, Any]:
    rows, next_cursor = await _page(
        conn, ask, ListKind.RECEIPTS, lists.receipts, ("issued_at", "receipt_id")
    )
    return {"data": [receipt_view(r) for r in rows], "next_cursor": next_cursor}


async def _page(
    conn: asyncpg.Connection,
    ask: PageRequest,
    kind: ListKind,
    fetch: Fetch,
    key: tuple[str, str],
) -> tuple[Sequence[asyncpg.Record], str | None]:
    """One row more than asked tells whether another page follows; its cursor is the
    position of the page's last row."""
    after = pages.decode_cursor(kind, ask.cursor)
    rows = await fetch(conn, ask.scope, ask.filters, after, ask.limit + 1)
    if len(rows) <= ask.limit:
        return rows, None
    last = rows[ask.limit - 1]
    return rows[: ask.limit], pages.encode_cursor(kind, Position(last[key[0]], last[key[1]]))


async def _booking(conn: asyncpg.Connection, row: asyncpg.Record, viewer: Viewer) -> dict[str, Any]:
    """As GET /v1/bookings/{id} shows it to the same caller."""
    dispute = await disputes.dispute_of_booking(conn, row, staff=viewer.staff)
    view = {**booking_view(row), "dispute": dispute}
    if not viewer.guest:
        view["next_action"] = None
    return view
