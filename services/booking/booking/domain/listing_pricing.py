"""A listing's price list as the catalogue publishes it (pure): the rate and its unit, the
minimum duration, the fees, the guest limit and the priced extras. `booking.domain.quote`
prices a booking from it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from booking.domain.errors import BookingError, ErrorCode


class RateUnit(StrEnum):
    HOUR = "hour"
    DAY = "day"


class ExtraUnit(StrEnum):
    PER_BOOKING = "per_booking"
    PER_HOUR = "per_hour"
    PER_GUEST = "per_guest"


@dataclass(frozen=True)
class ExtraPrice:
    code: str
    name: str
    unit: ExtraUnit
    amount: int  # per unit (booking, hour or guest)
    tax_code: str = "extras"
    refundable: bool = True


@dataclass(frozen=True)
class Pricing:
    """A listing's price list, as the catalogue publishes it."""

    currency: str
    rate: int  # per hour or per day
    rate_unit: RateUnit = RateUnit.HOUR
    min_units: int = 1  # minimum duration, in rate units
    cleaning_fee: int = 0
    guest_service_fee_bps: int = 0
    host_fee_bps: int = 0
    max_guests: int = 100
    extras: Mapping[str, ExtraPrice] = field(default_factory=dict)
    base_tax_code: str = "space_rental"
    max_hours: int | None = None  # longest stay; None: limits.DEFAULT_MAX_STAY_HOURS

    @classmethod
    def of_listing(cls, listing: Mapping[str, Any], extras: list[dict[str, Any]]) -> Pricing:
        daily = listing["rate_unit"] == RateUnit.DAY
        if daily and not listing["daily_rate"]:
            raise BookingError(ErrorCode.LISTING_INACTIVE, "this listing has no daily rate")
        return cls(
            currency=listing["currency"],
            rate=listing["daily_rate"] if daily else listing["hourly_rate"],
            rate_unit=RateUnit(listing["rate_unit"]),
            min_units=1 if daily else listing["min_hours"],
            cleaning_fee=listing["cleaning_fee"],
            guest_service_fee_bps=listing["guest_service_fee_bps"],
            host_fee_bps=listing["platform_fee_bps"],
            max_guests=listing["max_guests"],
            max_hours=listing.get("max_hours"),
            extras={
                e["code"]: ExtraPrice(
                    e["code"],
                    e["name"],
                    ExtraUnit(e["unit"]),
                    e["amount"],
                    e.get("tax_code", "extras"),
                    e.get("refundable", True),
                )
                for e in extras
            },
        )
