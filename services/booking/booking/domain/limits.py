"""What a booking may ask for: an amount the payment processor can charge, a stay no longer
than its listing allows, times no further ahead than the booking horizon (pure).

The processor's limits live in `domainkit.money` (one table that payments reads too);
here they become booking's refusals, raised before anything is held, stored or charged."""

from __future__ import annotations

from datetime import datetime, timedelta

from booking.domain.errors import BookingError, ErrorCode
from domainkit.money import AMOUNT_TOO_LARGE, charge_limits

# A listing that names no `max_hours` books at most this long (30 days).
DEFAULT_MAX_STAY_HOURS = 30 * 24
# How far ahead a stay may be booked (BOOKING_BOOKING_HORIZON_DAYS).
DEFAULT_BOOKING_HORIZON = timedelta(days=365)


def _money(amount: int, currency: str) -> str:
    return f"{amount} {currency} minor units"


def check_ceiling(amount: int, currency: str, what: str) -> None:
    """Refuse an amount above the largest single charge in `currency` (a quote, a new total)."""
    limits = charge_limits(currency)
    if amount > limits.maximum:
        raise BookingError(
            ErrorCode.AMOUNT_TOO_LARGE,
            f"{what} of {_money(amount, currency)} is above the largest single charge "
            f"({_money(limits.maximum, currency)})",
        )


def check_charge(amount: int, currency: str, what: str) -> None:
    """Refuse an amount that would be charged but that the processor would refuse."""
    limits = charge_limits(currency)
    refusal = limits.refusal(amount)
    if refusal == AMOUNT_TOO_LARGE:
        check_ceiling(amount, currency, what)
    elif refusal is not None:
        raise BookingError(
            ErrorCode.AMOUNT_TOO_SMALL,
            f"{what} of {_money(amount, currency)} is below the smallest charge "
            f"({_money(limits.minimum, currency)})",
        )


def check_horizon(now: datetime, horizon: timedelta, **times: datetime | None) -> None:
    """Every given time must lie within `horizon` of now (a stay must also end within it)."""
    latest = now + horizon
    for name, at in times.items():
        if at is not None and at > latest:
            raise BookingError(
                ErrorCode.BEYOND_BOOKING_HORIZON,
                f"{name} is more than {horizon.days} days ahead: bookings open "
                f"{horizon.days} days in advance",
            )


def check_duration(minutes: int, max_hours: int | None) -> None:
    limit = max_hours or DEFAULT_MAX_STAY_HOURS
    if minutes > limit * 60:
        raise BookingError(
            ErrorCode.ABOVE_MAXIMUM_DURATION, f"this listing books at most {limit} hour(s)"
        )
