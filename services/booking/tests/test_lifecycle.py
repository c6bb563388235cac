"""`lifecycle.apply`: the aggregate's change, written on the version read, and exactly the
declared events published (no database: the repository's write and the outbox are recorders)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from booking.adapters import repository
from booking.domain.errors import BookingError, ErrorCode
from booking.domain.model import BOOKING_CONFIRMED, HOST_ASKED, BookingStatus, Trigger
from booking.service_layer import booking_messages as messages
from booking.service_layer import lifecycle
from booking.service_layer.publishing import Cause

CAUSE = Cause(uuid.uuid4(), uuid.uuid4())


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[uuid.UUID, int, dict[str, Any]]]:
    recorded: list[tuple[uuid.UUID, int, dict[str, Any]]] = []

    async def change_booking(conn: object, booking_id: uuid.UUID, version: int, **c: Any) -> None:
        recorded.append((booking_id, version, c))

    monkeypatch.setattr(repository, "change_booking", change_booking)
    return recorded


def _row(mode: str, status: str = "pending_payment") -> dict[str, Any]:
    return {
        "booking_id": uuid.uuid4(),
        "status": status,
        "mode": mode,
        "group_id": None,
        "version": 4,
        "amount": 12_000,
        "currency": "usd",
        "host_id": "host_1",
        "listing_id": "lst_1",
        "respond_by": None,
    }


def _builders(row: dict[str, Any]) -> dict[str, Any]:
    return {
        BOOKING_CONFIRMED: lambda: messages.confirmed(row, "pi_1"),
        HOST_ASKED: lambda: messages.host_asked(row, "pi_1", row["respond_by"]),
    }


async def test_instant_book_writes_confirmed_and_publishes_only_the_confirmation(
    outbox: Any,
    writes: list[tuple[uuid.UUID, int, dict[str, Any]]],
) -> None:
    row = _row("instant")
    trigger = Trigger.PAYMENT_AUTHORIZED
    done = await lifecycle.apply(
        outbox.unit(),
        row,
        trigger,
        _builders(row),
        CAUSE,
        payment_id="pi_1",
    )
    assert done.status is BookingStatus.CONFIRMED
    assert writes == [(row["booking_id"], 4, {"status": "confirmed", "payment_id": "pi_1"})]
    [(event, meta)] = outbox.added
    assert event == messages.confirmed(row, "pi_1")
    assert meta == {
        "key": str(row["booking_id"]),
        "correlation_id": CAUSE.correlation_id,
        "causation_id": CAUSE.causation_id,
    }


async def test_an_illegal_trigger_writes_and_publishes_nothing(
    outbox: Any,
    writes: list[tuple[uuid.UUID, int, dict[str, Any]]],
) -> None:
    row = _row("request", status="confirmed")
    with pytest.raises(BookingError) as caught:
        await lifecycle.apply(
            outbox.unit(),
            row,
            Trigger.HOST_ACCEPTED,
            _builders(row),
            CAUSE,
        )
    assert caught.value.code == ErrorCode.ILLEGAL_TRANSITION
    assert writes == []
    assert outbox.added == []
