"""The case's transition table: every state reachable, staff actions refused where they make
no sense, processor facts applied forward only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from disputes.domain.case import (
    RESPONDABLE,
    TABLE,
    TERMINAL,
    Case,
    Status,
    Trigger,
    mermaid,
    processor_trigger,
)
from disputes.domain.events import (
    AcceptanceRequested,
    HoldChanged,
    ReminderDue,
    Resolved,
    SubmissionRequested,
)
from disputes.domain.liability import Leg
from domainkit.transitions import IllegalTransition

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)


def case(status: Status, *, inquiry: bool = False) -> Case:
    return Case("dsp_1", status, inquiry)


def test_every_state_is_in_the_table_and_terminal_states_have_no_way_out() -> None:
    assert TABLE.states() == {s.value for s in Status}
    for state in TERMINAL:
        assert list(TABLE.triggers_from(state)) == []


def test_a_chargeback_is_submitted_then_won_with_each_step_in_history() -> None:
    c = case(Status.NEEDS_RESPONSE)
    move = c.act(Trigger.SUBMIT, "trust-1", NOW, request_id="dsr_1")
    assert move.emits == ("evidence_submission_requested",)
    assert c.observe(processor_trigger("under_review"), NOW)
    assert c.observe(processor_trigger("won"), NOW)
    assert c.status is Status.WON
    assert [(ch.actor, ch.trigger, ch.from_status, ch.to_status) for ch in c.changes] == [
        ("trust-1", "submit", "needs_response", "submitting"),
        ("processor", "processor_under_review", "submitting", "under_review"),
        ("processor", "processor_won", "under_review", "won"),
    ]
    assert c.changes[0].detail == {"request_id": "dsr_1"}


@pytest.mark.parametrize("status", [s for s in Status if s not in RESPONDABLE])
def test_submit_is_illegal_unless_a_response_is_due(status: Status) -> None:
    c = case(status)
    with pytest.raises(IllegalTransition) as refused:
        c.act(Trigger.SUBMIT, "trust-1", NOW)
    assert refused.value.code == "illegal_transition"
    assert c.status is status and c.changes == []


def test_accept_is_for_chargebacks_awaiting_a_response_only() -> None:
    assert case(Status.NEEDS_RESPONSE).may(Trigger.ACCEPT)
    for status in (Status.WARNING_NEEDS_RESPONSE, Status.UNDER_REVIEW, Status.SUBMITTING):
        with pytest.raises(IllegalTransition):
            case(status).act(Trigger.ACCEPT, "trust-1", NOW)


def test_a_stale_or_repeated_processor_status_changes_nothing() -> None:
    c = case(Status.UNDER_REVIEW)
    assert not c.observe(processor_trigger("needs_response"), NOW)  # backwards
    assert not c.observe(processor_trigger("under_review"), NOW)  # the same again
    assert not c.observe(processor_trigger("bogus"), NOW)
    assert c.status is Status.UNDER_REVIEW and c.changes == []


def test_an_inquiry_escalates_to_a_chargeback() -> None:
    c = case(Status.WARNING_NEEDS_RESPONSE, inquiry=True)
    assert c.observe(processor_trigger("needs_response"), NOW)
    assert (c.status, c.inquiry) == (Status.NEEDS_RESPONSE, False)


def test_a_failed_submission_returns_the_case_to_where_a_response_is_due() -> None:
    chargeback = case(Status.SUBMITTING)
    chargeback.act(Trigger.SUBMISSION_FAILED, "payments", NOW)
    assert chargeback.status is Status.NEEDS_RESPONSE
    inquiry = case(Status.SUBMITTING, inquiry=True)
    inquiry.act(Trigger.SUBMISSION_FAILED, "payments", NOW)
    assert inquiry.status is Status.WARNING_NEEDS_RESPONSE


def test_lost_after_asking_to_accept_is_accepted() -> None:
    c = case(Status.ACCEPTING)
    assert c.observe(processor_trigger("lost"), NOW)
    assert c.status is Status.ACCEPTED
    assert processor_trigger("lost", accepted=True) is Trigger.PROCESSOR_ACCEPTED


def test_the_diagram_draws_every_row_of_the_table() -> None:
    diagram = mermaid()
    for (state, trigger), move in TABLE.rows.items():
        assert f"{state.value} --> {move.target.value}: {trigger.value}" in diagram


# -- the aggregate's events ---------------------------------------------------------------------
LEGS = [Leg("bk_a", "acct_A", 20_000, 17_000), Leg("bk_b", "acct_B", 12_000, 10_200)]


def test_opening_holds_the_payouts() -> None:
    c = Case.open("dsp_1", Status.NEEDS_RESPONSE, NOW, inquiry=False, reason="fraudulent")
    assert c.events == [HoldChanged(True, "fraudulent")]
    assert [(ch.trigger, ch.from_status, ch.to_status) for ch in c.changes] == [
        ("opened", None, "needs_response")
    ]


def test_submit_and_accept_ask_payments() -> None:
    c = case(Status.NEEDS_RESPONSE)
    c.submit("trust-1", NOW, "dsr_1", auto=False, fields=["service_date"])
    assert c.events == [SubmissionRequested("dsr_1", False, "trust-1")]
    d = case(Status.NEEDS_RESPONSE)
    d.accept("trust-2", NOW, "dsr_2")
    assert (d.status, d.events) == (Status.ACCEPTING, [AcceptanceRequested("dsr_2", "trust-2")])


def test_closing_resolves_once_and_releases_the_hold() -> None:
    c = Case("dsp_1", Status.UNDER_REVIEW, False, reason="fraudulent")
    assert c.close("lost", NOW, accepted=False, amount=32_000, legs=LEGS)
    resolved, released = c.events
    assert isinstance(resolved, Resolved) and resolved.decision is not None
    assert (resolved.outcome, resolved.decision.rule) == ("lost", "fraud_shared")
    assert sum(s.amount for s in resolved.decision.shares) == 32_000
    assert released == HoldChanged(False, "lost")
    assert c.status is Status.LOST and c.changes[-1].trigger == "resolved"
    c.events.clear()
    assert not c.close("lost", NOW, accepted=False, amount=32_000, legs=LEGS)
    assert c.events == []


def test_a_won_case_or_a_closed_inquiry_shares_nothing() -> None:
    won = Case("dsp_1", Status.SUBMITTING, False, reason="product_not_received")
    won.close("won", NOW, accepted=False, amount=100, legs=LEGS)
    assert won.events[0] == Resolved("won", 100, None)
    inquiry = Case("dsp_2", Status.WARNING_UNDER_REVIEW, True, reason="general")
    inquiry.close("warning_closed", NOW, accepted=False, amount=100, legs=LEGS)
    assert (inquiry.status, inquiry.events[0]) == (
        Status.WARNING_CLOSED,
        Resolved("inquiry_closed", 100, None),
    )


def test_accepted_earlier_the_close_resolves_as_accepted() -> None:
    c = Case("dsp_1", Status.ACCEPTED, False, reason="duplicate")
    c.close("lost", NOW, accepted=True, amount=500, legs=LEGS)
    resolved = c.events[0]
    assert isinstance(resolved, Resolved) and resolved.outcome == "accepted"
    assert resolved.decision is not None and resolved.decision.rule == "platform_processing"


def test_reminders_say_whether_the_evidence_is_in() -> None:
    due_by = NOW + timedelta(hours=20)
    due = Case("dsp_1", Status.NEEDS_RESPONSE, False, due_by=due_by)
    assert due.remind(72, NOW) and due.events == [ReminderDue(72, False)]
    submitted = Case("dsp_1", Status.UNDER_REVIEW, False, due_by=due_by)
    assert submitted.remind(24, NOW) and submitted.events == [ReminderDue(24, True)]
    for status in (Status.ACCEPTING, Status.WON):
        closed = Case("dsp_1", status, False, due_by=due_by)
        assert not closed.remind(24, NOW) and closed.events == [] and closed.changes == []


def test_a_reminder_firing_at_or_after_the_deadline_is_skipped() -> None:
    for at in (NOW, NOW + timedelta(days=7)):
        late = Case("dsp_1", Status.UNDER_REVIEW, False, due_by=NOW)
        assert not late.remind(72, at) and late.events == [] and late.changes == []
