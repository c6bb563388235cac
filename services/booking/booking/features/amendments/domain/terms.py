"""What an amendment changes: the terms a proposal asks for, the rules a proposal meets, and
the money it moves (the difference between two quotes; overtime's price).

Pure: the service layer reads the listing's prices and tax rates and passes them in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from booking.domain.errors import BookingError, ErrorCode
from booking.domain.model import BookingStatus
from booking.domain.quote import Line, Pricing, Quote, quote

# Overtime is priced by its duration only: any slot-aligned range of that length will do.
_ANCHOR = datetime(2000, 1, 1, tzinfo=UTC)
OVERTIME_REPORT_WINDOW: Final = timedelta(hours=72)  # after the end
OVERTIME_STEP: Final = timedelta(minutes=30)


@dataclass(frozen=True)
class Difference:
    """What re-pricing moves: `amount` to charge (> 0) or refund (< 0), split like a payment."""

    amount: int
    platform_fee: int  # fees and tax
    host_amount: int
    tax: int
    lines: tuple[tuple[str, int], ...]  # (code, change), for the record


def difference(old: Quote, new: Quote) -> Difference:
    """New minus old, per part. Refused when parts move in opposite directions (say the host
    is paid more while the guest pays less): such a change must be split in two."""
    parts = (
        new.total - old.total,
        new.platform_fee - old.platform_fee,
        new.host_payout - old.host_payout,
        new.tax - old.tax,
    )
    if any(p > 0 for p in parts) and any(p < 0 for p in parts):
        raise BookingError(
            ErrorCode.VALIDATION_FAILED,
            "this change would move money in both directions; propose it as two changes",
        )
    before = {line.code: line.amount for line in old.lines}
    after = {line.code: line.amount for line in new.lines}
    changes = tuple(
        (code, after.get(code, 0) - before.get(code, 0))
        for code in sorted(before.keys() | after.keys())
        if after.get(code, 0) != before.get(code, 0)
    )
    assert sum(amount for _, amount in changes) == parts[0]
    return Difference(parts[0], parts[1], parts[2], parts[3], changes)


def with_overtime(
    old: Quote, listing: Mapping[str, Any], minutes: int, tax_rates: Mapping[str, int]
) -> Quote:
    """The booking's quote plus `minutes` of overtime at the listing's overtime rate (its
    hourly rate when it has none), with the listing's fees and tax, as `overtime:` lines."""
    extra = quote(
        Pricing(
            currency=listing["currency"],
            rate=listing["overtime_hourly_rate"] or listing["hourly_rate"],
            min_units=0,
            guest_service_fee_bps=listing["guest_service_fee_bps"],
            host_fee_bps=listing["platform_fee_bps"],
        ),
        _ANCHOR,
        _ANCHOR + timedelta(minutes=minutes),
        tax_rates=lambda code: tax_rates.get(code, 0),
    )
    return Quote(
        old.currency,
        old.lines
        + tuple(
            Line(
                f"overtime:{line.code}",
                line.kind,
                f"overtime {line.description}",
                line.quantity,
                line.unit_amount,
                line.amount,
                line.tax_code,
                line.refundable,
            )
            for line in extra.lines
        ),
        old.host_fee + extra.host_fee,
        old.host_fee_bps,
        old.tax_version,
    )


@dataclass(frozen=True)
class Terms:
    """What an amendment changes on a booking (its price is the quote next to it)."""

    starts_at: datetime
    ends_at: datetime
    guests: int
    extras: dict[str, int]

    def snapshot(self, quote: Quote) -> dict[str, Any]:
        """The booking's terms before a change, kept on the amendment (`previous`)."""
        return {
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "guests": self.guests,
            "extras": self.extras,
            "quote": quote.as_dict(),
        }

    @classmethod
    def of_snapshot(cls, previous: Mapping[str, Any]) -> Terms:
        return cls(
            datetime.fromisoformat(previous["starts_at"]),
            datetime.fromisoformat(previous["ends_at"]),
            previous["guests"],
            previous["extras"],
        )


def change_terms(
    booking_status: str,
    current: Terms,
    now: datetime,
    *,
    starts_at: datetime | None,
    ends_at: datetime | None,
    guests: int | None,
    extras: Mapping[str, int] | None,
) -> Terms:
    """The terms a proposed change asks for (what it omits stays); refused on a booking that
    is not confirmed or has started, and when it changes nothing."""
    if booking_status != BookingStatus.CONFIRMED or current.starts_at <= now:
        raise BookingError(
            ErrorCode.ILLEGAL_TRANSITION, "only a confirmed booking that has not started changes"
        )
    new = Terms(
        starts_at or current.starts_at,
        ends_at or current.ends_at,
        guests or current.guests,
        current.extras if extras is None else dict(extras),
    )
    if new.starts_at <= now:
        raise BookingError(ErrorCode.INVALID_TIME_RANGE, "a booking must start in the future")
    if new == current:
        raise BookingError(ErrorCode.VALIDATION_FAILED, "the proposal changes nothing")
    return new


def check_overtime(booking_status: str, ends_at: datetime, now: datetime, minutes: int) -> None:
    """Overtime is reported after the end, within 72 hours, in 30-minute steps."""
    if booking_status not in (BookingStatus.CONFIRMED, BookingStatus.COMPLETED):
        raise BookingError(
            ErrorCode.ILLEGAL_TRANSITION, f"a {booking_status} booking has no overtime"
        )
    if not ends_at <= now <= ends_at + OVERTIME_REPORT_WINDOW:
        raise BookingError(
            ErrorCode.OVERTIME_WINDOW_CLOSED,
            "overtime is reported after the end, within 72 hours",
        )
    if minutes <= 0 or timedelta(minutes=minutes) % OVERTIME_STEP:
        raise BookingError(ErrorCode.VALIDATION_FAILED, "overtime comes in 30-minute steps")
