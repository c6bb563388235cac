"""What payments' HTTP API answers: one model per answer, each a route's `response_model`
(`Shape` forbids undeclared fields: a column added to adapters/staff_reads.py must be declared
here, and so documented, before it is served). Money is integer minor units."""

from __future__ import annotations

from pydantic import Field

from eventkit.endpoint import Instant, Shape
from marketplace_contracts.purposes import PaymentPurpose


class WebhookReceipt(Shape):
    received: bool = True
    ignored: bool | None = Field(
        default=None, description="True: a type payments does not use (answered, not stored)."
    )
    duplicate: bool | None = Field(default=None, description="True: stored before.")


class Payment(Shape):
    payment_id: str
    booking_id: str
    group_id: str | None
    purpose: PaymentPurpose = Field(
        description="What the payment was for, as its facts say it: `checkout`, "
        "`group_checkout`, `extra_charge` or `deposit_claim`."
    )
    guest_id: str
    host_account_id: str | None
    amount: int
    platform_fee: int
    tax: int
    currency: str
    status: str
    stripe_status: str | None
    captured_amount: int
    refunded_amount: int
    payment_method_type: str
    card_brand: str | None
    card_last4: str | None
    bank_name: str | None
    bank_last4: str | None
    payment_intent_id: str | None
    charge_id: str | None
    failure_code: str | None
    decline_code: str | None
    failure_message: str | None
    correlation_id: str
    created_at: Instant
    updated_at: Instant


class Refund(Shape):
    refund_id: str
    payment_id: str
    booking_id: str
    group_id: str | None
    cause: str
    amount: int
    platform_fee: int
    host_amount: int
    tax: int
    currency: str
    host_account_id: str
    status: str
    method: str | None
    stripe_refund_id: str | None
    attempts: int
    failure_code: str | None
    last_error: str | None
    correlation_id: str
    created_at: Instant
    updated_at: Instant
    decided_at: Instant | None
