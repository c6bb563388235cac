"""Gateway routes that list the caller's own things: bookings, a host's inbox of requests,
invites and booking groups (docs/api.md). Nobody sees anyone else's: the scope comes from the
token, and filters only narrow it. Staff (admin, trust) see everyone's and filter by guest or
host."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Annotated, Any, TypeVar

import asyncpg
from fastapi import APIRouter, Depends
from pydantic import BaseModel

from booking.domain.pages import Filters, Scope
from booking.entrypoints.auth import STAFF, Principal, Role, require_role
from booking.entrypoints.common import Reader, Reading
from booking.entrypoints.list_schemas import (
    DEFAULT_LIMIT,
    BookingPage,
    BookingStatuses,
    Cursor,
    GroupPage,
    GroupStatuses,
    GuestFilter,
    HostFilter,
    InvitePage,
    InviteStatuses,
    Limit,
    ListingFilter,
    StartsFrom,
    StartsTo,
)
from booking.service_layer import lists
from booking.service_layer.lists import PageRequest, Viewer
from eventkit.http_errors import ErrorOut

router = APIRouter(prefix="/v1")


def _errors(forbidden: str) -> dict[int | str, dict[str, Any]]:
    return {
        401: {"model": ErrorOut, "description": "No or an invalid bearer token: `unauthenticated`"},
        403: {"model": ErrorOut, "description": f"`forbidden`: {forbidden}"},
        422: {
            "model": ErrorOut,
            "description": "A parameter does not validate (`validation_failed`), the cursor is "
            "not this list's (`invalid_cursor`) or `starts_from` is after `starts_to` "
            "(`invalid_time_range`).",
        },
    }


def _list(
    path: str, page: type[BaseModel], tag: str, *, forbidden: str, summary: str, description: str
) -> Callable[[Route], Route]:
    """A list route: a page of `page`'s items; `forbidden` says who may not list them."""
    return router.get(
        path,
        response_model=page,
        responses=_errors(forbidden),
        tags=[tag],
        summary=summary,
        description=description,
    )


def _scope(principal: Principal, *roles: Role) -> Scope:
    """The caller's own rows (a guest's, a host's), or anyone's for staff."""
    require_role(principal, *roles, *STAFF)
    if principal.role in STAFF:
        return Scope()
    if principal.role == Role.GUEST:
        return Scope(guest_id=principal.sub)
    return Scope(host_id=principal.sub)


def _viewer(principal: Principal) -> Viewer:
    return Viewer(staff=principal.role in STAFF, guest=principal.role == Role.GUEST)


def _narrowed(
    listing_id: ListingFilter = None,
    guest_id: GuestFilter = None,
    host_id: HostFilter = None,
    starts_from: StartsFrom = None,
    starts_to: StartsTo = None,
) -> Filters:
    """The filters of a list of bookings or invites (their statuses apart: each has its own)."""
    return Filters(
        guest_id=guest_id,
        host_id=host_id,
        listing_id=listing_id,
        starts_from=starts_from,
        starts_to=starts_to,
    )


Narrowed = Annotated[Filters, Depends(_narrowed)]

Route = TypeVar("Route", bound=Callable[..., Awaitable[dict[str, Any]]])
Lister = Callable[[asyncpg.Connection, PageRequest, Viewer], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Paging:
    """What every list route takes: the caller and the page they ask for."""

    read: Reading
    cursor: str | None
    limit: int

    async def answer(self, lister: Lister, filters: Filters, *roles: Role) -> dict[str, Any]:
        """The page `lister` reads in the caller's scope (403 `forbidden` to other roles)."""
        principal = self.read.principal
        ask = PageRequest(_scope(principal, *roles), filters, self.cursor, self.limit)
        async with self.read.connection() as conn:
            return await lister(conn, ask, _viewer(principal))


async def _paging(read: Reader, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Paging:
    return Paging(read, cursor, limit)


Page = Annotated[Paging, Depends(_paging)]


@_list(
    "/bookings",
    BookingPage,
    "bookings",
    forbidden="a role other than guest, host or staff",
    summary="The caller's bookings, newest first, filtered and cursor-paginated",
    description="A guest's own bookings; a host's, on their listings; staff (admin, trust) "
    "everyone's, with `guest_id` and `host_id` to narrow. Newest first (`created_at`, then "
    "`booking_id`: neither ever changes), so paging while bookings are made neither repeats "
    "nor skips one: new ones come before the first page. Each item is the booking as "
    "`GET /v1/bookings/{id}` shows it to the same caller.",
)
async def list_bookings(
    *, status: BookingStatuses = None, page: Page, narrowed: Narrowed
) -> dict[str, Any]:
    filters = replace(narrowed, statuses=tuple(status or ()))
    return await page.answer(lists.bookings, filters, Role.GUEST, Role.HOST)


@_list(
    "/host/requests",
    BookingPage,
    "request-to-book",
    forbidden="guests have no inbox",
    summary="A host's inbox: Request-to-Book bookings awaiting the host's answer",
    description="Every booking (or group leg) in `awaiting_host` on the host's listings, the "
    "soonest `respond_by` first (then `booking_id`); answer each with `POST "
    "/v1/bookings/{id}/accept` or `/decline`. A request leaves the inbox once answered or "
    "expired. Staff (admin, trust) see every host's, `host_id` narrows.",
)
async def list_host_requests(
    listing_id: ListingFilter = None, host_id: HostFilter = None, *, page: Page
) -> dict[str, Any]:
    filters = Filters(host_id=host_id, listing_id=listing_id)
    return await page.answer(lists.host_requests, filters, Role.HOST)


@_list(
    "/invites",
    InvitePage,
    "smart-invite",
    forbidden="a role other than guest, host or staff",
    summary="The caller's invites, newest first",
    description="A guest's invites (sent to them); a host's (sent by them); staff (admin, "
    "trust) everyone's, with `guest_id` and `host_id` to narrow.",
)
async def list_invites(
    *, status: InviteStatuses = None, page: Page, narrowed: Narrowed
) -> dict[str, Any]:
    filters = replace(narrowed, statuses=tuple(status or ()))
    return await page.answer(_invites, filters, Role.GUEST, Role.HOST)


async def _invites(conn: asyncpg.Connection, ask: PageRequest, _: Viewer) -> dict[str, Any]:
    return await lists.invites(conn, ask)  # an invite shows the same to everyone who sees it


@_list(
    "/checkout-groups",
    GroupPage,
    "booking groups",
    forbidden="hosts see their legs in `GET /v1/bookings`, not the groups",
    summary="The caller's booking groups, newest first",
    description="A guest's Linked Booking Groups with their legs; staff (admin, trust) "
    "everyone's, `guest_id` narrows. A host's legs are in `GET /v1/bookings` (a group names "
    "other hosts' bookings).",
)
async def list_groups(
    status: GroupStatuses = None, guest_id: GuestFilter = None, *, page: Page
) -> dict[str, Any]:
    filters = Filters(guest_id=guest_id, statuses=tuple(status or ()))
    return await page.answer(lists.groups, filters, Role.GUEST)
