"""A case's domain events as the integration events of `disputes.events` (keyed by dispute
id), written to the outbox in the transaction of the change that recorded them."""

from __future__ import annotations

import asyncpg

from disputes.adapters.unit_of_work import UnitOfWork
from disputes.domain.case import Case
from disputes.domain.events import (
    AcceptanceRequested,
    DomainEvent,
    HoldChanged,
    ReminderDue,
    Resolved,
    SubmissionRequested,
)
from disputes.domain.liability import POLICY_VERSION
from disputes.service_layer.evidence import Package
from domainkit.rows import from_attrs, from_row
from marketplace_contracts import EventModel
from marketplace_contracts.events import disputes as out


async def publish(
    uow: UnitOfWork, row: asyncpg.Record, case: Case, package: Package | None = None
) -> None:
    """Every event the case recorded, in order; then it has none pending."""
    for event in case.events:
        await uow.publish(await _contract(uow, row, event, package), key=case.dispute_id)
    case.events.clear()


async def _contract(
    uow: UnitOfWork, row: asyncpg.Record, event: DomainEvent, package: Package | None
) -> EventModel:
    ids = {"dispute_id": row["dispute_id"], "payment_id": row["payment_id"]}
    processor = {**ids, "processor_dispute_id": row["processor_dispute_id"]}
    match event:
        case HoldChanged(held=held, reason=reason):
            charge = await uow.facts.charge(row["payment_id"])
            charge_id = charge["charge_id"] if charge else None
            return out.PayoutHoldChangedV1(**ids, charge_id=charge_id, held=held, reason=reason)
        case SubmissionRequested(request_id=request_id, auto=auto, actor=actor):
            assert package is not None, "a submission carries its evidence"
            return out.EvidenceSubmissionRequestedV1(
                **processor,
                request_id=request_id,
                text=package.text,
                files=package.files,
                auto=auto,
                actor=actor,
            )
        case AcceptanceRequested(request_id=request_id, actor=actor):
            return out.DisputeAcceptanceRequestedV1(**processor, request_id=request_id, actor=actor)
        case ReminderDue(hours_before=hours, evidence_submitted=submitted):
            return from_row(
                out.DeadlineApproachingV1,
                row,
                **ids,
                hours_before=hours,
                evidence_submitted=submitted,
            )
        case Resolved(outcome=outcome, amount=amount, decision=decision):
            shares = [
                from_attrs(out.LiabilityShare, s) for s in (decision.shares if decision else ())
            ]
            return out.DisputeResolvedV1(
                **processor,
                booking_id=row["booking_id"],
                outcome=outcome,
                reason=row["reason"],
                amount=amount,
                currency=row["currency"],
                policy_version=decision.policy_version if decision else POLICY_VERSION,
                rule=decision.rule if decision else "",
                shares=shares,
            )
    raise TypeError(f"no integration event for {event!r}")
