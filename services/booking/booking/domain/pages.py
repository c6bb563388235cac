"""Keyset pages of the gateway's lists (pure): opaque cursors and the page size.

A page is the rows after a position in a fixed order whose keys never change while a row is
listed: a booking's `(created_at, booking_id)`, a waiting request's `(respond_by, booking_id)`.
Offsets would skip or repeat rows when rows arrive or leave between two pages; a position does
neither for the rows that were there all along.

The cursor is that position, base64url-encoded JSON `[list, sort key, id]`. It is opaque to
clients (its shape may change) and carries nothing they may not see: the caller's scope is
applied again on every page. A cursor of another list, or one that does not decode, is refused
with 422 `invalid_cursor`, never a server error.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from booking.domain.errors import BookingError, ErrorCode

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
CURSOR_MAX_LENGTH = 200  # a real cursor is under 120 characters


class ListKind(StrEnum):
    """Which list a cursor belongs to: a position in one order means nothing in another."""

    BOOKINGS = "b"
    REQUESTS = "r"
    INVITES = "i"
    GROUPS = "g"
    RECEIPTS = "c"


# Lists whose rows have text ids (`rcpt_...`); the others' ids are UUIDs.
_TEXT_IDS = frozenset({ListKind.RECEIPTS})
_TEXT_ID_MAX_LENGTH = 100


@dataclass(frozen=True)
class Scope:
    """Whose rows the caller may see: a guest's (`guest_id`), a host's (`host_id`), or, with
    neither, anyone's (staff)."""

    guest_id: str | None = None
    host_id: str | None = None


@dataclass(frozen=True)
class Filters:
    """What the client asked for. Equality filters are ANDed with the scope: a guest asking
    for another guest's id gets an empty page, never that guest's rows."""

    guest_id: str | None = None
    host_id: str | None = None
    listing_id: str | None = None
    statuses: tuple[str, ...] = ()
    starts_from: datetime | None = None  # starts_at >= starts_from
    starts_to: datetime | None = None  # starts_at < starts_to


@dataclass(frozen=True)
class Position:
    """The last row of a page: its sort key and its id (the tie-breaker)."""

    at: datetime
    id: uuid.UUID | str


def encode_cursor(kind: ListKind, position: Position) -> str:
    raw = json.dumps([kind.value, position.at.isoformat(), str(position.id)])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(kind: ListKind, cursor: str | None) -> Position | None:
    """The position a cursor names; None for the first page; 422 `invalid_cursor` otherwise."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        tag, at, id_ = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError("a time without its offset")
        # In UTC: an offset at the edge of the calendar cannot even be sent to PostgreSQL.
        position = Position(moment.astimezone(UTC), _row_id(kind, id_))
    except (ValueError, TypeError, AttributeError, OverflowError, binascii.Error):
        raise _invalid("not a cursor of this list") from None
    if tag != kind.value:
        raise _invalid("a cursor of another list")
    return position


def _row_id(kind: ListKind, value: object) -> uuid.UUID | str:
    """The cursor's row id: a UUID, or for receipts printable text (an altered cursor may
    hold anything: a NUL, a lone surrogate, a number, a list)."""
    if kind not in _TEXT_IDS:
        return uuid.UUID(str(value))
    if not (isinstance(value, str) and 0 < len(value) <= _TEXT_ID_MAX_LENGTH):
        raise ValueError("not a row id")
    if not value.isprintable():
        raise ValueError("not a row id")
    return value


def check_range(start: datetime | None, end: datetime | None, name: str) -> None:
    """A `<name>_from` after its `<name>_to` selects nothing: refused, most likely a mistake."""
    if start is not None and end is not None and start > end:
        raise BookingError(
            ErrorCode.INVALID_TIME_RANGE, f"{name}_from ({start}) is after {name}_to ({end})"
        )


def _invalid(why: str) -> BookingError:
    return BookingError(
        ErrorCode.INVALID_CURSOR, f"{why}: pass the next_cursor of the previous page as it was"
    )
