"""Request and response bodies of amendments and overtime (OpenAPI is generated from these)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, Strict

from booking.entrypoints.bodies import RequestBody, example
from booking.entrypoints.fields import Extras, Guests, Instant, Reason


class ProposeAmendmentRequest(RequestBody):
    model_config = example({"ends_at": "2027-03-01T21:00:00Z", "extras": {"lights": 1}})

    starts_at: Instant | None = None
    ends_at: Instant | None = None
    guests: Guests | None = None
    extras: Extras | None = Field(
        default=None, description="The full new set of extras (omit: unchanged)."
    )


class OvertimeRequest(RequestBody):
    minutes: Annotated[int, Strict()] = Field(
        ge=30, le=24 * 60, description="In 30-minute steps.", examples=[60]
    )


class AmendmentAnswer(RequestBody):
    reason: Reason = ""


class AmendmentOut(BaseModel):
    amendment_id: str
    booking_id: str
    kind: str = Field(description="change or overtime.")
    proposed_by: str
    status: str = Field(
        description="proposed, charging, applied, rejected, failed, withdrawn, disputed or expired."
    )
    starts_at: str
    ends_at: str
    guests: int
    extras: dict[str, int]
    delta: int = Field(description="New total minus old: > 0 is charged, < 0 refunded.")
    currency: str
    quote: dict[str, Any] = Field(description="The booking's line items once applied.")
    respond_by: str = Field(
        description="A change expires unanswered at the start; overtime not disputed by then "
        "is charged."
    )
    failure_reason: str | None
    needs_signatures: bool = Field(
        default=False, description="The guest signs the new terms first (`signing_url`)."
    )
    signing_url: str | None = None
    refund_status: str = Field(
        default="none", description="A decrease's refund: none, pending, refunded or failed."
    )
    refund_failure: str | None = None
    created_at: str
    updated_at: str
