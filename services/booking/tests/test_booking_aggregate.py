"""The `Booking` aggregate over the booking table (pure): one trigger, one `Change`."""

import uuid

import pytest

from booking.domain.errors import BookingError, ErrorCode
from booking.domain.model import (
    TABLE,
    Booking,
    BookingMode,
    BookingStatus,
    Guard,
    Kind,
    Trigger,
    mermaid,
)

S = BookingStatus


def _booking(
    status: BookingStatus, mode: BookingMode = BookingMode.INSTANT, grouped: bool = False
) -> Booking:
    return Booking(uuid.uuid4(), status, mode, grouped, version=3)


def test_of_reads_the_row_status_mode_grouping_and_version() -> None:
    booking_id, group_id = uuid.uuid4(), uuid.uuid4()
    row = {
        "booking_id": booking_id,
        "status": "pending_payment",
        "mode": "request",
        "group_id": group_id,
        "version": 7,
        "amount": 1000,  # other columns are not the aggregate's
    }
    booking = Booking.of(row)
    assert booking == Booking(booking_id, S.PENDING_PAYMENT, BookingMode.REQUEST, True, 7)
    assert Booking.of({**row, "group_id": None}).grouped is False


def test_an_illegal_trigger_is_refused_with_its_code_and_changes_nothing() -> None:
    booking = _booking(S.PENDING_PAYMENT)
    with pytest.raises(BookingError) as caught:
        booking.apply(Trigger.HOST_ACCEPTED)
    assert caught.value.code == ErrorCode.ILLEGAL_TRANSITION
    assert booking.status is S.PENDING_PAYMENT
    assert not booking.allows(Trigger.HOST_ACCEPTED)


def test_a_guarded_row_picks_the_target_for_instant_request_and_group_leg() -> None:
    cases = {
        (BookingMode.INSTANT, False): (S.CONFIRMED, ("booking.booking_confirmed",)),
        (BookingMode.REQUEST, False): (S.AWAITING_HOST, ("booking.host_response_requested",)),
        (BookingMode.INSTANT, True): (S.AWAITING_GROUP, ("booking.leg_ready",)),
        (BookingMode.REQUEST, True): (S.AWAITING_HOST, ("booking.host_response_requested",)),
    }
    for (mode, grouped), (target, emits) in cases.items():
        booking = _booking(S.PENDING_PAYMENT, mode, grouped)
        change = booking.apply(Trigger.PAYMENT_AUTHORIZED)
        assert (change.status, change.emits) == (target, emits), (mode, grouped)
        assert booking.status is target


def test_a_guard_that_excludes_the_booking_is_an_illegal_transition() -> None:
    """A group leg's payment failure is its group's, never its own (guard `single`)."""
    leg = _booking(S.PENDING_PAYMENT, grouped=True)
    with pytest.raises(BookingError) as caught:
        leg.apply(Trigger.PAYMENT_FAILED)
    assert caught.value.code == ErrorCode.ILLEGAL_TRANSITION
    single = _booking(S.PENDING_PAYMENT)
    assert single.apply(Trigger.PAYMENT_FAILED).status is S.FAILED


def test_next_tells_the_change_without_applying_it() -> None:
    booking = _booking(S.AWAITING_HOST, BookingMode.REQUEST)
    change = booking.next(Trigger.HOST_ACCEPTED)
    assert change.status is S.CONFIRMED
    assert booking.status is S.AWAITING_HOST


def test_every_change_emits_exactly_what_the_table_declares() -> None:
    for (source, trigger), candidates in TABLE.candidates.items():
        for mode in BookingMode:
            for grouped in (False, True):
                declared = [t for t in candidates if t.holds(Kind(mode, grouped))]
                booking = _booking(source, mode, grouped)
                if not declared:
                    assert not booking.allows(trigger)
                    continue
                change = booking.apply(trigger)
                assert (change.status, change.emits) == (declared[0].target, declared[0].emits)
                assert len(change.emits) == 1  # one integration event per booking transition


def test_guards_are_callable_over_the_kind_and_named_by_their_value() -> None:
    assert Guard.GROUP_INSTANT(Kind(BookingMode.INSTANT, grouped=True))
    assert not Guard.GROUP_INSTANT(Kind(BookingMode.REQUEST, grouped=True))
    assert not Guard.SINGLE(Kind(grouped=True))
    assert str(Guard.REQUEST_TO_BOOK) == "request to book"
    assert "payment_authorized [group leg, instant book] / booking.leg_ready" in mermaid()
