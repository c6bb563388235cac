"""Request and response bodies of Smart Invites (`/v1/invites`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, Strict

from booking.entrypoints.bodies import RequestBody, example
from booking.entrypoints.fields import Amount, Ident, Instant, Name, PaymentMethodId, bounded_text


class InviteExtraIn(RequestBody):
    name: Name = Field(examples=["Lighting kit"])
    unit_amount: Annotated[int, Strict()] = Field(
        ge=0, le=100_000_000, description="Minor units, listing currency."
    )
    quantity: Annotated[int, Strict()] = Field(default=1, ge=1, le=1000)


class InviteExtraOut(BaseModel):
    name: str
    unit_amount: int
    quantity: int
    amount: int


class SendInviteRequest(RequestBody):
    model_config = example(
        {
            "guest_id": "guest-1",
            "listing_id": "lst_loft_01",
            "starts_at": "2027-04-01T10:00:00Z",
            "ends_at": "2027-04-01T14:00:00Z",
            "amount": 15000,
            "extras": [{"name": "Lighting kit", "unit_amount": 2500, "quantity": 1}],
            "expires_at": "2027-03-25T00:00:00Z",
            "note": "Weekday rate, as discussed",
        }
    )

    guest_id: Ident
    listing_id: Ident
    starts_at: Instant
    ends_at: Instant
    amount: Amount | None = Field(
        default=None,
        description="Invited price for the time, in minor units; default: the listed price. "
        "With the extras, at most the largest single charge of the currency (422 "
        "`amount_too_large`).",
    )
    extras: list[InviteExtraIn] = Field(
        default_factory=list,
        max_length=20,
        description="Priced add-ons; the guest pays `amount` plus every extra.",
    )
    expires_at: Instant = Field(
        description="The guest must accept before this; no later than `starts_at`."
    )
    note: Annotated[str, bounded_text(1000)] = ""


class AcceptInviteRequest(RequestBody):
    payment_method: PaymentMethodId = Field(examples=["pm_card_visa"])


class InviteOut(BaseModel):
    invite_id: str
    status: str = Field(description="open, accepted, declined, withdrawn or expired.")
    host_id: str
    guest_id: str
    listing_id: str
    starts_at: str
    ends_at: str
    amount: int = Field(description="The invited total: `price` plus every extra.")
    price: int = Field(description="The invited price for the time.")
    extras: list[InviteExtraOut]
    currency: str
    expires_at: str
    note: str
    booking_id: str | None = Field(description="The booking placed when the guest accepted.")
    version: int
    created_at: str
    updated_at: str
