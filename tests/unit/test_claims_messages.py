"""A claim's events are built once each, from the aggregate and its booking's row, and a use
case publishes exactly what the transition declared; a claim's write is a compare-and-set whose
loss fails loudly. No database: a recording outbox and a connection that answers one status."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from booking.features.claims.domain import (
    CLAIM_FILED,
    Change,
    Claim,
    ClaimStatus,
    ClaimTrigger,
    Release,
)
from booking.features.claims.messages import About, deposit_released, publish
from booking.features.claims.repository import ClaimsRepository
from eventkit.rows import LostUpdate, expect_changed
from marketplace_contracts.events.booking import (
    ChargeRequestedV1,
    ClaimDecidedV1,
    ClaimFiledV1,
)
from tests.support.outbox_fake import FakeOutbox

CLAIM_ID = uuid.UUID("0b0c3b8e-6a4c-4f6e-9a57-5f9e3a1d2c11")
BOOKING_ID = uuid.UUID("5f1d4c1e-2b6a-4a7e-8e0f-3c2b1a0d9e8f")
CORRELATION = uuid.uuid4()
ROW: dict[str, Any] = {
    "booking_id": BOOKING_ID,
    "group_id": None,
    "payment_id": "pay_1",
    "currency": "usd",
    "host_account_id": "acct_1",
    "deposit_amount": 30_000,
    "correlation_id": CORRELATION,
}
NOW = datetime(2030, 5, 1, 12, tzinfo=UTC)


def _claim(status: ClaimStatus = ClaimStatus.OPEN) -> Claim:
    return Claim(
        claim_id=CLAIM_ID,
        booking_id=BOOKING_ID,
        host_id="host-1",
        guest_id="guest-1",
        status=status,
        amount=12_345,
        currency="usd",
        respond_by=NOW + timedelta(hours=48),
        version=3,
    )


async def test_an_accepted_claim_publishes_the_charge_request_then_the_decision() -> None:
    claim = _claim()
    change = claim.accept("guest-1", NOW, payment_id="pay_1")
    outbox: Any = FakeOutbox()
    await publish(object(), outbox, change, About(claim, ROW, ClaimTrigger.ACCEPTED, "guest"))
    assert [e.TYPE for e, _ in outbox.added] == list(change.emits)
    (request, meta), (decided, _) = outbox.added
    assert isinstance(request, ChargeRequestedV1) and isinstance(decided, ClaimDecidedV1)
    assert (request.charge_request_id, request.amount, request.reason, request.subject_id) == (
        f"clm_{CLAIM_ID}",
        12_345,
        "deposit_claim",
        str(CLAIM_ID),
    )
    assert (request.platform_fee, request.tax, request.payment_id) == (0, 0, "pay_1")
    assert (decided.outcome, decided.amount, decided.decided_by) == ("accepted", 12_345, "guest")
    assert decided.charge_request_id == request.charge_request_id
    assert meta == {"key": str(BOOKING_ID), "correlation_id": CORRELATION, "causation_id": None}


async def test_a_dismissal_and_a_withdrawal_publish_the_decision_only() -> None:
    dismissed = _claim(ClaimStatus.CONTESTED)
    change = dismissed.decide(0, left=30_000, payment_id="pay_1")
    outbox: Any = FakeOutbox()
    await publish(object(), outbox, change, About(dismissed, ROW, ClaimTrigger.DECIDED, "trust"))
    [(decided, _)] = outbox.added
    assert (decided.outcome, decided.amount, decided.decided_by) == ("decided", 0, "trust")
    assert decided.charge_request_id is None
    withdrawn = _claim()
    change = withdrawn.withdraw("host-1")
    outbox = FakeOutbox()
    await publish(object(), outbox, change, About(withdrawn, ROW, ClaimTrigger.WITHDRAWN, "host"))
    assert [(e.TYPE, e.outcome) for e, _ in outbox.added] == [
        ("booking.claim_decided", "withdrawn")
    ]


async def test_silent_transitions_publish_nothing_and_filing_publishes_the_filing() -> None:
    contested = _claim()
    change = contested.contest("guest-1", NOW)
    outbox: Any = FakeOutbox()
    await publish(object(), outbox, change, About(contested, ROW, ClaimTrigger.CONTESTED))
    assert outbox.added == []
    filed = Change(ClaimStatus.OPEN, (CLAIM_FILED,))
    await publish(
        object(),
        outbox,
        filed,
        About(_claim(), ROW, description="a broken mirror", evidence_count=2),
    )
    [(event, _)] = outbox.added
    assert isinstance(event, ClaimFiledV1)
    assert (event.amount, event.evidence_count, event.description) == (
        12_345,
        2,
        "a broken mirror",
    )
    assert event.respond_by == NOW + timedelta(hours=48)


def test_the_release_event_says_why_and_what_was_charged() -> None:
    event = deposit_released(ROW, Release("claim_settled", 9_000))
    assert (event.amount, event.charged, event.reason, event.payment_id) == (
        30_000,
        9_000,
        "claim_settled",
        "pay_1",
    )


class OneStatusConnection:
    def __init__(self, status: str) -> None:
        self.status = status
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    async def execute(self, sql: str, *args: Any) -> str:
        self.calls.append((sql, args))
        return self.status


async def test_a_claim_write_is_a_compare_and_set_on_the_version_read() -> None:
    claim = _claim()
    claim.accept("guest-1", NOW, payment_id="pay_1")
    conn = OneStatusConnection("UPDATE 1")
    assert await ClaimsRepository(conn).save_claim(claim, decided_by="guest")
    [(sql, args)] = conn.calls
    assert "WHERE claim_id = $1 AND version = $2" in sql
    assert args[:3] == (CLAIM_ID, 3, "charging")
    assert claim.version == 4  # the aggregate carries the version it wrote
    lost = OneStatusConnection("UPDATE 0")
    assert not await ClaimsRepository(lost).save_claim(claim)
    assert claim.version == 4
    with pytest.raises(LostUpdate) as err:
        expect_changed(False, f"claim {CLAIM_ID}")
    assert err.value.code == "lost_update"
