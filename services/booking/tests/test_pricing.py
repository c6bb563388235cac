"""The base price of a stay: rate times duration, the host fee in basis points, half up."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from booking.domain.errors import BookingError, ErrorCode
from booking.domain.quote import Pricing, Quote, quote

START = datetime(2027, 3, 1, 10, tzinfo=UTC)


def price(
    hours: float, rate: int = 4500, bps: int = 1500, min_hours: int = 1, start: datetime = START
) -> Quote:
    pricing = Pricing("usd", rate, min_units=min_hours, host_fee_bps=bps)
    return quote(pricing, start, start + timedelta(hours=hours))


def test_price_is_rate_times_duration_with_fee_in_basis_points() -> None:
    p = price(3)
    assert (p.total, p.host_fee, p.host_payout, p.currency) == (13500, 2025, 11475, "usd")


def test_quarter_hours_round_half_up_to_the_minor_unit() -> None:
    # 1h15 at 7550/h = 9437.5 -> 9438; fee 10 % of 9438 = 943.8 -> 944
    p = price(1.25, rate=7550, bps=1000)
    assert (p.total, p.host_fee) == (9438, 944)
    assert p.total == p.host_fee + p.host_payout


@pytest.mark.parametrize(
    ("hours", "code"),
    [
        (0, ErrorCode.INVALID_TIME_RANGE),
        (-1, ErrorCode.INVALID_TIME_RANGE),
        (1.1, ErrorCode.INVALID_TIME_RANGE),
        (1, ErrorCode.BELOW_MINIMUM_DURATION),
    ],
)
def test_invalid_ranges_are_refused_with_a_code(hours: float, code: ErrorCode) -> None:
    with pytest.raises(BookingError) as caught:
        price(hours, min_hours=2)
    assert caught.value.code == code


def test_start_must_fall_on_a_slot_and_carry_an_offset() -> None:
    with pytest.raises(BookingError):
        price(2, start=START + timedelta(minutes=7))
    with pytest.raises(BookingError):
        price(2, start=START.replace(tzinfo=None))


@pytest.mark.parametrize(
    ("offset", "on_a_slot"),
    [
        (timedelta(hours=5, minutes=30), True),  # India: 10:00 there is 04:30 UTC
        (timedelta(hours=5, minutes=45), True),  # Nepal
        (timedelta(hours=14, minutes=59), False),  # 10:00 there is 19:01 UTC the day before
        (timedelta(hours=-3, minutes=-7), False),
    ],
)
def test_the_slots_are_utcs_whatever_the_offset_the_times_are_given_in(
    offset: timedelta, on_a_slot: bool
) -> None:
    start = datetime(2027, 3, 1, 10, tzinfo=timezone(offset))
    if on_a_slot:
        assert price(2, start=start).total == 9000
        return
    with pytest.raises(BookingError) as caught:
        price(2, start=start)
    assert caught.value.code == ErrorCode.INVALID_TIME_RANGE
