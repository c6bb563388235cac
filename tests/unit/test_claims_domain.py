"""Damage claims: the transition table and the filing, answering and decision rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from booking.domain.claims import (
    CLAIM_WINDOW,
    ENDED_STATUSES,
    OPEN_STATUSES,
    ClaimStatus,
    ClaimTrigger,
    check_decision,
    check_evidence,
    check_filing,
    check_response,
    claim_mermaid,
    claim_transition,
    remaining_deposit,
)
from booking.domain.errors import BookingError, ErrorCode
from booking.service_layer.claims import charge_request_id

END = datetime(2030, 5, 1, 12, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def _file(**overrides: object) -> None:
    args: dict[str, object] = {
        "now": END + timedelta(hours=1),
        "ends_at": END,
        "deposit": 50_000,
        "committed": 0,
        "amount": 20_000,
        "has_open_claim": False,
    }
    check_filing(**{**args, **overrides})  # type: ignore[arg-type]


def _code(call: object, *args: object, **kwargs: object) -> ErrorCode:
    with pytest.raises(BookingError) as err:
        call(*args, **kwargs)  # type: ignore[operator]
    return err.value.code


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
