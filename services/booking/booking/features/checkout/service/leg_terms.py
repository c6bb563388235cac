"""What a new booking row is made of, besides the request itself: the listing (if its host
can take payments), its quote (stored or fresh), the cancellation policy snapshotted on it,
the host-answer terms of a request, and the payment columns (`place.new_leg` assembles them).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from booking.domain.errors import BookingError, ErrorCode
from booking.domain.quote import Quote

# Bank debits' pure rules (another feature's domain, which imports nothing back).
from booking.features.bank_debits.domain import US_BANK_ACCOUNT
from booking.service_layer import pricing
from booking.service_layer.unit_of_work import UnitOfWork


def payment_columns(
    quote: Quote,
    payment_method: str,
    payment_method_type: str,
    mandate: tuple[str | None, str | None],
    client: tuple[str | None, str | None],
) -> dict[str, Any]:
    """What the guest pays and with what: the quote's amounts, the method, a bank debit's
    mandate, and the client the checkout came from."""
    bank_debit = payment_method_type == US_BANK_ACCOUNT
    return {
        "amount": quote.total,
        "platform_fee": quote.platform_fee,
        "currency": quote.currency,
        "tax": quote.tax,
        "payment_method": payment_method,
        "payment_method_type": payment_method_type,
        "mandate_ip_address": mandate[0] if bank_debit else None,
        "mandate_user_agent": mandate[1] if bank_debit else None,
        "client_ip": client[0],
        "user_agent": client[1],
    }


async def leg_quote(
    uow: UnitOfWork,
    listing: asyncpg.Record,
    quote_id: uuid.UUID | None,
    guest_id: str,
    starts_at: datetime,
    ends_at: datetime,
    guests: int,
    chosen: dict[str, int],
    invited_amount: int | None,
) -> Quote:
    """The guest's stored quote (checked against the request), else a fresh price (pricing,
    a kernel module, on the unit)."""
    if quote_id is not None:
        return await pricing.stored_quote(
            uow,
            quote_id,
            guest_id=guest_id,
            listing_id=listing["listing_id"],
            starts_at=starts_at,
            ends_at=ends_at,
            guests=guests,
            extras=chosen,
        )
    else:
        return await pricing.price(
            uow,
            listing,
            starts_at,
            ends_at,
            guests=guests,
            extras=chosen,
            base_amount=invited_amount,
        )


async def chargeable_listing(uow: UnitOfWork, listing_id: str) -> asyncpg.Record:
    """The listing on sale, unless its host cannot take payments; with its cancellation
    policy as it is now (`policy_of`), read in the same round trip."""
    listing = pricing.on_sale(await uow.checkout.listing_with_terms(listing_id), listing_id)
    if listing["host_charges_enabled"] is False:  # Stripe said so; never reported: not refused
        raise BookingError(
            ErrorCode.HOST_CANNOT_TAKE_CHARGES,
            f"the host of listing {listing_id} cannot take payments yet",
        )
    return listing


def policy_of(listing: asyncpg.Record) -> dict[str, Any]:
    """The listing's cancellation policy as it is now (snapshotted on the booking), as
    `chargeable_listing` read it."""
    policy: dict[str, Any] | None = listing["policy_definition"]
    if policy is None:
        raise BookingError(
            ErrorCode.POLICY_UNKNOWN,
            f"listing {listing['listing_id']} has an unknown cancellation policy "
            f"{listing['cancellation_policy']!r}",
        )
    return policy


def host_answer(
    listing: asyncpg.Record,
    instant: bool,
    starts_at: datetime,
    response_window: timedelta | None,
    authorization_horizon: timedelta,
) -> dict[str, Any]:
    """A request's ``respond_by`` and whether the card is saved rather than held."""
    return {
        # The host's response window runs from the request, whatever the payment takes.
        "respond_by": None
        if instant
        else datetime.now(UTC)
        + (response_window or timedelta(hours=listing["response_window_hours"])),
        # An authorization would lapse before a far-ahead host answer: save the card instead.
        "save_for_later": not instant and starts_at - datetime.now(UTC) > authorization_horizon,
    }
