"""A dispute case: its states, the transition table that moves it, and the aggregate.

A chargeback is `needs_response` → `submitting` (evidence sent to payments) → `under_review` →
`won` | `lost`; staff may concede: `needs_response` → `accepting` → `accepted`. An inquiry
(no money withdrawn yet) is `warning_needs_response` → `warning_under_review` →
`warning_closed`, or it escalates to `needs_response`.

Triggers are staff's or the system's actions (`submit`, `accept`, ...) and the processor's
statuses as payments reports them (`processor_<status>`). A staff action that the table does
not allow is an error (HTTP 409 `illegal_transition`); a processor fact that it does not allow
is stale or duplicated (payments reports each status once, forward only) and changes nothing.
The table is data: `python -m disputes lifecycle-doc` draws docs/disputes.md from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from disputes.domain.events import (
    AcceptanceRequested,
    DomainEvent,
    HoldChanged,
    ReminderDue,
    Resolved,
    SubmissionRequested,
)
from disputes.domain.liability import Leg, decide
from domainkit.transitions import IllegalTransition, Transition, TransitionTable


class Status(StrEnum):
    WARNING_NEEDS_RESPONSE = "warning_needs_response"
    WARNING_UNDER_REVIEW = "warning_under_review"
    WARNING_CLOSED = "warning_closed"
    NEEDS_RESPONSE = "needs_response"
    SUBMITTING = "submitting"
    UNDER_REVIEW = "under_review"
    ACCEPTING = "accepting"
    WON = "won"
    LOST = "lost"
    ACCEPTED = "accepted"


class Trigger(StrEnum):
    SUBMIT = "submit"
    ACCEPT = "accept"
    SUBMISSION_FAILED = "submission_failed"
    INQUIRY_SUBMISSION_FAILED = "inquiry_submission_failed"
    ACCEPTANCE_FAILED = "acceptance_failed"
    ACCEPTANCE_CONFIRMED = "acceptance_confirmed"
    PROCESSOR_NEEDS_RESPONSE = "processor_needs_response"
    PROCESSOR_UNDER_REVIEW = "processor_under_review"
    PROCESSOR_WARNING_UNDER_REVIEW = "processor_warning_under_review"
    PROCESSOR_WARNING_CLOSED = "processor_warning_closed"
    PROCESSOR_WON = "processor_won"
    PROCESSOR_LOST = "processor_lost"
    PROCESSOR_ACCEPTED = "processor_accepted"


S, T = Status, Trigger
# Where evidence may still be submitted (staff, or the auto-submit timer).
RESPONDABLE = frozenset({S.NEEDS_RESPONSE, S.WARNING_NEEDS_RESPONSE})
TERMINAL = frozenset({S.WON, S.LOST, S.ACCEPTED, S.WARNING_CLOSED})
# Where deadline reminders still go out: the bank may be waiting for evidence, or has it (the
# reminder then says so); not once the platform conceded or the case closed.
REMINDED = RESPONDABLE | {S.SUBMITTING, S.UNDER_REVIEW, S.WARNING_UNDER_REVIEW}
INQUIRY_STATES = frozenset({S.WARNING_NEEDS_RESPONSE, S.WARNING_UNDER_REVIEW, S.WARNING_CLOSED})
_OPEN_CHARGEBACK = (S.NEEDS_RESPONSE, S.SUBMITTING, S.UNDER_REVIEW)


def _rows() -> dict[tuple[Status, Trigger], Transition[Status]]:
    rows: dict[tuple[Status, Trigger], Transition[Status]] = {
        (S.NEEDS_RESPONSE, T.SUBMIT): Transition(S.SUBMITTING, ("evidence_submission_requested",)),
        (S.WARNING_NEEDS_RESPONSE, T.SUBMIT): Transition(
            S.SUBMITTING, ("evidence_submission_requested",)
        ),
        (S.NEEDS_RESPONSE, T.ACCEPT): Transition(S.ACCEPTING, ("dispute_acceptance_requested",)),
        (S.SUBMITTING, T.SUBMISSION_FAILED): Transition(S.NEEDS_RESPONSE),
        (S.SUBMITTING, T.INQUIRY_SUBMISSION_FAILED): Transition(S.WARNING_NEEDS_RESPONSE),
        (S.ACCEPTING, T.ACCEPTANCE_FAILED): Transition(S.NEEDS_RESPONSE),
        (S.ACCEPTING, T.ACCEPTANCE_CONFIRMED): Transition(S.ACCEPTED),
        # An inquiry escalated to a chargeback (money withdrawn, a new due_by).
        (S.WARNING_NEEDS_RESPONSE, T.PROCESSOR_NEEDS_RESPONSE): Transition(S.NEEDS_RESPONSE),
        (S.WARNING_UNDER_REVIEW, T.PROCESSOR_NEEDS_RESPONSE): Transition(S.NEEDS_RESPONSE),
        # Evidence submitted (by payments for us, or at the processor's dashboard).
        (S.NEEDS_RESPONSE, T.PROCESSOR_UNDER_REVIEW): Transition(S.UNDER_REVIEW),
        (S.SUBMITTING, T.PROCESSOR_UNDER_REVIEW): Transition(S.UNDER_REVIEW),
        (S.WARNING_NEEDS_RESPONSE, T.PROCESSOR_WARNING_UNDER_REVIEW): Transition(
            S.WARNING_UNDER_REVIEW
        ),
        (S.SUBMITTING, T.PROCESSOR_WARNING_UNDER_REVIEW): Transition(S.WARNING_UNDER_REVIEW),
    }
    for state in (S.WARNING_NEEDS_RESPONSE, S.WARNING_UNDER_REVIEW, S.SUBMITTING):
        rows[(state, T.PROCESSOR_WARNING_CLOSED)] = Transition(S.WARNING_CLOSED, _CLOSING)
    for state in (*_OPEN_CHARGEBACK, S.ACCEPTING):
        rows[(state, T.PROCESSOR_WON)] = Transition(S.WON, _CLOSING)
        rows[(state, T.PROCESSOR_ACCEPTED)] = Transition(S.ACCEPTED, _CLOSING)
    for state in _OPEN_CHARGEBACK:
        rows[(state, T.PROCESSOR_LOST)] = Transition(S.LOST, _CLOSING)
    # Lost after we asked to accept: that is the acceptance.
    rows[(S.ACCEPTING, T.PROCESSOR_LOST)] = Transition(S.ACCEPTED, _CLOSING)
    return rows


_CLOSING = ("dispute_resolved", "payout_hold_changed")
TABLE: TransitionTable[Status, Trigger] = TransitionTable(_rows())


def processor_trigger(status: str, *, accepted: bool = False) -> Trigger | None:
    """The trigger a status reported by payments is; None for one that moves nothing (a
    chargeback's `needs_response` as its first status, `warning_needs_response`)."""
    if status == "lost" and accepted:
        return T.PROCESSOR_ACCEPTED
    try:
        return Trigger(f"processor_{status}")
    except ValueError:
        return None


@dataclass(frozen=True)
class Change:
    """One entry of the case's append-only history."""

    at: datetime
    actor: str
    trigger: str
    from_status: str | None
    to_status: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Case:
    """A dispute case as the rules see it. Its methods change it, record each `Change` for the
    history and the `events` the change calls for; the service layer persists the one and
    publishes the other in the same transaction."""

    dispute_id: str
    status: Status
    inquiry: bool
    due_by: datetime | None = None
    resolved: bool = False
    reason: str = ""
    three_d_secure: bool = False
    host_at_fault: bool = False
    changes: list[Change] = field(default_factory=list)
    events: list[DomainEvent] = field(default_factory=list)

    @classmethod
    def open(cls, dispute_id: str, status: Status, at: datetime, **known: Any) -> Case:
        """A new case, as the processor opened it: the payouts it paid for are held."""
        case = cls(dispute_id, status, **known)
        detail = {"reason": case.reason, "inquiry": case.inquiry}
        case.changes.append(Change(at, "processor", "opened", None, status.value, detail))
        case.events.append(HoldChanged(True, case.reason))
        return case

    def act(self, trigger: Trigger, actor: str, at: datetime, **detail: Any) -> Transition[Status]:
        """A staff or system action: IllegalTransition when the table does not allow it."""
        if trigger is T.SUBMISSION_FAILED and self.inquiry:
            trigger = T.INQUIRY_SUBMISSION_FAILED
        move = TABLE.apply(self.status, trigger)
        self._record(move.target, trigger, actor, at, detail)
        return move

    def submit(
        self, actor: str, at: datetime, request_id: str, *, auto: bool, fields: list[str]
    ) -> None:
        self.act(T.SUBMIT, actor, at, request_id=request_id, auto=auto, fields=fields)
        self.events.append(SubmissionRequested(request_id, auto, actor))

    def accept(self, actor: str, at: datetime, request_id: str) -> None:
        self.act(T.ACCEPT, actor, at, request_id=request_id)
        self.events.append(AcceptanceRequested(request_id, actor))

    def observe(self, trigger: Trigger | None, at: datetime, **detail: Any) -> bool:
        """A processor fact: applied when the table allows it, else stale (False)."""
        if trigger is None or not TABLE.allows(self.status, trigger):
            return False
        if trigger is T.PROCESSOR_NEEDS_RESPONSE:
            self.inquiry = False
        self._record(TABLE.apply(self.status, trigger).target, trigger, "processor", at, detail)
        return True

    def remind(self, hours_before: int, at: datetime) -> bool:
        """A deadline reminder, while the bank may still wait for evidence (or has it). One
        that fires at or after `due_by` (its timer was late: a restart, a clock moved on) is
        skipped: it would remind of a deadline already gone."""
        if self.status not in REMINDED or self.due_by is None or at >= self.due_by:
            return False
        self.note(at, "system:deadline", "deadline_reminder", hours_before=hours_before)
        self.events.append(ReminderDue(hours_before, self.status not in RESPONDABLE))
        return True

    def close(
        self, status: str, at: datetime, *, accepted: bool, amount: int, legs: Sequence[Leg]
    ) -> bool:
        """The processor closed the dispute: the status follows where the table allows, and
        the case resolves once, under the liability policy. False: resolved already."""
        self.observe(processor_trigger(status, accepted=accepted), at, accepted=accepted)
        if self.resolved:
            return False
        outcome = _outcome(status, accepted or self.status is S.ACCEPTED)
        decision = None
        if outcome in ("lost", "accepted"):
            decision = decide(
                self.reason,
                amount,
                legs,
                three_d_secure=self.three_d_secure,
                host_at_fault=self.host_at_fault,
            )
        self.resolved = True
        shares = [asdict(s) for s in decision.shares] if decision else []
        rule = decision.rule if decision else ""
        self.note(
            at, "system:liability_policy", "resolved", outcome=outcome, rule=rule, shares=shares
        )
        self.events += [Resolved(outcome, amount, decision), HoldChanged(False, outcome)]
        return True

    def note(self, at: datetime, actor: str, trigger: str, **detail: Any) -> None:
        """A history entry that changes no status."""
        status = self.status.value
        self.changes.append(Change(at, actor, trigger, status, status, detail))

    def may(self, trigger: Trigger) -> bool:
        return TABLE.allows(self.status, trigger)

    def _record(
        self, target: Status, trigger: Trigger, actor: str, at: datetime, detail: dict[str, Any]
    ) -> None:
        self.changes.append(Change(at, actor, trigger.value, self.status.value, target, detail))
        self.status = target


def _outcome(status: str, accepted: bool) -> str:
    if status == "warning_closed":
        return "inquiry_closed"
    if accepted:
        return "accepted"
    return "won" if status == "won" else "lost"


def mermaid() -> str:
    """The lifecycle as a mermaid state diagram, from the table."""
    lines = ["stateDiagram-v2"]
    lines += [f"    [*] --> {s.value}" for s in (S.WARNING_NEEDS_RESPONSE, S.NEEDS_RESPONSE)]
    for (state, trigger), move in sorted(TABLE.rows.items()):
        emits = f" / {', '.join(move.emits)}" if move.emits else ""
        lines.append(f"    {state.value} --> {move.target.value}: {trigger.value}{emits}")
    lines += [f"    {s.value} --> [*]" for s in sorted(TERMINAL)]
    return "\n".join(lines) + "\n"


__all__ = ["TABLE", "Case", "Change", "IllegalTransition", "Status", "Trigger", "mermaid"]
