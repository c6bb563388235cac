"""The lists' query parameters and pages (OpenAPI): bounded at the edge like every input
(entrypoints/fields.py); a value that does not validate is 422 `validation_failed`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, Field

from booking.domain.model import BookingStatus
from booking.domain.pages import CURSOR_MAX_LENGTH, DEFAULT_LIMIT, MAX_LIMIT
from booking.entrypoints.fields import IDENT, Instant
from booking.entrypoints.schemas import BookingOut
from booking.features.groups.domain import GroupStatus
from booking.features.groups.schemas import GroupOut
from booking.features.invites.domain import InviteStatus
from booking.features.invites.schemas import InviteOut
from eventkit.http_errors import ID_MAX_LENGTH


def _id_query(description: str) -> object:
    return Query(min_length=1, max_length=ID_MAX_LENGTH, pattern=IDENT, description=description)


Limit = Annotated[
    int,
    Query(ge=1, le=MAX_LIMIT, description=f"Items per page, 1 to {MAX_LIMIT}."),
]
Cursor = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=CURSOR_MAX_LENGTH,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The previous page's `next_cursor`, as it was (opaque). A cursor of "
        "another list, or an altered one, is 422 `invalid_cursor`.",
    ),
]
ListingFilter = Annotated[str | None, _id_query("Only this listing's.")]
GuestFilter = Annotated[
    str | None, _id_query("Only this guest's (staff; for anyone else it only narrows).")
]
HostFilter = Annotated[
    str | None, _id_query("Only this host's (staff; for anyone else it only narrows).")
]
StartsFrom = Annotated[
    Instant | None,
    Query(description="Only those starting at or after this time (ISO 8601, e.g. `...Z`)."),
]
StartsTo = Annotated[
    Instant | None,
    Query(
        description="Only those starting before this time; not before `starts_from` "
        "(422 `invalid_time_range`)."
    ),
]
BookingStatuses = Annotated[
    list[BookingStatus] | None,
    Query(max_length=len(BookingStatus), description="Any of these statuses (repeat it)."),
]
InviteStatuses = Annotated[
    list[InviteStatus] | None,
    Query(max_length=len(InviteStatus), description="Any of these statuses (repeat it)."),
]
GroupStatuses = Annotated[
    list[GroupStatus] | None,
    Query(max_length=len(GroupStatus), description="Any of these statuses (repeat it)."),
]


def _next() -> Any:
    return Field(description="Pass it as `cursor` for the next page; null: the last page.")


class BookingPage(BaseModel):
    data: list[BookingOut] = Field(description="As `GET /v1/bookings/{id}` shows each.")
    next_cursor: str | None = _next()


class InvitePage(BaseModel):
    data: list[InviteOut]
    next_cursor: str | None = _next()


class GroupPage(BaseModel):
    data: list[GroupOut] = Field(description="As `GET /v1/checkout-groups/{id}` shows each.")
    next_cursor: str | None = _next()


__all__ = [
    "DEFAULT_LIMIT",
    "BookingPage",
    "BookingStatuses",
    "Cursor",
    "GroupPage",
    "GroupStatuses",
    "GuestFilter",
    "HostFilter",
    "InvitePage",
    "InviteStatuses",
    "Limit",
    "ListingFilter",
    "StartsFrom",
    "StartsTo",
]
