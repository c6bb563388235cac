"""Use case: the checkout of one leg, Instant Book or Request-to-Book (the listing decides).

One transaction, booking's unit of work: hold the slot (`uow.checkout`), start the hold timer
(`uow.timers`), ask payments to authorize (`uow.outbox`)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from booking.config import BookingSettings
from booking.domain import limits
from booking.domain.errors import BookingError, ErrorCode
from booking.domain.model import BookingMode, BookingStatus
from booking.domain.quote import Quote

# Bank debits' pure rules (another feature's domain, which imports nothing back).
from booking.features.bank_debits import domain as bank_debits
from booking.features.bank_debits.domain import CARD, US_BANK_ACCOUNT
from booking.features.checkout.messages import checkout_requested
from booking.features.checkout.service.leg_terms import (
    chargeable_listing,
    host_answer,
    leg_quote,
    payment_columns,
    policy_of,
)
from booking.service_layer.booking_views import booking_view
from booking.service_layer.timer_kinds import HOLD_EXPIRY
from booking.service_layer.unit_of_work import UnitOfWork
from domainkit.ids import new_uuid
from marketplace_contracts.events.booking import (
    SignaturesRequestedV1,
)


@dataclass(frozen=True)
class PlaceBooking:
    guest_id: str
    listing_id: str
    starts_at: datetime
    ends_at: datetime
    payment_method: str
    # Smart Invite: the invited total, booked as an Instant Book whatever the listing's mode.
    invited_amount: int | None = None
    correlation_id: uuid.UUID | None = None
    guests: int = 1
    extras: Mapping[str, int] = field(default_factory=dict)
    quote_id: uuid.UUID | None = None
    # `us_bank_account`: ACH Direct Debit (features/bank_debits/domain), with the mandate the guest
    # accepted from this IP address and user agent.
    payment_method_type: str = CARD
    mandate_ip_address: str | None = None
    mandate_user_agent: str | None = None
    # Where the guest checked out from (dispute evidence, on booking.checkout_requested).
    client_ip: str | None = None
    user_agent: str | None = None


CREATE_ENVELOPE = "create_signing_envelope"
AUTHORIZATION_HORIZON = timedelta(days=6)
# The setting's own default (one home), for callers that pass no lead: tests, invites.
DEFAULT_BANK_DEBIT_LEAD: timedelta = BookingSettings.model_fields["bank_debit_min_lead"].default


async def place_booking(
    uow: UnitOfWork,
    cmd: PlaceBooking,
    hold_ttl: timedelta = timedelta(minutes=15),
    response_window: timedelta | None = None,
    authorization_horizon: timedelta = AUTHORIZATION_HORIZON,
    bank_debit_lead: timedelta | None = None,
) -> dict[str, Any]:
    """Must run inside a transaction: the hold, its expiry timer and the checkout request
    commit together. `bank_debit_lead`: BOOKING_BANK_DEBIT_MIN_LEAD (None: its default)."""
    booking, documents = await new_leg(
        uow,
        cmd,
        response_window=response_window,
        authorization_horizon=authorization_horizon,
        bank_debit_lead=bank_debit_lead,
    )
    limits.check_charge(booking["amount"], booking["currency"], "the booking's total")
    row = await hold_slot(uow, booking)
    booking_id = str(booking["booking_id"])
    sign_by = datetime.now(UTC) + hold_ttl
    await uow.timers.schedule(HOLD_EXPIRY, booking_id, sign_by)
    if documents:
        await request_signatures(uow, booking, documents, sign_by)
    else:
        await request_payment(uow, row)
    return booking_view(row)


async def new_leg(
    uow: UnitOfWork,
    cmd: PlaceBooking,
    *,
    response_window: timedelta | None = None,
    authorization_horizon: timedelta = AUTHORIZATION_HORIZON,
    group_id: uuid.UUID | None = None,
    bank_debit_lead: timedelta | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A booking row to hold for `cmd` (priced from the listing, or from the guest's stored
    quote) and its listing's required documents; refuses a past start, an unknown or inactive
    listing and an unbookable time range. The quote and the cancellation policy are snapshotted
    on it. A group's legs are each a `cmd` with the group's `correlation_id` and `group_id`."""
    starts_at, ends_at, invited_amount = cmd.starts_at, cmd.ends_at, cmd.invited_amount
    if starts_at <= datetime.now(UTC):
        raise BookingError(ErrorCode.INVALID_TIME_RANGE, "a booking must start in the future")
    listing = await chargeable_listing(uow, cmd.listing_id)
    chosen = dict(cmd.extras or {})
    quote = await leg_quote(
        uow, listing, cmd.quote_id, cmd.guest_id, starts_at, ends_at, cmd.guests, chosen,
        invited_amount,
    )  # fmt: skip
    if cmd.payment_method_type == US_BANK_ACCOUNT:
        _check_bank_debit(listing, quote, starts_at, group_id, bank_debit_lead)
    policy = policy_of(listing)
    instant = listing["instant_book"] or invited_amount is not None
    documents: list[dict[str, Any]] = listing["required_documents"]
    booking = {
        "booking_id": new_uuid(),
        "guest_id": cmd.guest_id,
        "listing_id": listing["listing_id"],
        "host_id": listing["host_id"],
        "host_account_id": listing["host_account_id"],
        "starts_at": starts_at,
        "ends_at": ends_at,
        "correlation_id": cmd.correlation_id or new_uuid(),
        "mode": (BookingMode.INSTANT if instant else BookingMode.REQUEST).value,
        **host_answer(listing, instant, starts_at, response_window, authorization_horizon),
        "status": _first_status(documents).value,
        "group_id": group_id,
        "quote": quote.as_dict(),
        "policy": policy,
        "guests": cmd.guests,
        "extras": chosen,
        # The listing's security deposit as it is now (a later change never alters it).
        "deposit_amount": listing["deposit_amount"],
        **payment_columns(
            quote,
            cmd.payment_method,
            cmd.payment_method_type,
            (cmd.mandate_ip_address, cmd.mandate_user_agent),
            (cmd.client_ip, cmd.user_agent),
        ),
    }
    return booking, documents


def _check_bank_debit(
    listing: Mapping[str, Any],
    quote: Quote,
    starts_at: datetime,
    group_id: uuid.UUID | None,
    min_lead: timedelta | None,
) -> None:
    """422 `bank_debit_not_allowed` unless this leg may be paid by ACH Direct Debit."""
    bank_debits.check_allowed(
        listing,
        starts_at=starts_at,
        currency=quote.currency,
        grouped=group_id is not None,
        min_lead=min_lead or DEFAULT_BANK_DEBIT_LEAD,
    )


def _first_status(documents: list[dict[str, Any]]) -> BookingStatus:
    """Docs before pay: no payment request until every document is signed."""
    return BookingStatus.AWAITING_SIGNATURES if documents else BookingStatus.PENDING_PAYMENT


async def request_signatures(
    uow: UnitOfWork,
    booking: dict[str, Any],
    documents: list[dict[str, Any]],
    sign_by: datetime,
) -> None:
    """Docs-before-pay: a durable job creates the envelope right after commit (a provider call
    does not belong in this transaction); the guest then finds `signing_url` on the booking."""
    booking_id = str(booking["booking_id"])
    await uow.timers.schedule(
        CREATE_ENVELOPE, booking_id, datetime.now(UTC), {"sign_by": sign_by.isoformat()}
    )
    await uow.emit(
        SignaturesRequestedV1(
            booking_id=booking_id,
            guest_id=booking["guest_id"],
            listing_id=booking["listing_id"],
            document_ids=[d["document_id"] for d in documents],
            sign_by=sign_by,
            group_id=str(booking["group_id"]) if booking["group_id"] else None,
        ),
        key=booking_id,
        correlation_id=booking["correlation_id"],
    )


async def hold_slot(uow: UnitOfWork, booking: dict[str, Any]) -> asyncpg.Record:
    """Insert the booking (its row as stored); the exclusion constraint refuses a slot another
    booking holds."""
    row = await uow.checkout.insert_booking(booking)
    if row is None:
        raise BookingError(
            ErrorCode.SLOT_UNAVAILABLE,
            f"listing {booking['listing_id']} is already booked for part of that time",
        )
    return row


async def request_payment(
    uow: UnitOfWork,
    row: asyncpg.Record,
    causation_id: uuid.UUID | None = None,
) -> None:
    """The checkout's initial event: booking.checkout_requested asks payments for money."""
    await uow.emit(
        checkout_requested(row),
        key=str(row["booking_id"]),
        correlation_id=row["correlation_id"],
        causation_id=causation_id,
    )
