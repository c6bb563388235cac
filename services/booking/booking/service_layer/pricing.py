"""Use cases of pricing: quote a stay from the listing's price list and the tax table, and keep
the quote so a checkout charges exactly what was quoted."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import asyncpg

from booking.adapters.tax import TaxAdapter, TaxTable
from booking.domain import limits
from booking.domain.errors import BookingError, ErrorCode
from booking.domain.quote import Pricing, Quote, quote
from domainkit.ids import new_uuid

if TYPE_CHECKING:
    from booking.service_layer.unit_of_work import UnitOfWork

QUOTE_TTL = timedelta(minutes=30)


async def listing_for_sale(uow: UnitOfWork, listing_id: str) -> asyncpg.Record:
    return on_sale(await uow.bookings.get_listing(listing_id), listing_id)


def on_sale(listing: asyncpg.Record | None, listing_id: str) -> asyncpg.Record:
    """The listing, unless there is none or it is not bookable."""
    if listing is None:
        raise BookingError(ErrorCode.LISTING_NOT_FOUND, f"listing {listing_id} not found")
    if not listing["active"]:
        raise BookingError(ErrorCode.LISTING_INACTIVE, f"listing {listing_id} is not bookable")
    return listing


# The tax provider (`BOOKING_TAX_PROVIDER`); bootstrap replaces the default.
_TAX: list[TaxAdapter] = [TaxTable()]


def use_tax_adapter(adapter: TaxAdapter) -> None:
    _TAX[0] = adapter


async def price(
    uow: UnitOfWork,
    listing: Mapping[str, Any],
    starts_at: datetime,
    ends_at: datetime,
    *,
    guests: int = 1,
    extras: Mapping[str, int] | None = None,
    base_amount: int | None = None,
) -> Quote:
    """The listing's quote for this stay, taxed by the tax adapter as of now."""
    untaxed = quote(
        Pricing.of_listing(listing, listing["extras"]),
        starts_at,
        ends_at,
        guests=guests,
        extras=extras,
        base_amount=base_amount,
    )
    limits.check_ceiling(untaxed.total, untaxed.currency, "the total")  # before asking for tax
    if not listing["tax_jurisdiction"]:
        return untaxed
    taxes, version = await _TAX[0].taxes(uow.bookings, untaxed, listing["tax_jurisdiction"])
    taxed = untaxed.with_taxes(taxes, version)
    limits.check_ceiling(taxed.total, taxed.currency, "the total")
    return taxed


async def create_quote(
    uow: UnitOfWork,
    guest_id: str,
    listing_id: str,
    starts_at: datetime,
    ends_at: datetime,
    guests: int,
    extras: Mapping[str, int],
) -> dict[str, Any]:
    if starts_at <= datetime.now(UTC):  # it could never be booked: a checkout refuses it too
        raise BookingError(ErrorCode.INVALID_TIME_RANGE, "a quote is for a stay in the future")
    listing = await listing_for_sale(uow, listing_id)
    q = await price(uow, listing, starts_at, ends_at, guests=guests, extras=extras)
    row = {
        "quote_id": new_uuid(),
        "guest_id": guest_id,
        "listing_id": listing_id,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "guests": guests,
        "extras": dict(extras),
        "quote": q.as_dict(),
        "expires_at": datetime.now(UTC) + QUOTE_TTL,
    }
    await uow.bookings.insert_quote(row)
    return {**quote_view(row), "deposit_amount": listing["deposit_amount"]}


def quote_view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "quote_id": str(row["quote_id"]),
        "listing_id": row["listing_id"],
        "starts_at": row["starts_at"].isoformat(),
        "ends_at": row["ends_at"].isoformat(),
        "guests": row["guests"],
        "extras": row["extras"],
        "expires_at": row["expires_at"].isoformat(),
        **row["quote"],
    }


async def stored_quote(
    uow: UnitOfWork,
    quote_id: uuid.UUID,
    *,
    guest_id: str,
    listing_id: str,
    starts_at: datetime,
    ends_at: datetime,
    guests: int,
    extras: Mapping[str, int],
) -> Quote:
    """A quote the guest checks out with: it must be theirs, unexpired, and for this stay."""
    row = await uow.bookings.get_quote(quote_id)
    if row is None or row["guest_id"] != guest_id:
        raise BookingError(ErrorCode.QUOTE_NOT_FOUND, f"quote {quote_id} not found")
    if row["expires_at"] <= datetime.now(UTC):
        raise BookingError(ErrorCode.QUOTE_EXPIRED, f"quote {quote_id} has expired")
    asked = (listing_id, starts_at, ends_at, guests, dict(extras))
    quoted = (
        row["listing_id"],
        row["starts_at"],
        row["ends_at"],
        row["guests"],
        row["extras"],
    )
    if asked != quoted:
        raise BookingError(
            ErrorCode.QUOTE_MISMATCH, "the checkout is not for the stay that was quoted"
        )
    return Quote.of(row["quote"])
