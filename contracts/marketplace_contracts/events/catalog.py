"""Events of the upstream listing catalogue (produced by the catalogue or its seed command)."""

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from marketplace_contracts.envelope import EventModel
from marketplace_contracts.money import Currency, MinorUnits


class RequiredDocument(BaseModel):
    """A document the guest must sign before any money is taken (docs-before-pay)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    document_id: str = Field(examples=["rental-agreement-v3"])
    title: str = Field(examples=["Rental agreement"])
    text: str = Field(description="The exact text the guest signs.")


class ListingExtra(BaseModel):
    """An add-on the guest may book with the listing."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    code: str = Field(examples=["lights"])
    name: str = Field(examples=["Lighting kit"])
    unit: str = Field(examples=["per_booking", "per_hour", "per_guest"])
    amount: MinorUnits = Field(description="Price per unit.")
    tax_code: str = Field(default="extras", examples=["extras", "labour"])
    refundable: bool = True


class ListingUpsertedV1(EventModel):
    """A listing was created or changed; the latest event per key is the listing's state."""

    TYPE: ClassVar[str] = "catalog.listing_upserted"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "catalog.listings"

    listing_id: str = Field(examples=["lst_loft_01"])
    host_id: str = Field(examples=["host-1"])
    host_account_id: str = Field(
        description="The host's Stripe connected account.", examples=["acct_1HostLoft"]
    )
    title: str
    hourly_rate: MinorUnits
    currency: Currency
    platform_fee_bps: int = Field(ge=0, le=10_000, description="Platform fee, basis points.")
    cancellation_policy: str = Field(examples=["flexible", "moderate", "strict"])
    min_hours: int = Field(default=1, ge=1)
    max_hours: int | None = Field(
        default=None,
        ge=1,
        description="Longest stay that can be booked, in hours; None: the booking service's "
        "default (720, 30 days).",
    )
    active: bool = True
    instant_book: bool = Field(
        default=True, description="False: Request-to-Book, the host accepts or declines."
    )
    response_window_hours: int = Field(
        default=24, ge=1, description="Request-to-Book: how long the host has to respond."
    )
    required_documents: list[RequiredDocument] = Field(
        default_factory=list,
        description="Documents the guest signs before paying (rental agreement, waivers).",
    )
    rate_unit: str = Field(
        default="hour", description="hour: `hourly_rate` per hour; day: `daily_rate` per day."
    )
    daily_rate: MinorUnits | None = None
    cleaning_fee: MinorUnits = 0
    guest_service_fee_bps: int = Field(
        default=0, ge=0, le=10_000, description="Charged to the guest on the host's lines."
    )
    max_guests: int = Field(default=100, ge=1)
    extras: list[ListingExtra] = Field(default_factory=list)
    overtime_hourly_rate: MinorUnits | None = Field(
        default=None, description="Charged for overtime the host reports; None: `hourly_rate`."
    )
    tax_jurisdiction: str | None = Field(
        default=None, description="Where the stay is taxed; None: untaxed.", examples=["us-ny-nyc"]
    )
    deposit_amount: MinorUnits = Field(
        default=0,
        description="Security deposit (0: none). The card is saved for it at checkout; the host "
        "may claim damage against it after the booking ends.",
    )
    accepts_bank_debit: bool = Field(
        default=True,
        description="Guests may pay an Instant Book booking of this listing by ACH Direct Debit.",
    )
