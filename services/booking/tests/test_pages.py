"""Cursors of the gateway's lists: opaque, bound to their list, and refused (never a crash)
when altered."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from booking.domain.errors import BookingError, ErrorCode
from booking.domain.pages import (
    CURSOR_MAX_LENGTH,
    ListKind,
    Position,
    check_range,
    decode_cursor,
    encode_cursor,
)

AT = datetime(2027, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)


def _raw(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def test_a_cursor_gives_back_the_exact_position_it_was_made_from() -> None:
    position = Position(AT, uuid.uuid4())
    cursor = encode_cursor(ListKind.BOOKINGS, position)
    assert decode_cursor(ListKind.BOOKINGS, cursor) == position
    assert len(cursor) < CURSOR_MAX_LENGTH


def test_a_position_in_another_offset_comes_back_in_utc() -> None:
    at = AT.astimezone(timezone(timedelta(hours=-5)))
    decoded = decode_cursor(
        ListKind.INVITES, encode_cursor(ListKind.INVITES, Position(at, uuid.UUID(int=1)))
    )
    assert decoded is not None and decoded.at == AT and decoded.at.utcoffset() == timedelta(0)


def test_no_cursor_is_the_first_page() -> None:
    assert decode_cursor(ListKind.GROUPS, None) is None


def test_a_cursor_of_another_list_is_refused() -> None:
    cursor = encode_cursor(ListKind.BOOKINGS, Position(AT, uuid.uuid4()))
    with pytest.raises(BookingError) as caught:
        decode_cursor(ListKind.REQUESTS, cursor)
    assert caught.value.code == ErrorCode.INVALID_CURSOR
    assert "another list" in caught.value.message


@pytest.mark.parametrize(
    "cursor",
    [
        "x",
        "not-base64-at-all",
        _raw(123),
        _raw(["b", "2027-03-01T10:00:00+00:00"]),
        _raw(["b", "2027-03-01T10:00:00", "0d4b6c2a-1e3f-4a5b-8c7d-9e0f1a2b3c41"]),  # no offset
        _raw(["b", "yesterday", "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a842"]),
        _raw(["b", "2027-03-01T10:00:00+00:00", "not-a-uuid"]),
        _raw(["b", "2027-03-01T10:00:00+00:00", 5]),
        _raw(["b", 5, "7b8c9d0e-1f2a-4b3c-9d4e-5f6a7b8c9d43"]),
        _raw({"a": 1, "b": 2, "c": 3}),
        _raw(
            ["b", "9999-12-31T23:59:59-23:00", "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c44"]
        ),  # beyond year 9999 in UTC
        base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(),
    ],
)
def test_an_altered_cursor_is_refused_with_a_code(cursor: str) -> None:
    with pytest.raises(BookingError) as caught:
        decode_cursor(ListKind.BOOKINGS, cursor)
    assert caught.value.code == ErrorCode.INVALID_CURSOR


@given(
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1)
)
def test_any_string_of_the_cursor_alphabet_decodes_or_is_refused(cursor: str) -> None:
    try:
        decode_cursor(ListKind.BOOKINGS, cursor)
    except BookingError as exc:
        assert exc.code == ErrorCode.INVALID_CURSOR


def test_a_range_that_ends_before_it_starts_is_refused() -> None:
    check_range(AT, AT, "starts")  # empty, but not backwards
    check_range(None, AT, "starts")
    with pytest.raises(BookingError) as caught:
        check_range(AT, AT - timedelta(seconds=1), "starts")
    assert caught.value.code == ErrorCode.INVALID_TIME_RANGE
