"""Request and response bodies of the gateway (OpenAPI is generated from these)."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class InstantBookRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "listing_id": "lst_loft_01",
                    "starts_at": "2027-03-01T10:00:00Z",
                    "ends_at": "2027-03-01T13:00:00Z",
                    "payment_method": "pm_card_visa",
                }
            ]
        },
    )

    listing_id: str = Field(min_length=1, max_length=100)
    starts_at: AwareDatetime = Field(
        description="Start, ISO 8601 with offset; on a 15-minute slot."
    )
    ends_at: AwareDatetime = Field(description="End (exclusive).")
    payment_method: str = Field(
        min_length=3,
        max_length=255,
        description="Stripe PaymentMethod id. Test ids: pm_card_visa, pm_card_chargeDeclined.",
    )


class DeclineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=500, examples=["Not available that day"])


class BookingOut(BaseModel):
    booking_id: str
    status: str = Field(
        description="pending_payment, awaiting_host, confirmed, failed, expired or declined."
    )
    payment_status: str = Field(description="none, authorized, captured, voided or failed.")
    guest_id: str
    listing_id: str
    host_id: str
    starts_at: str
    ends_at: str
    amount: int = Field(description="Total in minor units.")
    platform_fee: int
    currency: str
    payment_id: str | None
    failure_reason: str | None
    failure_detail: str | None
    version: int
    mode: str = Field(description="instant (Instant Book) or request (Request-to-Book).")
    respond_by: str | None = Field(description="Request-to-Book: the host's deadline.")
    created_at: str
    updated_at: str


class ListingOut(BaseModel):
    listing_id: str
    title: str
    host_id: str
    hourly_rate: int
    currency: str
    min_hours: int
    cancellation_policy: str
    instant_book: bool
    response_window_hours: int


class ErrorBody(BaseModel):
    code: str = Field(examples=["slot_unavailable"])
    message: str
    details: list[dict[str, object]] | None = None


class ErrorOut(BaseModel):
    error: ErrorBody
