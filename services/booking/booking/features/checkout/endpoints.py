"""Gateway routes of the checkout: quote a stay (its priced line items, kept for the checkout),
then book it (Instant Book or Request-to-Book)."""

from __future__ import annotations

from typing import Any

import asyncpg
from fastapi import APIRouter, Request

from booking.domain.errors import BookingError, ErrorCode
from booking.entrypoints.auth import Principal
from booking.entrypoints.client import client_context
from booking.entrypoints.command import GuestCommand
from booking.entrypoints.common import CHECKOUT_ERRORS, ERRORS, AdmitCheckout, check_horizon
from booking.entrypoints.schemas import BookingOut

# Bank debits' pure rules (another feature's domain, which imports nothing back).
from booking.features.bank_debits.domain import US_BANK_ACCOUNT
from booking.features.checkout.schemas import InstantBookRequest, QuoteOut, QuoteRequest
from booking.features.checkout.service import PlaceBooking, place_booking
from booking.service_layer import pricing
from eventkit import logs, tracing

router = APIRouter(prefix="/v1", responses=ERRORS)


@router.post(
    "/quotes",
    status_code=201,
    response_model=QuoteOut,
    tags=["quotes"],
    summary="Price a stay: line items, fees and tax, valid for 30 minutes",
    description="Lines: the base (hourly or daily rate x duration), the extras chosen, the "
    "cleaning fee, the guest service fee and one tax line per tax code. `total` is their sum, "
    "and what a checkout with this `quote_id` charges even if the listing's price changes "
    "meanwhile. The host fee is withheld from the host's payout, not added for the guest. "
    "Rounding: each line half up to the minor unit, once.",
)
async def create_quote(request: Request, body: QuoteRequest, call: GuestCommand) -> QuoteOut:
    check_horizon(request, starts_at=body.starts_at, ends_at=body.ends_at)
    guest_id = call.principal.sub
    return await call.run(
        lambda conn: pricing.create_quote(
            call.uow(conn),
            guest_id,
            body.listing_id,
            body.starts_at,
            body.ends_at,
            body.guests,
            body.extras,
        ),
        body.model_dump(mode="json"),
    )


@router.post(
    "/bookings",
    status_code=202,
    response_model=BookingOut,
    responses=CHECKOUT_ERRORS,
    tags=["bookings"],
    summary="Book one listing and time range (Instant Book or Request-to-Book)",
    description="Holds the slot and starts the checkout saga; the booking is `pending_payment` "
    "until payments authorizes. An Instant Book listing is then `confirmed`; a "
    "Request-to-Book listing is `awaiting_host` until the host accepts or declines, or "
    "`respond_by` passes. Failures end as `failed`/`expired`/`declined` with a "
    "`failure_reason`. Poll `GET /v1/bookings/{id}`. With `payment_method_type: "
    "us_bank_account` the guest pays by ACH Direct Debit and accepts the debit mandate: the "
    "client's IP address and User-Agent are recorded for it. Such a booking is `confirmed` "
    "with `funds_status: pending` while the debit processes (docs/bank-debits.md); a checkout "
    "that must pay by card is refused with 422 `bank_debit_not_allowed`. While too many "
    "checkouts wait for payment, a new one is refused with 503 `overloaded` and `Retry-After` "
    "before anything is held (docs/lifecycles.md, load shedding).",
)
async def create_booking(
    request: Request,
    body: InstantBookRequest,
    call: GuestCommand,
    admitted: AdmitCheckout,
) -> BookingOut:
    check_horizon(request, starts_at=body.starts_at, ends_at=body.ends_at)
    cmd = _place_booking(request, call.principal, body)
    times = call.settings

    async def work(conn: asyncpg.Connection) -> dict[str, Any]:
        with tracing.span("booking place_booking", **{"listing.id": cmd.listing_id}):
            view = await place_booking(
                call.uow(conn),
                cmd,
                times.hold_ttl,
                times.response_window,
                times.authorization_horizon,
                times.bank_debit_lead,
            )
        admitted.placed()
        logs.bind(booking_id=view["booking_id"])
        return view

    return await call.run(work, body.model_dump(mode="json"), admit=admitted.admit)


def _place_booking(
    request: Request, principal: Principal, body: InstantBookRequest
) -> PlaceBooking:
    client_ip, user_agent = client_context(request)
    cmd = PlaceBooking(
        principal.sub,
        body.listing_id,
        body.starts_at,
        body.ends_at,
        body.payment_method,
        guests=body.guests,
        extras=body.extras,
        quote_id=body.quote_id,
        payment_method_type=body.payment_method_type,
        # The mandate's online acceptance (ACH): who accepted it, from where.
        mandate_ip_address=client_ip,
        mandate_user_agent=user_agent,
        client_ip=client_ip,
        user_agent=user_agent,
        correlation_id=logs.correlation_id(),  # the request's: its log lines join the saga's
    )
    if body.payment_method_type == US_BANK_ACCOUNT and not (
        cmd.mandate_ip_address and cmd.mandate_user_agent
    ):
        raise BookingError(
            ErrorCode.BANK_DEBIT_NOT_ALLOWED,
            "accepting a bank-debit mandate needs the client's IP address and User-Agent",
        )
    return cmd
