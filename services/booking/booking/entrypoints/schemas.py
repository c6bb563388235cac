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


class PayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payment_method: str = Field(min_length=3, max_length=255, examples=["pm_card_visa"])


class DeclineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=500, examples=["Not available that day"])


class BookingOut(BaseModel):
    booking_id: str
    status: str = Field(
        description="awaiting_signatures, pending_payment, awaiting_host, confirmed, "
        "payment_due, completed, failed, expired, declined or released."
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
    pay_by: str | None = Field(
        description="payment_due: pay with POST /v1/bookings/{id}/pay before this."
    )
    signing_url: str | None = Field(
        description="awaiting_signatures: where the guest signs the listing's documents."
    )
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


class SendInviteRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "guest_id": "guest-1",
                    "listing_id": "lst_loft_01",
                    "starts_at": "2027-04-01T10:00:00Z",
                    "ends_at": "2027-04-01T14:00:00Z",
                    "amount": 15000,
                    "expires_at": "2027-03-25T00:00:00Z",
                    "note": "Weekday rate, as discussed",
                }
            ]
        },
    )

    guest_id: str = Field(min_length=1, max_length=100)
    listing_id: str = Field(min_length=1, max_length=100)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    amount: int | None = Field(
        default=None, ge=1, description="Invited total in minor units; default: listed price."
    )
    expires_at: AwareDatetime = Field(description="The guest must accept before this.")
    note: str = Field(default="", max_length=1000)


class AcceptInviteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payment_method: str = Field(min_length=3, max_length=255, examples=["pm_card_visa"])


class InviteOut(BaseModel):
    invite_id: str
    status: str = Field(description="open, accepted, declined, withdrawn or expired.")
    host_id: str
    guest_id: str
    listing_id: str
    starts_at: str
    ends_at: str
    amount: int
    currency: str
    expires_at: str
    note: str
    booking_id: str | None = Field(description="The booking placed when the guest accepted.")
    version: int
    created_at: str
    updated_at: str
