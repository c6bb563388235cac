"""Request and response bodies of the gateway (OpenAPI is generated from these).

The error body (`ErrorOut`) is the one every service shares: eventkit.http_errors."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from booking.entrypoints.bodies import RequestBody
from booking.entrypoints.fields import PaymentMethodId, Reason


class PayRequest(RequestBody):
    payment_method: PaymentMethodId = Field(examples=["pm_card_visa"])


class DeclineRequest(RequestBody):
    reason: Reason = Field(default="", examples=["Not available that day"])


class DisputeOut(BaseModel):
    """A dispute as a booking shows it: guests and hosts see `status` only."""

    status: str = Field(
        description="warning_needs_response, warning_under_review, needs_response, "
        "under_review (open), or warning_closed, won, lost (closed).",
        examples=["needs_response"],
    )
    dispute_id: str | None = Field(default=None, description="Staff (admin, trust) only.")
    reason: str | None = Field(
        default=None, description="The bank's reason; staff only.", examples=["fraudulent"]
    )
    opened_at: str | None = Field(default=None, description="Staff only.")
    due_by: str | None = Field(default=None, description="Evidence is due before then; staff only.")


class BookingOut(BaseModel):
    booking_id: str
    status: str = Field(
        description="awaiting_signatures, pending_payment, awaiting_host, awaiting_group, "
        "confirmed, payment_due, completed, cancelled, failed, expired, declined or released."
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
    group_id: str | None = Field(
        default=None, description="The Linked Booking Group this booking is a leg of."
    )
    guests: int = 1
    extras: dict[str, int] = Field(default_factory=dict)
    tax: int = Field(default=0, description="Tax included in `amount`.")
    quote: dict[str, Any] | None = Field(
        default=None, description="The line items snapshotted at checkout."
    )
    policy: dict[str, Any] | None = Field(
        default=None, description="The cancellation policy snapshotted at checkout."
    )
    cancelled_by: str | None = None
    cancelled_at: str | None = None
    refund: dict[str, Any] | None = Field(
        default=None, description="What the cancellation gives back."
    )
    refund_status: str = Field(default="none", description="none, pending, refunded or failed.")
    refund_failure: str | None = None
    authorization_renewed_at: str | None = Field(
        default=None,
        description="When the card authorization was last renewed off-session (it neared its "
        "limit while the host was deciding).",
    )
    next_action: dict[str, Any] | None = Field(
        default=None,
        description="pending_payment: the guest's bank wants them to authenticate (3-D "
        "Secure) before the payment is authorized. `type` is `use_stripe_sdk` (call Stripe.js "
        "`handleNextAction` with `client_secret`) or `redirect_to_url` (send the guest to "
        "`redirect_url`). Shown to the guest who pays only.",
    )
    refunded_amount: int = 0
    deposit_amount: int = Field(
        default=0, description="Security deposit (0: none); claims may be charged against it."
    )
    deposit_status: str = Field(default="none", description="none, held or released.")
    deposit_charged: int = Field(default=0, description="Charged by claims, once released.")
    payment_method_type: str = Field(default="card", description="card or us_bank_account.")
    funds_status: str | None = Field(
        default=None,
        description="A bank debit's funds: pending (processing), received, cleared (the return "
        "window passed) or returned; null for a card.",
    )
    bank_name: str | None = None
    bank_last4: str | None = None
    dispute: DisputeOut | None = Field(
        default=None,
        description="A card dispute on the booking's payment (the open one, else the latest); "
        "null: none. While it is open, cancelling and refunds are refused with 409 "
        "`payment_disputed`.",
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
    max_hours: int | None = Field(
        default=None, description="Longest stay in hours; null: 720 (30 days)."
    )
    cancellation_policy: str
    instant_book: bool
    response_window_hours: int
    deposit_amount: int = Field(default=0, description="Security deposit (0: none).")
    accepts_bank_debit: bool = Field(
        default=True, description="Guests may pay by ACH Direct Debit (us_bank_account)."
    )
