"""Request and response bodies of cancellations and cancellation policies (OpenAPI is
generated from these)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, Strict

from booking.entrypoints.bodies import RequestBody, example
from booking.entrypoints.fields import Instant, Reason


class CancelRequest(RequestBody):
    reason: Reason = ""
    force_majeure: bool = Field(
        default=False, description="Admins only: a full refund whatever the policy says."
    )


class CancelPreviewRequest(CancelRequest):
    at: Instant | None = Field(
        default=None,
        description="Preview a cancellation at this later time instead of now (e.g. just "
        "before a band ends).",
    )


class CancellationPreviewOut(BaseModel):
    booking_id: str
    at: str = Field(description="The cancellation time the refund is computed for.")
    cancelled_by: str
    policy: str = Field(description="The policy snapshotted at checkout, `name@version`.")
    basis: str = Field(
        description="grace, band, no_band, started, host_cancelled or force_majeure."
    )
    refund_bps: int
    amount: int = Field(description="Refunded to the guest.")
    currency: str
    lines: list[dict[str, Any]]
    host_amount: int
    platform_fee: int
    tax: int
    host_penalty: int


class PolicyBand(RequestBody):
    hours_before: Annotated[int, Strict()] = Field(
        ge=0, le=24 * 365, description="Cancelled at least this long before the start..."
    )
    refund_bps: Annotated[int, Strict()] = Field(
        ge=0, le=10_000, description="...refunds this share (basis points)."
    )


class PolicyIn(RequestBody):
    model_config = example(
        {
            "name": "studio-custom",
            "bands": [
                {"hours_before": 72, "refund_bps": 7500},
                {"hours_before": 12, "refund_bps": 2500},
            ],
            "service_fee": "grace_only",
        }
    )

    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    bands: list[PolicyBand] = Field(
        min_length=1,
        max_length=20,
        description="At least one: a policy that refunds nothing after the grace period says so "
        "with one band of 0 basis points at 0 hours.",
    )
    grace_hours: Annotated[int, Strict()] = Field(default=24, ge=0, le=24 * 30)
    grace_min_lead_hours: Annotated[int, Strict()] = Field(default=48, ge=0, le=24 * 365)
    service_fee: str = Field(default="grace_only", pattern="^(grace_only|with_bands|never)$")
    host_penalty_bps: Annotated[int, Strict()] = Field(default=1000, ge=0, le=10_000)


class PolicyOut(PolicyIn):
    model_config = ConfigDict(extra="ignore")

    # As stored: a version published before a policy needed a band may have none (it refunds
    # nothing after its grace period), and the list shows it rather than failing on it.
    bands: list[PolicyBand] = Field(
        description="From the earliest to the latest; a version published before at least one "
        "was required may have none (it refunds nothing after the grace period)."
    )

    version: int = Field(description="Each change is a new version; bookings keep theirs.")
