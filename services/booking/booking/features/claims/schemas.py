"""Request and response bodies of damage claims (OpenAPI is generated from these)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, Strict

from booking.entrypoints.bodies import RequestBody
from booking.entrypoints.fields import Description, Note


class FileClaimRequest(RequestBody):
    # Not strict: multipart/form-data sends the amount as text.
    amount: int = Field(
        ge=1, le=10**12, description="Claimed, at most what is left of the deposit."
    )
    description: Description


class ClaimContest(RequestBody):
    reason: Note = ""


class ClaimDecision(RequestBody):
    amount: Annotated[int, Strict()] = Field(
        ge=0, le=10**12, description="0 up to the amount claimed; 0 dismisses the claim."
    )
    note: Note = ""


class ClaimEvidenceOut(BaseModel):
    n: int
    filename: str
    content_type: str
    size: int
    sha256: str
    url: str


class ClaimOut(BaseModel):
    claim_id: str
    booking_id: str
    host_id: str
    guest_id: str
    status: str = Field(
        description="open, contested, awaiting_admin, charging, charged, charge_failed, "
        "withdrawn or dismissed."
    )
    amount: int
    currency: str
    description: str
    respond_by: str = Field(description="The guest accepts or contests until then.")
    contest_reason: str | None
    decided_amount: int | None = Field(description="Accepted or decided: what is charged.")
    decided_by: str | None
    decision_note: str | None
    charge_request_id: str | None
    charge_payment_id: str | None
    failure_reason: str | None = Field(description="charge_failed: why (an admin may retry).")
    evidence: list[ClaimEvidenceOut]
    created_at: str
    updated_at: str
