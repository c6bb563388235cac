"""Damage claims: the transition table, the `Claim` aggregate (each transition with the events
it emits, each refusal with its code), and the filing, answering and release rules. No
database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from booking.config import claim_windows
from booking.domain.errors import BookingError, ErrorCode
from booking.features.claims.domain import (
    CHARGE_REQUESTED,
    CLAIM_DECIDED,
    CLAIM_FILED,
    ENDED_STATUSES,
    OPEN_STATUSES,
    TABLE,
    Change,
    Claim,
    ClaimStatus,
    ClaimTrigger,
    Release,
    claim_mermaid,
    claim_transition,
    settled_release,
)
from booking.features.claims.domain.rules import (
    ClaimedBooking,
    ClaimWindows,
    Evidence,
    check_decision,
    check_evidence,
    check_filing,
    check_response,
    remaining_deposit,
)
from booking.features.claims.service import charge_request_id

END = datetime(2030, 5, 1, 12, tzinfo=UTC)
SECOND = timedelta(seconds=1)
WINDOWS = claim_windows()  # the settings' defaults: 72 h to file, 48 h to answer
CLAIM_WINDOW = WINDOWS.claim
CLAIM_ID = uuid.UUID("0b0c3b8e-6a4c-4f6e-9a57-5f9e3a1d2c11")
PNG = Evidence("mirror.png", "image/png", b"\x89PNG")


def _file(**overrides: object) -> None:
    args: dict[str, object] = {
        "now": END + timedelta(hours=1),
        "ends_at": END,
        "deposit": 50_000,
        "committed": 0,
        "amount": 20_000,
        "has_open_claim": False,
        "window": CLAIM_WINDOW,
    }
    check_filing(**{**args, **overrides})  # type: ignore[arg-type]


def _code(call: object, *args: object, **kwargs: object) -> ErrorCode:
    with pytest.raises(BookingError) as err:
        call(*args, **kwargs)  # type: ignore[operator]
    return err.value.code


def _booking(**changes: object) -> ClaimedBooking:
    fields: dict[str, object] = {
        "booking_id": uuid.uuid4(),
        "host_id": "host-1",
        "guest_id": "guest-1",
        "status": "completed",
        "currency": "usd",
        "ends_at": END,
        "deposit": 50_000,
        "deposit_released": False,
        "payment_id": "pay_1",
    }
    return ClaimedBooking(**{**fields, **changes})  # type: ignore[arg-type]


def _filed(amount: int = 20_000, **changes: object) -> Claim:
    claim, _ = _new(amount, **changes)
    return claim


def _new(amount: int = 20_000, **changes: object) -> tuple[Claim, Change]:
    args: dict[str, object] = {
        "claim_id": CLAIM_ID,
        "host_id": "host-1",
        "amount": amount,
        "evidence": [PNG],
        "has_open_claim": False,
        "committed": 0,
        "now": END + timedelta(hours=1),
        "windows": WINDOWS,
    }
    booking = changes.pop("booking", _booking())
    return Claim.file(booking, **{**args, **changes})  # type: ignore[arg-type]


def _in(status: ClaimStatus, **fields: object) -> Claim:
    claim = _filed()
    claim.status = status
    for name, value in fields.items():
        setattr(claim, name, value)
    return claim


# -- the rules -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("now", "ok"),
    [
        (END - SECOND, False),
        (END, True),
        (END + CLAIM_WINDOW, True),
        (END + CLAIM_WINDOW + SECOND, False),
    ],
)
def test_the_claim_window_is_inclusive_to_the_second(now: datetime, ok: bool) -> None:
    assert CLAIM_WINDOW == timedelta(hours=72)
    if ok:
        _file(now=now)
    else:
        assert _code(_file, now=now) is ErrorCode.CLAIM_WINDOW_CLOSED


def test_a_shorter_configured_window_is_honoured() -> None:
    window = timedelta(seconds=30)
    _file(now=END + window, window=window)
    assert _code(_file, now=END + window + SECOND, window=window) is ErrorCode.CLAIM_WINDOW_CLOSED


def test_no_deposit_open_claim_and_cap_are_refused_with_their_codes() -> None:
    assert _code(_file, deposit=0) is ErrorCode.NO_DEPOSIT
    assert _code(_file, has_open_claim=True) is ErrorCode.CLAIM_OPEN
    assert _code(_file, amount=50_001) is ErrorCode.CLAIM_EXCEEDS_DEPOSIT
    _file(amount=50_000)  # exactly the deposit is allowed
    # What earlier claims charged is taken off what is left.
    assert _code(_file, committed=30_001, amount=20_000) is ErrorCode.CLAIM_EXCEEDS_DEPOSIT
    _file(committed=30_000, amount=20_000)
    assert _code(_file, amount=0) is ErrorCode.VALIDATION_FAILED
    assert remaining_deposit(100, 150) == 0


def test_the_response_window_is_inclusive_to_the_second() -> None:
    respond_by = END + timedelta(hours=48)
    check_response(now=respond_by, respond_by=respond_by)
    assert (
        _code(check_response, now=respond_by + SECOND, respond_by=respond_by)
        is ErrorCode.CLAIM_RESPONSE_WINDOW_CLOSED
    )


@pytest.mark.parametrize(
    ("source", "trigger", "amount", "target"),
    [
        (ClaimStatus.OPEN, ClaimTrigger.ACCEPTED, 100, ClaimStatus.CHARGING),
        (ClaimStatus.OPEN, ClaimTrigger.CONTESTED, 0, ClaimStatus.CONTESTED),
        (ClaimStatus.OPEN, ClaimTrigger.RESPONSE_EXPIRED, 0, ClaimStatus.AWAITING_ADMIN),
        (ClaimStatus.CONTESTED, ClaimTrigger.DECIDED, 1, ClaimStatus.CHARGING),
        (ClaimStatus.CONTESTED, ClaimTrigger.DECIDED, 0, ClaimStatus.DISMISSED),
        (ClaimStatus.AWAITING_ADMIN, ClaimTrigger.DECIDED, 5, ClaimStatus.CHARGING),
        (ClaimStatus.AWAITING_ADMIN, ClaimTrigger.DECIDED, 0, ClaimStatus.DISMISSED),
        (ClaimStatus.OPEN, ClaimTrigger.WITHDRAWN, 0, ClaimStatus.WITHDRAWN),
        (ClaimStatus.CONTESTED, ClaimTrigger.WITHDRAWN, 0, ClaimStatus.WITHDRAWN),
        (ClaimStatus.CHARGING, ClaimTrigger.CHARGE_SUCCEEDED, 0, ClaimStatus.CHARGED),
        (ClaimStatus.CHARGING, ClaimTrigger.CHARGE_FAILED, 0, ClaimStatus.CHARGE_FAILED),
        (ClaimStatus.CHARGE_FAILED, ClaimTrigger.RETRIED, 0, ClaimStatus.CHARGING),
    ],
)
def test_transitions(
    source: ClaimStatus, trigger: ClaimTrigger, amount: int, target: ClaimStatus
) -> None:
    assert claim_transition(source, trigger, amount).target is target


@pytest.mark.parametrize(
    ("source", "trigger"),
    [
        (ClaimStatus.OPEN, ClaimTrigger.DECIDED),  # an admin decides contested/unanswered ones
        (ClaimStatus.CONTESTED, ClaimTrigger.ACCEPTED),
        (ClaimStatus.AWAITING_ADMIN, ClaimTrigger.CONTESTED),
        (ClaimStatus.CHARGING, ClaimTrigger.WITHDRAWN),
        (ClaimStatus.CHARGED, ClaimTrigger.DECIDED),
        (ClaimStatus.CHARGED, ClaimTrigger.RETRIED),
        (ClaimStatus.WITHDRAWN, ClaimTrigger.ACCEPTED),
        (ClaimStatus.DISMISSED, ClaimTrigger.WITHDRAWN),
    ],
)
def test_illegal_transitions_are_refused(source: ClaimStatus, trigger: ClaimTrigger) -> None:
    assert _code(claim_transition, source, trigger, 10) is ErrorCode.ILLEGAL_TRANSITION


def test_open_and_ended_statuses_partition_the_states() -> None:
    assert OPEN_STATUSES | ENDED_STATUSES == set(ClaimStatus)
    assert not OPEN_STATUSES & ENDED_STATUSES
    assert ClaimStatus.CHARGING in OPEN_STATUSES and ClaimStatus.CHARGE_FAILED in ENDED_STATUSES
    assert "charge_failed --> charging" in claim_mermaid()
    assert TABLE.states() == set(ClaimStatus)


def test_decisions_and_evidence() -> None:
    check_decision(0, 100)
    check_decision(100, 100)
    assert _code(check_decision, 101, 100) is ErrorCode.VALIDATION_FAILED
    assert _code(check_decision, -1, 100) is ErrorCode.VALIDATION_FAILED
    check_evidence("a.jpg", "image/jpeg", 10)
    check_evidence("a.pdf", "application/pdf; name=a.pdf", 10 * 1024 * 1024)
    assert _code(check_evidence, "a.exe", "application/x-msdownload", 10) is (
        ErrorCode.EVIDENCE_INVALID
    )
    assert _code(check_evidence, "big.png", "image/png", 10 * 1024 * 1024 + 1) is (
        ErrorCode.EVIDENCE_INVALID
    )
    assert _code(check_evidence, "empty.txt", "text/plain", 0) is ErrorCode.EVIDENCE_INVALID


def test_charge_request_ids_are_deterministic_per_attempt() -> None:
    claim_id = "0b0c3b8e-6a4c-4f6e-9a57-5f9e3a1d2c11"
    assert charge_request_id(claim_id) == f"clm_{claim_id}"
    assert charge_request_id(claim_id, 2) == f"clm_{claim_id}_2"


def test_the_documented_state_diagram_is_the_transition_table() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs/deposits-and-claims.md").read_text()
    assert [line for line in claim_mermaid().splitlines() if line not in doc] == []


# -- the aggregate: filing -------------------------------------------------------------------
def test_filing_opens_the_claim_until_the_response_window_ends_and_announces_it() -> None:
    now = END + timedelta(hours=1)
    claim, change = _new(12_345, now=now)
    assert (claim.status, claim.amount, claim.currency) == (ClaimStatus.OPEN, 12_345, "usd")
    assert (claim.host_id, claim.guest_id) == ("host-1", "guest-1")
    assert claim.respond_by == now + timedelta(hours=48)
    assert (change.status, change.emits) == (ClaimStatus.OPEN, (CLAIM_FILED,))
    short = ClaimWindows(claim=timedelta(seconds=25), response=timedelta(seconds=600))
    quick, _ = _new(now=END + timedelta(seconds=25), windows=short)
    assert quick.respond_by == END + timedelta(seconds=625)
    assert _code(_new, now=END + timedelta(seconds=26), windows=short) is (
        ErrorCode.CLAIM_WINDOW_CLOSED
    )


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"host_id": "host-2"}, ErrorCode.BOOKING_NOT_FOUND),
        ({"booking": _booking(status="cancelled")}, ErrorCode.ILLEGAL_TRANSITION),
        ({"booking": _booking(deposit_released=True)}, ErrorCode.DEPOSIT_RELEASED),
        ({"booking": _booking(deposit=0)}, ErrorCode.NO_DEPOSIT),
        ({"evidence": [Evidence("x.exe", "application/octet-stream", b"MZ")]}, None),
        ({"has_open_claim": True}, ErrorCode.CLAIM_OPEN),
        ({"committed": 40_000}, ErrorCode.CLAIM_EXCEEDS_DEPOSIT),
        ({"now": END - SECOND}, ErrorCode.CLAIM_WINDOW_CLOSED),
    ],
)
def test_filing_refusals_carry_their_codes(changes: dict[str, object], code: ErrorCode) -> None:
    assert _code(_new, **changes) is (code or ErrorCode.EVIDENCE_INVALID)


# -- the aggregate: answers, decisions, charges ------------------------------------------------
def test_the_guest_accepting_charges_the_whole_amount_with_the_declared_events() -> None:
    claim = _filed(12_345)
    change = claim.accept("guest-1", END + timedelta(hours=2), payment_id="pay_1")
    assert (change.status, change.emits) == (
        ClaimStatus.CHARGING,
        (CHARGE_REQUESTED, CLAIM_DECIDED),
    )
    assert change.emits == TABLE.apply(ClaimStatus.OPEN, ClaimTrigger.ACCEPTED).emits
    assert change.charges
    assert (claim.decided_amount, claim.charge_attempts) == (12_345, 1)
    assert claim.charge_request_id == f"clm_{CLAIM_ID}"


def test_answers_by_someone_else_late_or_without_a_payment_are_refused() -> None:
    on_time = END + timedelta(hours=2)
    assert _code(_filed().accept, "guest-2", on_time, payment_id="p") is ErrorCode.CLAIM_NOT_FOUND
    assert _code(_filed().contest, "guest-2", on_time) is ErrorCode.CLAIM_NOT_FOUND
    late = _filed().respond_by + SECOND
    assert _code(_filed().accept, "guest-1", late, payment_id="p") is (
        ErrorCode.CLAIM_RESPONSE_WINDOW_CLOSED
    )
    assert _code(_filed().contest, "guest-1", late) is ErrorCode.CLAIM_RESPONSE_WINDOW_CLOSED
    unpaid = _filed()
    assert _code(unpaid.accept, "guest-1", on_time, payment_id=None) is (
        ErrorCode.ILLEGAL_TRANSITION
    )
    assert unpaid.status is ClaimStatus.OPEN  # a refusal changes nothing
    contested = _in(ClaimStatus.CONTESTED)
    assert _code(contested.accept, "guest-1", on_time, payment_id="p") is (
        ErrorCode.ILLEGAL_TRANSITION
    )


def test_contesting_and_the_response_timer_hand_the_claim_to_staff_silently() -> None:
    claim = _filed()
    change = claim.contest("guest-1", END + timedelta(hours=2))
    assert (change.status, change.emits) == (ClaimStatus.CONTESTED, ())
    assert claim.expire_response() is None  # answered meanwhile: the timer does nothing
    unanswered = _filed()
    expired = unanswered.expire_response()
    assert expired is not None
    assert (expired.status, expired.emits) == (ClaimStatus.AWAITING_ADMIN, ())


@pytest.mark.parametrize("source", [ClaimStatus.CONTESTED, ClaimStatus.AWAITING_ADMIN])
def test_staff_decide_an_amount_or_dismiss(source: ClaimStatus) -> None:
    charged = _in(source)
    change = charged.decide(7_500, left=50_000, payment_id="pay_1")
    assert (change.status, change.emits) == (
        ClaimStatus.CHARGING,
        (CHARGE_REQUESTED, CLAIM_DECIDED),
    )
    assert (charged.decided_amount, charged.charge_request_id) == (7_500, f"clm_{CLAIM_ID}")
    dismissed = _in(source)
    change = dismissed.decide(0, left=50_000, payment_id="pay_1")
    assert (change.status, change.emits) == (ClaimStatus.DISMISSED, (CLAIM_DECIDED,))
    assert not change.charges
    assert (dismissed.decided_amount, dismissed.charge_request_id) == (0, None)


def test_decisions_outside_the_rules_are_refused_with_their_codes() -> None:
    assert _code(_filed().decide, 5_000, left=50_000, payment_id="p") is (
        ErrorCode.ILLEGAL_TRANSITION  # an open claim is the guest's to answer first
    )
    contested = _in(ClaimStatus.CONTESTED)
    assert _code(contested.decide, 20_001, left=50_000, payment_id="p") is (
        ErrorCode.VALIDATION_FAILED
    )
    assert _code(contested.decide, 10_001, left=10_000, payment_id="p") is (
        ErrorCode.CLAIM_EXCEEDS_DEPOSIT
    )
    assert _code(contested.decide, 100, left=50_000, payment_id=None) is (
        ErrorCode.ILLEGAL_TRANSITION
    )
    assert contested.status is ClaimStatus.CONTESTED


@pytest.mark.parametrize(
    "source", [ClaimStatus.OPEN, ClaimStatus.CONTESTED, ClaimStatus.AWAITING_ADMIN]
)
def test_the_host_withdraws_an_undecided_claim(source: ClaimStatus) -> None:
    claim = _in(source)
    assert _code(claim.withdraw, "host-2") is ErrorCode.CLAIM_NOT_FOUND
    change = claim.withdraw("host-1")
    assert (change.status, change.emits) == (ClaimStatus.WITHDRAWN, (CLAIM_DECIDED,))
    assert claim.decided_amount == 0
    assert _code(_in(ClaimStatus.CHARGING).withdraw, "host-1") is ErrorCode.ILLEGAL_TRANSITION


def test_only_the_answer_to_the_current_charge_request_moves_the_claim() -> None:
    request_id = f"clm_{CLAIM_ID}_2"
    charging = _in(ClaimStatus.CHARGING, charge_request_id=request_id, charge_attempts=2)
    assert charging.charge_succeeded(f"clm_{CLAIM_ID}") is None  # an earlier attempt's answer
    assert charging.charge_failed(None) is None
    succeeded = charging.charge_succeeded(request_id)
    assert succeeded is not None
    assert (succeeded.status, succeeded.emits) == (ClaimStatus.CHARGED, ())
    assert charging.charge_succeeded(request_id) is None  # redelivered: nothing more
    failing = _in(ClaimStatus.CHARGING, charge_request_id=request_id)
    failed = failing.charge_failed(request_id)
    assert failed is not None
    assert (failed.status, failed.emits) == (ClaimStatus.CHARGE_FAILED, ())


def test_an_admin_retry_is_a_new_charge_request_while_the_deposit_is_held() -> None:
    failed = _in(
        ClaimStatus.CHARGE_FAILED,
        decided_amount=4_000,
        charge_attempts=1,
        charge_request_id=f"clm_{CLAIM_ID}",
    )
    change = failed.retry(deposit_released=False, left=50_000)
    assert (change.status, change.emits) == (ClaimStatus.CHARGING, (CHARGE_REQUESTED,))
    assert (failed.charge_attempts, failed.charge_request_id) == (2, f"clm_{CLAIM_ID}_2")
    assert failed.decided_amount == 4_000
    again = _in(ClaimStatus.CHARGE_FAILED, decided_amount=4_000)
    assert _code(again.retry, deposit_released=True, left=50_000) is ErrorCode.DEPOSIT_RELEASED
    assert _code(again.retry, deposit_released=False, left=3_999) is (
        ErrorCode.CLAIM_EXCEEDS_DEPOSIT
    )
    assert _code(_in(ClaimStatus.CHARGED).retry, deposit_released=False, left=50_000) is (
        ErrorCode.ILLEGAL_TRANSITION
    )


def test_every_change_publishes_what_its_transition_declares() -> None:
    """The methods take their events from the table, never decide them themselves."""
    for (source, trigger), candidates in TABLE.candidates.items():
        for candidate in candidates:
            amount = 0 if candidate.target is ClaimStatus.DISMISSED else 10
            assert claim_transition(source, trigger, amount).emits == candidate.emits


# -- the deposit's release -----------------------------------------------------------------------
def test_the_deposit_is_released_once_claims_are_settled_and_the_window_is_over() -> None:
    booking = _booking()
    assert booking.may_release(window_over=True)
    assert not booking.may_release(window_over=False)
    assert not _booking(deposit_released=True).may_release(window_over=True)
    assert not _booking(payment_id=None).may_release(window_over=True)
    assert not _booking(deposit=0).may_release(window_over=True)
    assert booking.window_over(END + CLAIM_WINDOW, WINDOWS)
    assert not booking.window_over(END + CLAIM_WINDOW - SECOND, WINDOWS)
    assert settled_release([]) == Release("no_claim", 0)
    assert settled_release([("charged", 9_000), ("withdrawn", 0), ("charge_failed", 100)]) == (
        Release("claim_settled", 9_000)
    )
    assert settled_release([("charged", 9_000), ("contested", None)]) is None
