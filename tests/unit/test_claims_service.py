"""Damage claims' use cases (`features/claims/service/`) on booking's unit of work in memory
(tests/support/booking_fakes.py): filing, the guest's answers, staff decisions, payments'
answers, the timers and the deposit's release — what each stores, schedules and publishes,
and the refusals' codes, without Postgres. The same flows on the real database and payments:
tests/integration/test_deposits_claims.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from booking.domain.errors import ErrorCode
from booking.features.claims import service as claims
from booking.features.claims.domain import CLAIM_RESPONSE_EXPIRY, DEPOSIT_RELEASE
from booking.features.claims.domain.rules import ClaimWindows
from eventkit.rows import LostUpdate
from marketplace_contracts import make_envelope
from marketplace_contracts.events.payments import PaymentCapturedV2, PaymentFailedV1
from tests.support.booking_fakes import FakeUnitOfWork, refused

HOST, GUEST = "host-1", "guest-1"
DEPOSIT = 20_000
PNG = b"\x89PNG\r\n\x1a\n" + bytes(32)
# The booking ended two days ago: within a 3-day claim window, past a 1-day one.
OPEN_WINDOW = ClaimWindows(claim=timedelta(days=3), response=timedelta(days=1))
CLOSED_WINDOW = ClaimWindows(claim=timedelta(days=1), response=timedelta(days=1))
FILED = "booking.claim_filed"
DECIDED = "booking.claim_decided"
CHARGE = "booking.charge_requested"
RELEASED = "booking.deposit_released"


@pytest.fixture
def fake() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def booking_id(fake: FakeUnitOfWork) -> uuid.UUID:
    booking_id = uuid.uuid4()
    fake.bookings.bookings[booking_id] = {
        "booking_id": booking_id,
        "host_id": HOST,
        "guest_id": GUEST,
        "host_account_id": "acct_host",
        "group_id": None,
        "status": "completed",
        "currency": "usd",
        "ends_at": datetime.now(UTC) - timedelta(days=2),
        "deposit_amount": DEPOSIT,
        "deposit_released_at": None,
        "payment_id": "pay_1",
        "correlation_id": uuid.uuid4(),
    }
    return booking_id


async def _file(fake: FakeUnitOfWork, booking_id: uuid.UUID, amount: int = 12_000) -> uuid.UUID:
    evidence = [claims.Evidence("mirror.png", "image/png", PNG)]
    claim = await claims.file_claim(
        fake.as_uow(), booking_id, HOST, amount, "a broken mirror", evidence, windows=OPEN_WINDOW
    )
    return uuid.UUID(claim["claim_id"])


def _answer(event: Any, booking_id: uuid.UUID) -> Any:
    return make_envelope(
        event, key=str(booking_id), producer="payments", correlation_id=uuid.uuid4()
    )


def _captured(booking_id: uuid.UUID, request_id: str | None) -> PaymentCapturedV2:
    # Only what the claim's handler reads: which charge was paid, and by which payment.
    return PaymentCapturedV2.model_construct(
        payment_id="pay_claim", booking_id=str(booking_id), charge_request_id=request_id
    )


async def _accepted_and_declined(
    fake: FakeUnitOfWork, booking_id: uuid.UUID, claim_id: uuid.UUID
) -> None:
    """The guest accepts the claim, and payments answers that its charge was declined."""
    await claims.accept(fake.as_uow(), claim_id, GUEST, windows=OPEN_WINDOW)
    failed = PaymentFailedV1(
        payment_id="pay_claim",
        booking_id=str(booking_id),
        code="card_declined",
        decline_code="insufficient_funds",
        charge_request_id=claims.charge_request_id(claim_id),
    )
    env = _answer(failed, booking_id)
    await claims.on_charge_failed(fake.as_uow(), env, failed, claim_id, windows=OPEN_WINDOW)


async def test_filing_stores_an_open_claim_with_its_evidence_and_a_response_deadline(
    fake: FakeUnitOfWork, booking_id: uuid.UUID
) -> None:
    claim_id = await _file(fake, booking_id)
    row = fake.claims.rows[claim_id]
    assert (row["status"], row["amount"], row["version"]) == ("open", 12_000, 1)
    assert fake.timers.pending == {(CLAIM_RESPONSE_EXPIRY, str(claim_id)): row["respond_by"]}
    [(event, meta)] = fake.outbox.added
    assert (event.TYPE, event.evidence_count, meta["key"]) == (FILED, 1, str(booking_id))
    [evidence] = fake.claims.evidence[claim_id]
    assert (evidence["n"], evidence["size"]) == (1, len(PNG))


async def test_a_second_claim_while_one_is_open_is_refused_with_claim_open(
    fake: FakeUnitOfWork, booking_id: uuid.UUID
) -> None:
    await _file(fake, booking_id)
    await refused(_file(fake, booking_id, 1_000), ErrorCode.CLAIM_OPEN)
    assert len(fake.claims.rows) == 1 and fake.outbox.types == [FILED]


async def test_filing_after_the_claim_window_is_refused_and_writes_nothing(
    fake: FakeUnitOfWork, booking_id: uuid.UUID
) -> None:
    await refused(
        claims.file_claim(
            fake.as_uow(), booking_id, HOST, 1_000, "late", [], windows=CLOSED_WINDOW
        ),
        ErrorCode.CLAIM_WINDOW_CLOSED,
    )
    assert (fake.claims.rows, fake.timers.pending, fake.outbox.added) == ({}, {}, [])


async def test_the_guest_accepting_charges_the_amount_on_the_bookings_payment(
    fake: FakeUnitOfWork, booking_id: uuid.UUID
) -> None:
    claim_id = await _file(fake, booking_id)
    await refused(
        claims.accept(fake.as_uow(), claim_id, "guest-2", windows=OPEN_WINDOW),
        ErrorCode.CLAIM_NOT_FOUND,
    )
    charging = await claims.accept(fake.as_uow(), claim_id, GUEST, windows=OPEN_WINDOW)
    request_id = claims.charge_request_id(claim_id)
    assert (charging["status"], charging["decided_amount"], charging["decided_by"]) == (
        "charging",
        12_000,
        "guest",
    )
    assert charging["charge_request_id"] == request_id
    assert fake.timers.cancelled == [(CLAIM_RESPONSE_EXPIRY, str(claim_id))]
    assert set(fake.outbox.types[1:]) == {CHARGE, DECIDED}
    charge = next(e for e, _ in fake.outbox.added if e.TYPE == CHARGE)
    assert (charge.amount, charge.payment_id, charge.platform_fee) == (12_000, "pay_1", 0)
    assert fake.bookings.bookings[booking_id]["deposit_released_at"] is None


async def test_a_dismissed_claim_after_the_window_releases_the_deposit_once(
    fake: FakeUnitOfWork, booking_id: uuid.UUID
) -> None:
    claim_id = await _file(fake, booking_id)
    await claims.contest(fake.as_uow(), claim_id, GUEST, "it was cracked")
    assert fake.claims.rows[claim_id]["status"] == "contested"
    dismissed = await claims.decide(fake.as_uow(), claim_id, 0, "no proof", windows=CLOSED_WINDOW)
    assert (dismissed["status"], dismissed["decision_note"]) == ("dismissed", "no proof")
    assert fake.outbox.types == [FILED, DECIDED, RELEASED]
    released, _ = fake.outbox.added[-1]
    assert (released.reason, released.charged, released.amount) == ("claim_settled", 0, DEPOSIT)
    # The booking's end (or any later fact) finds the deposit released: no second release.
    row = await fake.bookings.get_booking(booking_id)
    await claims.on_booking_ended(fake.as_uow(), row, "booking_ended")
    assert fake.outbox.types.count(RELEASED) == 1


async def test_a_retry_cannot_charge_more_than_the_other_claims_left_of_the_deposit(
    fake: FakeUnitOfWork, booking_id: uuid.UUID
) -> None:
    first = await _file(fake, booking_id)
    await _accepted_and_declined(fake, booking_id, first)
    # The first claim's charge failed (it ended): a second claim may take 15,000 of 20,000.
    second = await _file(fake, booking_id, 15_000)
    await claims.accept(fake.as_uow(), second, GUEST, windows=OPEN_WINDOW)
    await refused(claims.retry(fake.as_uow(), first), ErrorCode.CLAIM_EXCEEDS_DEPOSIT)
    assert fake.claims.rows[first]["status"] == "charge_failed"


async def test_payments_capturing_the_current_charge_settles_the_claim_and_the_deposit(
    fake: FakeUnitOfWork, booking_id: uuid.UUID
) -> None:
    claim_id = await _file(fake, booking_id)
    await claims.accept(fake.as_uow(), claim_id, GUEST, windows=OPEN_WINDOW)
    published = len(fake.outbox.added)
    stale = _captured(booking_id, claims.charge_request_id(claim_id, 2))
    await claims.on_charge_captured(
        fake.as_uow(), _answer(stale, booking_id), stale, claim_id, windows=CLOSED_WINDOW
    )
    assert fake.claims.rows[claim_id]["status"] == "charging"  # an answer to another attempt
    assert len(fake.outbox.added) == published
    paid = _captured(booking_id, claims.charge_request_id(claim_id))
    env = _answer(paid, booking_id)
    await claims.on_charge_captured(fake.as_uow(), env, paid, claim_id, windows=CLOSED_WINDOW)
    row = fake.claims.rows[claim_id]
    assert (row["status"], row["charge_payment_id"]) == ("charged", "pay_claim")
    released, meta = fake.outbox.added[-1]
    assert (released.TYPE, released.charged, meta["causation_id"]) == (
        RELEASED,
        12_000,
        env.event_id,
    )


async def test_a_failed_charge_keeps_why_and_an_admin_retry_asks_again_under_a_new_id(
    fake: FakeUnitOfWork, booking_id: uuid.UUID
) -> None:
    claim_id = await _file(fake, booking_id)
    await _accepted_and_declined(fake, booking_id, claim_id)
    row = fake.claims.rows[claim_id]
    assert (row["status"], row["failure_reason"]) == (
        "charge_failed",
        "card_declined: insufficient_funds",
    )
    retried = await claims.retry(fake.as_uow(), claim_id)
    assert (retried["status"], retried["failure_reason"]) == ("charging", None)
    charge, _ = fake.outbox.added[-1]
    assert (charge.TYPE, charge.charge_request_id) == (
        CHARGE,
        claims.charge_request_id(claim_id, 2),
    )


async def test_the_response_timer_hands_an_unanswered_claim_to_staff_only(
    fake: FakeUnitOfWork, booking_id: uuid.UUID
) -> None:
    claim_id = await _file(fake, booking_id)
    await claims.on_response_expired(fake.as_uow(), claim_id)
    assert fake.claims.rows[claim_id]["status"] == "awaiting_admin"
    await refused(
        claims.contest(fake.as_uow(), claim_id, GUEST, "too late"), ErrorCode.ILLEGAL_TRANSITION
    )
    version = fake.claims.rows[claim_id]["version"]
    await claims.on_response_expired(fake.as_uow(), claim_id)  # fired again: nothing changes
    assert fake.claims.rows[claim_id]["version"] == version


async def test_a_completed_booking_schedules_the_release_and_the_window_end_releases_it(
    fake: FakeUnitOfWork, booking_id: uuid.UUID
) -> None:
    row = await fake.bookings.get_booking(booking_id)
    await claims.on_booking_completed(fake.as_uow(), row, OPEN_WINDOW)
    key = (DEPOSIT_RELEASE, str(booking_id))
    assert fake.timers.pending == {key: row["ends_at"] + OPEN_WINDOW.claim}
    await claims.on_window_over(fake.as_uow(), booking_id)
    released, _ = fake.outbox.added[-1]
    assert (released.TYPE, released.reason, released.charged) == (RELEASED, "no_claim", 0)
    assert fake.timers.cancelled == [key]


async def test_the_window_end_keeps_the_deposit_while_a_claim_is_open(
    fake: FakeUnitOfWork, booking_id: uuid.UUID
) -> None:
    await _file(fake, booking_id)
    await claims.on_window_over(fake.as_uow(), booking_id)
    assert fake.bookings.bookings[booking_id]["deposit_released_at"] is None
    assert fake.outbox.types == [FILED]


async def test_a_claim_changed_after_its_lock_fails_loudly_and_publishes_nothing(
    fake: FakeUnitOfWork, booking_id: uuid.UUID
) -> None:
    claim_id = await _file(fake, booking_id)
    fake.claims.moved_after_lock = True
    with pytest.raises(LostUpdate):
        await claims.accept(fake.as_uow(), claim_id, GUEST, windows=OPEN_WINDOW)
    assert fake.claims.rows[claim_id]["status"] == "open"
    assert fake.outbox.types == [FILED]
