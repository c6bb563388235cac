"""The Amendment aggregate without a database: each transition with the events it declares, and
each refusal with its code (the status stays as it was)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from booking.domain.errors import BookingError, ErrorCode
from booking.domain.model import BookingStatus
from booking.domain.quote import Line, LineKind, Quote
from booking.domain.refunds import Canceller
from booking.features.amendments.domain import (
    CHARGE_EVENT,
    DECIDED_EVENT,
    PROPOSED_EVENT,
    SIGNATURES_EVENT,
    TABLE,
    Actor,
    Amendment,
    AmendmentKind,
    AmendmentStatus,
    Outcome,
    amendment_mermaid,
)
from booking.features.amendments.domain.terms import Terms, change_terms, check_overtime
from marketplace_contracts.registry import REGISTRY

DOC = Path(__file__).resolve().parents[3] / "docs" / "lifecycles.md"
S = AmendmentStatus
START = datetime(2030, 5, 1, 9, tzinfo=UTC)
GUEST = Actor(Canceller.GUEST, "guest-1")
HOST = Actor(Canceller.HOST, "host-1")
CONFIRMED, COMPLETED = BookingStatus.CONFIRMED.value, BookingStatus.COMPLETED.value


def _quote(base: int, fee: int = 0) -> Quote:
    lines = [Line("base", LineKind.BASE, "stay", 1, base, base, None, True)]
    if fee:
        lines.append(Line("fee", LineKind.GUEST_SERVICE_FEE, "fee", 1, fee, fee, None, True))
    return Quote("usd", tuple(lines), 0, 0)


def _terms(hours: int = 3, guests: int = 2) -> Terms:
    return Terms(START, START + timedelta(hours=hours), guests, {})


def _booking(amount: int = 30_000) -> dict[str, Any]:
    return {
        "booking_id": uuid.uuid4(),
        "currency": "usd",
        "correlation_id": uuid.uuid4(),
        "guest_id": GUEST.actor_id,
        "host_id": HOST.actor_id,
        "quote": _quote(amount).as_dict(),
    }


def _amendment(
    new_amount: int,
    *,
    status: AmendmentStatus = S.PROPOSED,
    kind: AmendmentKind = AmendmentKind.CHANGE,
    by: Canceller = Canceller.GUEST,
    needs_signatures: bool = False,
) -> Amendment:
    am, _ = Amendment.propose(
        _booking(),
        _terms(),
        kind,
        by,
        _terms(hours=4),
        _quote(new_amount),
        START,
        needs_signatures=needs_signatures,
    )
    am.status = status
    return am


def _refused(call: Any, code: ErrorCode, am: Amendment) -> str:
    before = am.status
    with pytest.raises(BookingError) as refused:
        call()
    assert refused.value.code is code
    assert am.status is before
    return str(refused.value)


def test_a_proposal_is_proposed_and_records_the_difference_and_the_old_terms() -> None:
    booking = _booking(30_000)
    am, outcome = Amendment.propose(
        booking, _terms(), AmendmentKind.CHANGE, Canceller.HOST, _terms(4), _quote(40_000), START
    )
    assert outcome == Outcome(S.PROPOSED, S.PROPOSED, (PROPOSED_EVENT,))
    assert (am.status, am.delta, am.proposed_by, am.refunds) == (
        S.PROPOSED,
        10_000,
        Canceller.HOST,
        False,
    )
    assert am.previous_terms() == _terms()
    assert am.previous_quote() == _quote(30_000)
    assert am.change().lines == (("base", 10_000),)


@pytest.mark.parametrize(
    ("quote", "code"),
    [
        # the guest pays less, the platform more: money moving both ways
        (_quote(20_000, fee=5_000), ErrorCode.VALIDATION_FAILED),
        (_quote(10**12), ErrorCode.AMOUNT_TOO_LARGE),  # an increase the processor would refuse
    ],
)
def test_a_proposal_moving_money_both_ways_or_too_much_is_refused(
    quote: Quote, code: ErrorCode
) -> None:
    with pytest.raises(BookingError) as refused:
        Amendment.propose(
            _booking(30_000),
            _terms(),
            AmendmentKind.CHANGE,
            Canceller.GUEST,
            _terms(),
            quote,
            START,
        )
    assert refused.value.code is code


@pytest.mark.parametrize(
    ("new_amount", "needs_signatures", "status", "event"),
    [
        (20_000, False, S.APPLIED, DECIDED_EVENT),
        (30_000, False, S.APPLIED, DECIDED_EVENT),
        (40_000, False, S.CHARGING, CHARGE_EVENT),
        (20_000, True, S.AWAITING_SIGNATURES, SIGNATURES_EVENT),
        (40_000, True, S.AWAITING_SIGNATURES, SIGNATURES_EVENT),
    ],
)
def test_accepting_applies_a_decrease_charges_an_increase_or_asks_for_signatures(
    new_amount: int, needs_signatures: bool, status: AmendmentStatus, event: str
) -> None:
    am = _amendment(new_amount, needs_signatures=needs_signatures)
    am.check_party(HOST, proposer=False)
    assert am.accept(CONFIRMED) == Outcome(S.PROPOSED, status, (event,))
    assert am.status is status


def test_accepting_is_refused_unless_the_booking_is_confirmed_or_the_amendment_open() -> None:
    am = _amendment(20_000)
    message = _refused(lambda: am.accept("cancelled"), ErrorCode.ILLEGAL_TRANSITION, am)
    assert message == "the booking is cancelled"
    _refused(lambda: am.accept(COMPLETED), ErrorCode.ILLEGAL_TRANSITION, am)  # a change
    am.status = S.APPLIED
    message = _refused(lambda: am.accept(CONFIRMED), ErrorCode.ILLEGAL_TRANSITION, am)
    assert message == "cannot apply accepted to a applied amendment"


def test_overtime_is_accepted_on_a_completed_booking() -> None:
    am = _amendment(40_000, kind=AmendmentKind.OVERTIME, by=Canceller.HOST)
    assert am.accept(COMPLETED).status is S.CHARGING


def test_only_the_other_party_answers_and_only_the_proposer_withdraws() -> None:
    am = _amendment(20_000)  # proposed by the guest
    assert _refused(lambda: am.check_party(GUEST, proposer=False), ErrorCode.FORBIDDEN, am) == (
        "only the other party can do that"
    )
    _refused(lambda: am.reject(GUEST), ErrorCode.FORBIDDEN, am)
    _refused(lambda: am.withdraw(HOST), ErrorCode.FORBIDDEN, am)
    stranger = Actor(Canceller.HOST, "someone-else")
    _refused(lambda: am.reject(stranger), ErrorCode.AMENDMENT_NOT_FOUND, am)
    assert am.reject(HOST, "too late") == Outcome(
        S.PROPOSED, S.REJECTED, (DECIDED_EVENT,), "too late"
    )
    other = _amendment(20_000)
    assert other.withdraw(GUEST) == Outcome(S.PROPOSED, S.WITHDRAWN, (DECIDED_EVENT,))


def test_the_guest_disputes_overtime_but_not_a_change() -> None:
    overtime = _amendment(40_000, kind=AmendmentKind.OVERTIME, by=Canceller.HOST)
    assert overtime.dispute(GUEST, "we left on time") == Outcome(
        S.PROPOSED, S.DISPUTED, (DECIDED_EVENT,), "we left on time"
    )
    change = _amendment(40_000, by=Canceller.HOST)
    _refused(lambda: change.dispute(GUEST), ErrorCode.ILLEGAL_TRANSITION, change)


@pytest.mark.parametrize(
    ("new_amount", "status", "event"),
    [(20_000, S.APPLIED, DECIDED_EVENT), (40_000, S.CHARGING, CHARGE_EVENT)],
)
def test_signing_goes_on_as_accepted(new_amount: int, status: AmendmentStatus, event: str) -> None:
    am = _amendment(new_amount, status=S.AWAITING_SIGNATURES, needs_signatures=True)
    assert am.sign(CONFIRMED) == Outcome(S.AWAITING_SIGNATURES, status, (event,))


def test_declined_signatures_fail_the_amendment_and_late_answers_do_nothing() -> None:
    am = _amendment(40_000, status=S.AWAITING_SIGNATURES, needs_signatures=True)
    assert am.decline_signatures("declined") == Outcome(
        S.AWAITING_SIGNATURES, S.FAILED, (DECIDED_EVENT,), "declined"
    )
    assert am.decline_signatures("again") is None
    assert am.sign(CONFIRMED) is None
    assert am.status is S.FAILED


def test_expiry_ends_an_open_change_charges_overtime_and_ignores_decided_ones() -> None:
    for status in (S.PROPOSED, S.AWAITING_SIGNATURES):
        change = _amendment(40_000, status=status, needs_signatures=True)
        assert change.expire(CONFIRMED) == Outcome(
            status, S.EXPIRED, (DECIDED_EVENT,), "not answered before the start"
        )
    overtime = _amendment(40_000, kind=AmendmentKind.OVERTIME, by=Canceller.HOST)
    assert overtime.expire(COMPLETED) == Outcome(S.PROPOSED, S.CHARGING, (CHARGE_EVENT,))
    for status in (S.CHARGING, S.APPLIED, S.REJECTED):
        assert _amendment(40_000, status=status).expire(CONFIRMED) is None


def test_the_charge_outcome_applies_or_fails_a_charging_amendment_once() -> None:
    paid = _amendment(40_000, status=S.CHARGING)
    assert paid.charge_succeeded() == Outcome(S.CHARGING, S.APPLIED, (DECIDED_EVENT,))
    assert paid.charge_succeeded() is None  # a redelivered fact
    failed = _amendment(40_000, status=S.CHARGING)
    assert failed.charge_failed("card_declined: no") == Outcome(
        S.CHARGING, S.FAILED, (DECIDED_EVENT,), "card_declined: no"
    )
    assert failed.charge_failed("again") is None
    assert _amendment(40_000).charge_succeeded() is None


def test_a_charging_booking_holds_both_time_ranges_at_its_old_terms() -> None:
    am = _amendment(40_000)  # 3 h -> 4 h
    held = am.held_terms(START - timedelta(hours=1), START + timedelta(hours=2))
    assert held == Terms(START - timedelta(hours=1), START + timedelta(hours=4), 2, {})


def test_every_declared_event_is_a_published_contract_and_the_diagram_is_documented() -> None:
    types = {event_type for event_type, _ in REGISTRY}
    declared = {e for found in TABLE.candidates.values() for t in found for e in t.emits}
    assert declared | {PROPOSED_EVENT} <= types
    doc = DOC.read_text().splitlines()
    assert [line for line in amendment_mermaid().splitlines() if line not in doc] == []


def test_a_change_is_refused_on_a_booking_that_is_not_confirmed_or_has_started() -> None:
    now = START - timedelta(days=1)
    current = _terms()

    def change(status: str = CONFIRMED, at: datetime = now, **kw: Any) -> Terms:
        args: dict[str, Any] = {"starts_at": None, "ends_at": None, "guests": None}
        return change_terms(status, current, at, **{**args, "extras": None, **kw})

    assert change(guests=3) == Terms(current.starts_at, current.ends_at, 3, {})
    for call, code in (
        (lambda: change("cancelled", guests=3), ErrorCode.ILLEGAL_TRANSITION),
        (lambda: change(at=START, guests=3), ErrorCode.ILLEGAL_TRANSITION),
        (lambda: change(starts_at=now - timedelta(hours=1)), ErrorCode.INVALID_TIME_RANGE),
        (lambda: change(guests=2, extras={}), ErrorCode.VALIDATION_FAILED),
    ):
        with pytest.raises(BookingError) as refused:
            call()
        assert refused.value.code is code


def test_overtime_is_reported_after_the_end_within_72_hours_in_30_minute_steps() -> None:
    end = START
    check_overtime(COMPLETED, end, end + timedelta(hours=72), 90)
    for status, at, minutes, code in (
        ("cancelled", end + timedelta(hours=1), 60, ErrorCode.ILLEGAL_TRANSITION),
        (CONFIRMED, end - timedelta(minutes=1), 60, ErrorCode.OVERTIME_WINDOW_CLOSED),
        (CONFIRMED, end + timedelta(hours=72, seconds=1), 60, ErrorCode.OVERTIME_WINDOW_CLOSED),
        (CONFIRMED, end + timedelta(hours=1), 45, ErrorCode.VALIDATION_FAILED),
        (CONFIRMED, end + timedelta(hours=1), 0, ErrorCode.VALIDATION_FAILED),
    ):
        with pytest.raises(BookingError) as refused:
            check_overtime(status, end, at, minutes)
        assert refused.value.code is code
