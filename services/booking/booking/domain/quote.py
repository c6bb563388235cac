"""Quotes: the priced line items of one booking (pure).

Rounding rule (the only one): every line is computed in integer minor units and rounded half
up once, where it is computed; totals are sums of lines, never recomputed from rates. So:
- the guest's total is the sum of the lines;
- the host's payout is the host lines (base, extras, cleaning) minus the host fee;
- the platform keeps the guest service fee and the host fee, and collects the tax;
- `total == host_payout + platform_revenue + tax`, to the minor unit, always.

Tax comes from a tax adapter as a rate per tax code (basis points); each taxable line is taxed
on its own and the tax is shown as one line per tax code. The price list a quote is made from
is `booking.domain.listing_pricing` (its names are importable from here too).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from booking.domain.errors import BookingError, ErrorCode
from booking.domain.limits import check_duration
from booking.domain.listing_pricing import ExtraPrice as ExtraPrice
from booking.domain.listing_pricing import ExtraUnit, Pricing, RateUnit

SLOT = timedelta(minutes=15)  # bookable granularity
BPS = 10_000


def div_half_up(numerator: int, denominator: int) -> int:
    """Integer division rounding half up (for non-negative numbers)."""
    return (2 * numerator + denominator) // (2 * denominator)


def share(amount: int, bps: int) -> int:
    return div_half_up(amount * bps, BPS)


class LineKind(StrEnum):
    BASE = "base"
    EXTRA = "extra"
    CLEANING = "cleaning"
    GUEST_SERVICE_FEE = "guest_service_fee"
    TAX = "tax"


HOST_LINES = (LineKind.BASE, LineKind.EXTRA, LineKind.CLEANING)


@dataclass(frozen=True)
class Line:
    code: str  # base, cleaning, guest_service_fee, extra:<code>, tax:<tax code>
    kind: LineKind
    description: str
    quantity: int
    unit_amount: int
    amount: int
    tax_code: str | None  # None: not taxable (tax lines, the service fee unless taxed)
    refundable: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "kind": self.kind.value,
            "description": self.description,
            "quantity": self.quantity,
            "unit_amount": self.unit_amount,
            "amount": self.amount,
            "tax_code": self.tax_code,
            "refundable": self.refundable,
        }

    @classmethod
    def of(cls, d: Mapping[str, Any]) -> Line:
        return cls(
            d["code"],
            LineKind(d["kind"]),
            d["description"],
            d["quantity"],
            d["unit_amount"],
            d["amount"],
            d["tax_code"],
            d["refundable"],
        )


@dataclass(frozen=True)
class Quote:
    currency: str
    lines: tuple[Line, ...]
    host_fee: int  # withheld from the host's payout; not a line the guest pays
    host_fee_bps: int
    tax_version: str = ""

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)

    def _sum(self, *kinds: LineKind) -> int:
        return sum(line.amount for line in self.lines if line.kind in kinds)

    @property
    def subtotal(self) -> int:
        """The host's lines: base, extras and cleaning."""
        return self._sum(*HOST_LINES)

    @property
    def tax(self) -> int:
        return self._sum(LineKind.TAX)

    @property
    def guest_service_fee(self) -> int:
        return self._sum(LineKind.GUEST_SERVICE_FEE)

    @property
    def host_payout(self) -> int:
        return self.subtotal - self.host_fee

    @property
    def platform_revenue(self) -> int:
        return self.guest_service_fee + self.host_fee

    @property
    def platform_fee(self) -> int:
        """Everything of the total that is not the host's: fees, and the tax it remits."""
        return self.platform_revenue + self.tax

    def as_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "lines": [{**line.as_dict(), "currency": self.currency} for line in self.lines],
            "total": self.total,
            "host_fee": self.host_fee,
            "host_fee_bps": self.host_fee_bps,
            "host_payout": self.host_payout,
            "platform_revenue": self.platform_revenue,
            "tax": self.tax,
            "tax_version": self.tax_version,
        }

    def taxable(self) -> dict[str, int]:
        """The amount of the lines per tax code (what a tax provider is asked about)."""
        out: dict[str, int] = {}
        for line in self.lines:
            if line.tax_code is not None:
                out[line.tax_code] = out.get(line.tax_code, 0) + line.amount
        return out

    def with_taxes(self, taxes: Mapping[str, int], version: str) -> Quote:
        """This quote with its tax lines replaced by `taxes` (tax code -> amount)."""
        lines = [line for line in self.lines if line.kind is not LineKind.TAX]
        for code, amount in sorted(taxes.items()):
            if amount < 0:
                raise ValueError(f"negative tax for {code}")
            if amount:
                lines.append(
                    Line(
                        f"tax:{code}", LineKind.TAX, f"tax on {code}", 1, amount, amount, None, True
                    )
                )
        return Quote(self.currency, tuple(lines), self.host_fee, self.host_fee_bps, version)

    @classmethod
    def of_booking(cls, booking: Mapping[str, Any]) -> Quote:
        """The quote snapshotted on a booking; for one priced before line items, a single base
        line with its fee withheld."""
        snapshot = booking["quote"]
        if snapshot:
            return cls.of(snapshot)
        amount, fee = booking["amount"], booking["platform_fee"]
        return cls(
            booking["currency"],
            (Line("base", LineKind.BASE, "stay", 1, amount, amount, None, True),),
            fee,
            div_half_up(fee * BPS, amount) if amount else 0,
        )

    @classmethod
    def of(cls, d: Mapping[str, Any]) -> Quote:
        return cls(
            d["currency"],
            tuple(Line.of(line) for line in d["lines"]),
            d["host_fee"],
            d["host_fee_bps"],
            d.get("tax_version", ""),
        )


TaxRates = Callable[[str], int]  # tax code -> rate in basis points


def _units(pricing: Pricing, starts_at: datetime, ends_at: datetime) -> tuple[int, int]:
    """(billable units, minutes) of the time range; refuses ranges the listing cannot book."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise BookingError(ErrorCode.INVALID_TIME_RANGE, "times must carry a UTC offset")
    duration = ends_at - starts_at
    if duration <= timedelta(0):
        raise BookingError(ErrorCode.INVALID_TIME_RANGE, "ends_at must be after starts_at")
    start = starts_at.astimezone(UTC)  # the slots are UTC's: an offset may move the minute
    if duration % SLOT or start.minute % 15 or start.second or start.microsecond:
        raise BookingError(ErrorCode.INVALID_TIME_RANGE, "times must fall on 15-minute slots")
    minutes = int(duration.total_seconds()) // 60
    check_duration(minutes, pricing.max_hours)
    if pricing.rate_unit is RateUnit.DAY:
        units = -(-minutes // (24 * 60))  # a started day counts
        unit_name = "day"
    else:
        units = minutes  # priced per minute of the hourly rate, half up
        unit_name = "hour"
    minimum = pricing.min_units * (60 if pricing.rate_unit is RateUnit.HOUR else 1)
    if units < minimum:
        raise BookingError(
            ErrorCode.BELOW_MINIMUM_DURATION,
            f"this listing books at least {pricing.min_units} {unit_name}(s)",
        )
    return units, minutes


def quote(
    pricing: Pricing,
    starts_at: datetime,
    ends_at: datetime,
    *,
    guests: int = 1,
    extras: Mapping[str, int] | None = None,
    tax_rates: TaxRates = lambda _code: 0,
    tax_version: str = "",
    base_amount: int | None = None,
) -> Quote:
    """The line items of booking `pricing`'s listing for this time, guests and extras
    (`extras`: code -> quantity for per-booking extras; per-hour and per-guest extras take
    their quantity from the time and the guests). `base_amount` is a Smart Invite's price: the
    whole quote, all-inclusive, with the host fee withheld from it."""
    if not 1 <= guests <= pricing.max_guests:
        raise BookingError(
            ErrorCode.VALIDATION_FAILED, f"this listing takes 1 to {pricing.max_guests} guests"
        )
    units, minutes = _units(pricing, starts_at, ends_at)
    base = _base_line(pricing, units, minutes)
    if base_amount is not None:
        # A Smart Invite's price is all-inclusive: the host names what the guest pays; the
        # host fee applies to it as usual.
        invited = Line(
            "base", LineKind.BASE, "invited price", 1, base_amount, base_amount, None, True
        )
        return Quote(
            pricing.currency,
            (invited,),
            share(base_amount, pricing.host_fee_bps),
            pricing.host_fee_bps,
            tax_version,
        )
    lines = [base, *_extra_lines(pricing, extras or {}, minutes, guests)]
    subtotal = _add_fees(pricing, lines)
    lines.extend(_tax_lines(lines, tax_rates))
    return Quote(
        currency=pricing.currency,
        lines=tuple(lines),
        host_fee=share(subtotal, pricing.host_fee_bps),
        host_fee_bps=pricing.host_fee_bps,
        tax_version=tax_version,
    )


def _base_line(pricing: Pricing, units: int, minutes: int) -> Line:
    """The rent: whole started days, or the hourly rate per minute (half up)."""
    if pricing.rate_unit is RateUnit.DAY:
        return Line(
            "base",
            LineKind.BASE,
            f"{units} day(s)",
            units,
            pricing.rate,
            units * pricing.rate,
            pricing.base_tax_code,
            True,
        )
    amount = div_half_up(pricing.rate * minutes, 60)
    return Line(
        "base",
        LineKind.BASE,
        f"{minutes / 60:g} hour(s)",
        minutes,
        pricing.rate,
        amount,
        pricing.base_tax_code,
        True,
    )


def _extra_lines(
    pricing: Pricing, extras: Mapping[str, int], minutes: int, guests: int
) -> list[Line]:
    lines: list[Line] = []
    for code, quantity in sorted(extras.items()):
        price = pricing.extras.get(code)
        if price is None:
            raise BookingError(ErrorCode.VALIDATION_FAILED, f"unknown extra {code!r}")
        if quantity < 1:
            raise BookingError(ErrorCode.VALIDATION_FAILED, f"extra {code!r}: quantity >= 1")
        if price.unit is ExtraUnit.PER_HOUR:
            amount, qty = div_half_up(price.amount * minutes, 60), minutes
        elif price.unit is ExtraUnit.PER_GUEST:
            amount, qty = price.amount * guests, guests
        else:
            amount, qty = price.amount * quantity, quantity
        lines.append(
            Line(
                f"extra:{code}",
                LineKind.EXTRA,
                price.name,
                qty,
                price.amount,
                amount,
                price.tax_code,
                price.refundable,
            )
        )
    return lines


def _add_fees(pricing: Pricing, lines: list[Line]) -> int:
    """Append the cleaning fee and the guest service fee (a share of the subtotal, which
    includes cleaning); returns that subtotal, on which the host fee is taken too."""
    if pricing.cleaning_fee:
        lines.append(
            Line(
                "cleaning",
                LineKind.CLEANING,
                "cleaning fee",
                1,
                pricing.cleaning_fee,
                pricing.cleaning_fee,
                "cleaning",
                True,
            )
        )
    subtotal = sum(line.amount for line in lines)
    service_fee = share(subtotal, pricing.guest_service_fee_bps)
    if service_fee:
        lines.append(
            Line(
                "guest_service_fee",
                LineKind.GUEST_SERVICE_FEE,
                f"service fee {pricing.guest_service_fee_bps / 100:g}%",
                1,
                service_fee,
                service_fee,
                "service_fee",
                True,
            )
        )
    return subtotal


def _tax_lines(lines: list[Line], tax_rates: TaxRates) -> list[Line]:
    """One line per tax code: each taxable line taxed on its own, half up, then summed."""
    taxes: dict[str, int] = {}
    for line in lines:
        if line.tax_code is not None:
            taxes[line.tax_code] = taxes.get(line.tax_code, 0) + share(
                line.amount, tax_rates(line.tax_code)
            )
    return [
        Line(f"tax:{code}", LineKind.TAX, f"tax on {code}", 1, amount, amount, None, True)
        for code, amount in sorted(taxes.items())
        if amount
    ]
