"""Request and response bodies of Linked Booking Groups (`/v1/checkout-groups`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from booking.entrypoints.bodies import RequestBody, example
from booking.entrypoints.fields import Extras, Guests, Ident, Instant, PaymentMethodId
from booking.entrypoints.schemas import BookingOut
from booking.features.groups.domain import MAX_LEGS


class GroupLegRequest(RequestBody):
    listing_id: Ident
    starts_at: Instant = Field(description="On a 15-minute slot.")
    ends_at: Instant
    guests: Guests = 1
    extras: Extras = Field(default_factory=dict)


class GroupCheckoutRequest(RequestBody):
    model_config = example(
        {
            "legs": [
                {
                    "listing_id": "lst_loft_01",
                    "starts_at": "2027-03-01T10:00:00Z",
                    "ends_at": "2027-03-01T13:00:00Z",
                },
                {
                    "listing_id": "lst_garden_02",
                    "starts_at": "2027-03-01T14:00:00Z",
                    "ends_at": "2027-03-01T16:00:00Z",
                },
                {
                    "listing_id": "lst_studio_04",
                    "starts_at": "2027-03-02T09:00:00Z",
                    "ends_at": "2027-03-02T12:00:00Z",
                },
            ],
            "payment_method": "pm_card_visa",
        }
    )

    legs: list[GroupLegRequest] = Field(
        min_length=2, max_length=MAX_LEGS, description="2 to 10 legs: listings, hosts, times."
    )
    payment_method: PaymentMethodId = Field(description="One payment for the total of every leg.")


class GroupOut(BaseModel):
    group_id: str
    status: str = Field(
        description="awaiting_signatures, pending_payment, awaiting_hosts, capturing, "
        "confirmed or failed."
    )
    payment_status: str = Field(description="none, authorized, saved, captured, voided or failed.")
    guest_id: str
    amount: int = Field(description="Total of the legs, in minor units: one payment.")
    platform_fee: int
    currency: str
    payment_id: str | None
    hold_until: str = Field(
        description="Every leg must be signed and paid for before this, or all are released."
    )
    failure_reason: str | None = Field(
        description="Why the group failed: slot_unavailable, payment_declined, hold_expired, "
        "host_declined, request_expired, documents_declined, documents_expired, "
        "authorization_expiring or reauthorization_failed."
    )
    failure_detail: str | None
    failed_booking_id: str | None = Field(description="The leg that failed the group.")
    version: int
    authorization_renewed_at: str | None = Field(
        default=None,
        description="When the group's card authorization was last renewed off-session.",
    )
    next_action: dict[str, Any] | None = Field(
        default=None,
        description="pending_payment: the 3-D Secure step the guest must finish (see the "
        "booking's `next_action`).",
    )
    created_at: str
    updated_at: str
    legs: list[BookingOut]
