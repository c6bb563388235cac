"""The integration events of damage claims and the deposit's release, each built by one
function, and `publish`, which writes exactly the events a claim's transition declared.

Every event is keyed by the booking and carries its correlation id.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from booking.features.claims.domain import (
    CHARGE_REQUESTED,
    CLAIM_DECIDED,
    CLAIM_FILED,
    Change,
    Claim,
    ClaimStatus,
    ClaimTrigger,
    Release,
)
from marketplace_contracts import EventModel
from marketplace_contracts.events.booking import (
    ChargeRequestedV1,
    ClaimDecidedV1,
    ClaimFiledV1,
    DepositReleasedV1,
)

if TYPE_CHECKING:
    from booking.service_layer.unit_of_work import UnitOfWork

DEPOSIT_CLAIM = "deposit_claim"
"""`booking.charge_requested.reason` of a claim's charge (payments' purpose)."""

_OUTCOMES = {
    ClaimTrigger.ACCEPTED: "accepted",
    ClaimTrigger.DECIDED: "decided",
    ClaimTrigger.WITHDRAWN: "withdrawn",
}


@dataclass(frozen=True)
class About:
    """What a claim's events are built from: the claim after the change, its booking's row,
    and who did what."""

    claim: Claim
    booking: Mapping[str, Any]
    trigger: ClaimTrigger | None = None
    decided_by: str = ""
    description: str = ""
    evidence_count: int = 0


def claim_filed(about: About) -> ClaimFiledV1:
    claim = about.claim
    return ClaimFiledV1(
        claim_id=str(claim.claim_id),
        booking_id=str(claim.booking_id),
        host_id=claim.host_id,
        guest_id=claim.guest_id,
        amount=claim.amount,
        currency=claim.currency,
        description=about.description,
        evidence_count=about.evidence_count,
        respond_by=claim.respond_by,
    )


def claim_decided(about: About) -> ClaimDecidedV1:
    claim = about.claim
    assert about.trigger is not None, "a decision names its trigger"
    return ClaimDecidedV1(
        claim_id=str(claim.claim_id),
        booking_id=str(claim.booking_id),
        outcome=_OUTCOMES[about.trigger],
        amount=claim.decided_amount or 0,
        currency=claim.currency,
        decided_by=about.decided_by,
        charge_request_id=claim.charge_request_id if claim.status is ClaimStatus.CHARGING else None,
    )


def charge_requested(about: About) -> ChargeRequestedV1:
    """The claim's decided amount, off-session on the booking's payment, all for the host."""
    claim, row = about.claim, about.booking
    assert claim.charge_request_id is not None and claim.decided_amount is not None
    return ChargeRequestedV1(
        charge_request_id=claim.charge_request_id,
        booking_id=str(row["booking_id"]),
        group_id=str(row["group_id"]) if row["group_id"] else None,
        payment_id=row["payment_id"],
        amount=claim.decided_amount,
        currency=row["currency"],
        platform_fee=0,
        tax=0,
        host_account_id=row["host_account_id"],
        reason=DEPOSIT_CLAIM,
        subject_id=str(claim.claim_id),
    )


def deposit_released(row: Mapping[str, Any], release: Release) -> DepositReleasedV1:
    return DepositReleasedV1(
        booking_id=str(row["booking_id"]),
        payment_id=row["payment_id"],
        amount=row["deposit_amount"],
        charged=release.charged,
        currency=row["currency"],
        reason=release.reason,
    )


BUILDERS: dict[str, Callable[[About], EventModel]] = {
    CLAIM_FILED: claim_filed,
    CLAIM_DECIDED: claim_decided,
    CHARGE_REQUESTED: charge_requested,
}


def meta(row: Mapping[str, Any], causation_id: uuid.UUID | None = None) -> dict[str, Any]:
    return {
        "key": str(row["booking_id"]),
        "correlation_id": row["correlation_id"],
        "causation_id": causation_id,
    }


async def publish(
    uow: UnitOfWork,
    change: Change,
    about: About,
    causation_id: uuid.UUID | None = None,
) -> None:
    """Write the events `change` declares, in its order (a type without a builder is a bug)."""
    for event_type in change.emits:
        event = BUILDERS[event_type](about)
        assert event.TYPE == event_type, (event.TYPE, event_type)
        await uow.emit(event, **meta(about.booking, causation_id))
