"""Request and response bodies of the checkout: a quote, then a booking (OpenAPI is generated
from these)."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field

from booking.entrypoints.bodies import RequestBody, example
from booking.entrypoints.fields import Extras, Guests, Ident, Instant, PaymentMethodId


class InstantBookRequest(RequestBody):
    model_config = example(
        {
            "listing_id": "lst_loft_01",
            "starts_at": "2027-03-01T10:00:00Z",
            "ends_at": "2027-03-01T13:00:00Z",
            "payment_method": "pm_card_visa",
        }
    )

    listing_id: Ident
    starts_at: Instant = Field(description="Start, ISO 8601 with offset; on a 15-minute slot.")
    ends_at: Instant = Field(description="End (exclusive).")
    payment_method: PaymentMethodId
    guests: Guests = 1
    extras: Extras = Field(default_factory=dict)
    quote_id: uuid.UUID | None = Field(
        default=None,
        description="A quote from POST /v1/quotes for exactly this stay: the booking is charged "
        "its total, whatever the listing's price is now.",
    )
    payment_method_type: Literal["card", "us_bank_account"] = Field(
        default="card",
        description="`us_bank_account`: ACH Direct Debit (`payment_method` a bank-account "
        "PaymentMethod, e.g. pm_usBankAccount_success); single Instant Book bookings in usd of "
        "listings that accept it, without a deposit, starting at least "
        "BOOKING_BANK_DEBIT_MIN_LEAD (5 days) ahead; else 422 `bank_debit_not_allowed`.",
    )


class QuoteRequest(RequestBody):
    model_config = example(
        {
            "listing_id": "lst_dance_06",
            "starts_at": "2027-03-01T18:00:00Z",
            "ends_at": "2027-03-01T20:00:00Z",
            "guests": 10,
            "extras": {"lights": 1, "assistant": 1, "chairs": 1},
        }
    )

    listing_id: Ident
    starts_at: Instant
    ends_at: Instant
    guests: Guests = 1
    extras: Extras = Field(default_factory=dict)


class QuoteLineOut(BaseModel):
    code: str = Field(examples=["base", "extra:lights", "cleaning", "guest_service_fee"])
    kind: str = Field(description="base, extra, cleaning, guest_service_fee or tax.")
    description: str
    quantity: int = Field(description="Minutes for hourly lines, days, guests or units.")
    unit_amount: int
    amount: int
    currency: str
    tax_code: str | None
    refundable: bool


class QuoteOut(BaseModel):
    quote_id: str
    listing_id: str
    starts_at: str
    ends_at: str
    guests: int
    extras: dict[str, int]
    expires_at: str = Field(description="Check out with `quote_id` before this.")
    currency: str
    lines: list[QuoteLineOut]
    total: int = Field(description="What the guest pays: the sum of the lines.")
    host_fee: int = Field(description="Withheld from the host's payout (not charged extra).")
    host_fee_bps: int
    host_payout: int
    platform_revenue: int
    tax: int
    tax_version: str
    deposit_amount: int = Field(
        default=0,
        description="The listing's security deposit: not charged, the card is saved for it.",
    )
