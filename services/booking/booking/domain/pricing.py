"""Instant Book price of one leg: integer minor units, half-up rounding, fee in basis points."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from booking.domain.errors import BookingError, ErrorCode

SLOT = timedelta(minutes=15)  # bookable granularity


@dataclass(frozen=True)
class Price:
    amount: int
    platform_fee: int
    currency: str

    @property
    def host_amount(self) -> int:
        return self.amount - self.platform_fee


def _div_half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def invited_price(*, amount: int, currency: str, platform_fee_bps: int) -> Price:
    """Smart Invite: the host names the total; the platform fee applies to it as usual."""
    return Price(
        amount=amount,
        platform_fee=_div_half_up(amount * platform_fee_bps, 10_000),
        currency=currency,
    )


def price_leg(
    *,
    starts_at: datetime,
    ends_at: datetime,
    hourly_rate: int,
    currency: str,
    platform_fee_bps: int,
    min_hours: int,
) -> Price:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise BookingError(ErrorCode.INVALID_TIME_RANGE, "times must carry a UTC offset")
    duration = ends_at - starts_at
    if duration <= timedelta(0):
        raise BookingError(ErrorCode.INVALID_TIME_RANGE, "ends_at must be after starts_at")
    if duration % SLOT or starts_at.minute % 15 or starts_at.second or starts_at.microsecond:
        raise BookingError(ErrorCode.INVALID_TIME_RANGE, "times must fall on 15-minute slots")
    if duration < timedelta(hours=min_hours):
        raise BookingError(
            ErrorCode.BELOW_MINIMUM_DURATION, f"this listing books at least {min_hours} hour(s)"
        )
    minutes = int(duration.total_seconds()) // 60
    amount = _div_half_up(hourly_rate * minutes, 60)
    fee = _div_half_up(amount * platform_fee_bps, 10_000)
    return Price(amount=amount, platform_fee=fee, currency=currency)
