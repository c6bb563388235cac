"""The processor's charge limits, the booking horizon and a listing's longest stay (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from booking.domain import limits
from booking.domain.errors import BookingError, ErrorCode
from booking.domain.quote import Pricing, quote
from domainkit.money import STRIPE_MAX_AMOUNT, charge_limits

NOW = datetime(2027, 1, 1, 10, tzinfo=UTC)


def test_stripe_usd_limits_are_fifty_cents_to_999_999_99() -> None:
    usd = charge_limits("usd")
    assert (usd.minimum, usd.maximum) == (50, 99_999_999)
    assert usd.refusal(50) is None and usd.refusal(99_999_999) is None
    assert usd.refusal(49) == "amount_too_small"
    assert usd.refusal(100_000_000) == "amount_too_large"
    assert charge_limits("GBP").minimum == 30
    assert charge_limits("xyz").maximum == STRIPE_MAX_AMOUNT


@pytest.mark.parametrize(
    ("amount", "code"),
    [(49, ErrorCode.AMOUNT_TOO_SMALL), (100_000_000, ErrorCode.AMOUNT_TOO_LARGE), (10**33, None)],
)
def test_a_charge_outside_the_limits_is_refused(amount: int, code: ErrorCode | None) -> None:
    with pytest.raises(BookingError) as refused:
        limits.check_charge(amount, "usd", "the total")
    assert refused.value.code == (code or ErrorCode.AMOUNT_TOO_LARGE)


def test_the_ceiling_alone_lets_small_amounts_through() -> None:
    limits.check_ceiling(1, "usd", "the quote")
    with pytest.raises(BookingError) as refused:
        limits.check_ceiling(100_000_000, "usd", "the quote")
    assert refused.value.code == ErrorCode.AMOUNT_TOO_LARGE


def test_times_beyond_the_horizon_are_refused() -> None:
    horizon = timedelta(days=365)
    limits.check_horizon(NOW, horizon, starts_at=NOW + horizon, ends_at=None)
    with pytest.raises(BookingError) as refused:
        limits.check_horizon(NOW, horizon, ends_at=NOW + horizon + timedelta(minutes=15))
    assert refused.value.code == ErrorCode.BEYOND_BOOKING_HORIZON
    assert "ends_at" in refused.value.message


@pytest.mark.parametrize(("max_hours", "longest"), [(None, 720), (4, 4)])
def test_a_stay_longer_than_the_listing_allows_is_refused(
    max_hours: int | None, longest: int
) -> None:
    pricing = Pricing(currency="usd", rate=100, max_hours=max_hours)
    quote(pricing, NOW, NOW + timedelta(hours=longest))
    with pytest.raises(BookingError) as refused:
        quote(pricing, NOW, NOW + timedelta(hours=longest, minutes=15))
    assert refused.value.code == ErrorCode.ABOVE_MAXIMUM_DURATION
