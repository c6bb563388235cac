"""What a case's changes call for, as the aggregate records them (`Case.events`). The service
layer turns each into its integration event (`service_layer/publishing.py`), in the same
transaction as the change, through the outbox."""

from __future__ import annotations

from dataclasses import dataclass

from disputes.domain.liability import Decision


@dataclass(frozen=True)
class HoldChanged:
    """Hold (or stop holding) the payouts of what the disputed payment paid for."""

    held: bool
    reason: str


@dataclass(frozen=True)
class SubmissionRequested:
    request_id: str
    auto: bool
    actor: str


@dataclass(frozen=True)
class AcceptanceRequested:
    request_id: str
    actor: str


@dataclass(frozen=True)
class ReminderDue:
    hours_before: int
    evidence_submitted: bool


@dataclass(frozen=True)
class Resolved:
    outcome: str  # won | lost | accepted | inquiry_closed
    amount: int
    decision: Decision | None  # who bears it: lost or accepted only


DomainEvent = HoldChanged | SubmissionRequested | AcceptanceRequested | ReminderDue | Resolved
