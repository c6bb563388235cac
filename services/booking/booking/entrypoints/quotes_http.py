"""Gateway routes of quotes: the priced line items of a stay, kept for the checkout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request

from booking.entrypoints.auth import Role
from booking.entrypoints.command import Command, command
from booking.entrypoints.common import ERRORS, check_horizon
from booking.entrypoints.schemas import QuoteOut, QuoteRequest
from booking.service_layer import pricing

router = APIRouter(prefix="/v1")


@router.post(
    "/quotes",
    status_code=201,
    response_model=QuoteOut,
    responses=ERRORS,
    tags=["quotes"],
    summary="Price a stay: line items, fees and tax, valid for 30 minutes",
    description="Lines: the base (hourly or daily rate x duration), the extras chosen, the "
    "cleaning fee, the guest service fee and one tax line per tax code. `total` is their sum, "
    "and what a checkout with this `quote_id` charges even if the listing's price changes "
    "meanwhile. The host fee is withheld from the host's payout, not added for the guest. "
    "Rounding: each line half up to the minor unit, once.",
)
async def create_quote(
    request: Request, body: QuoteRequest, call: Annotated[Command, command(Role.GUEST)]
) -> QuoteOut:
    check_horizon(request, starts_at=body.starts_at, ends_at=body.ends_at)
    guest_id = call.principal.sub
    return await call.run(
        lambda conn: pricing.create_quote(
            conn, guest_id, body.listing_id, body.starts_at, body.ends_at, body.guests, body.extras
        ),
        body.model_dump(mode="json"),
    )
