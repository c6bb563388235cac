import pytest

from booking.domain.errors import BookingError, ErrorCode
from booking.domain.model import BookingStatus, transition


def test_authorization_confirms_and_decline_fails_a_pending_booking() -> None:
    assert (
        transition(BookingStatus.PENDING_PAYMENT, "payment_authorized") == BookingStatus.CONFIRMED
    )
    assert transition(BookingStatus.PENDING_PAYMENT, "payment_failed") == BookingStatus.FAILED


@pytest.mark.parametrize("status", [BookingStatus.CONFIRMED, BookingStatus.FAILED])
def test_a_settled_booking_refuses_payment_triggers(status: BookingStatus) -> None:
    with pytest.raises(BookingError) as caught:
        transition(status, "payment_authorized")
    assert caught.value.code == ErrorCode.ILLEGAL_TRANSITION
