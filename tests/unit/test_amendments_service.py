"""Amendments' use cases (`features/amendments/service/`) on booking's unit of work in memory
(tests/support/booking_fakes.py, amendment_fakes.py): proposing a change, the other party's
answers, payments' answers to the extra charge, the signatures, overtime and the expiry timer —
what each stores, schedules and publishes, and the refusals' codes, without Postgres. The same
flows on the real database: tests/integration/test_amendments.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from booking.domain.errors import BookingError, ErrorCode
from booking.domain.quote import Pricing, quote
from booking.domain.refunds import Canceller
from booking.features.amendments import service as amendments
from booking.features.amendments.domain import AMENDMENT_EXPIRY, CREATE_AMENDMENT_ENVELOPE
from booking.service_layer import disputes
from booking.service_layer.timer_kinds import COMPLETION
from marketplace_contracts import make_envelope
from marketplace_contracts.events.payments import PaymentCapturedV2, PaymentFailedV1
from tests.support.booking_fakes import FakeUnitOfWork, refused

GUEST = amendments.Actor(Canceller.GUEST, "guest-1")
HOST = amendments.Actor(Canceller.HOST, "host-1")
LISTING = "lst_studio"
HOUR = timedelta(hours=1)
PROPOSED = "booking.amendment_proposed"
DECIDED = "booking.amendment_decided"
CHARGE = "booking.charge_requested"
SIGNATURES = "booking.signatures_requested"


def _listing(**changes: Any) -> dict[str, Any]:
    listing = {
        "listing_id": LISTING,
        "host_id": HOST.actor_id,
        "active": True,
        "currency": "usd",
        "rate_unit": "hour",
        "hourly_rate": 6_000,
        "daily_rate": None,
        "overtime_hourly_rate": 9_000,
        "min_hours": 1,
        "cleaning_fee": 0,
        "guest_service_fee_bps": 1_000,
        "platform_fee_bps": 1_000,
        "max_guests": 6,
        "extras": [],
        "tax_jurisdiction": None,
        "required_documents": [],
    }
    return {**listing, **changes}


def _booking(fake: FakeUnitOfWork, start: datetime, status: str = "confirmed") -> uuid.UUID:
    """A booking of the listing, 3 h at 60.00 with a 10 % service fee: 198.00, paid."""
    priced = quote(Pricing.of_listing(fake.bookings.listings[LISTING], []), start, start + 3 * HOUR)
    booking_id = uuid.uuid4()
    fake.bookings.bookings[booking_id] = {
        "booking_id": booking_id,
        "listing_id": LISTING,
        "guest_id": GUEST.actor_id,
        "host_id": HOST.actor_id,
        "host_account_id": "acct_host",
        "group_id": None,
        "status": status,
        "starts_at": start,
        "ends_at": start + 3 * HOUR,
        "guests": 1,
        "extras": {},
        "quote": priced.as_dict(),
        "amount": priced.total,
        "platform_fee": priced.platform_fee,
        "tax": priced.tax,
        "currency": "usd",
        "payment_id": "pay_1",
        "correlation_id": uuid.uuid4(),
        "version": 3,
    }
    fake.timers.pending[(COMPLETION, str(booking_id))] = start + 3 * HOUR
    return booking_id


START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=10)


@pytest.fixture
def fake() -> FakeUnitOfWork:
    fake = FakeUnitOfWork()
    fake.bookings.listings[LISTING] = _listing()
    return fake


@pytest.fixture
def booking_id(fake: FakeUnitOfWork) -> uuid.UUID:
    return _booking(fake, START)


@pytest.fixture
def dispute_checks(monkeypatch: pytest.MonkeyPatch) -> list[uuid.UUID]:
    """The bookings whose payment was checked for a dispute (the kernel's check reads
    Postgres; here the payments are never disputed)."""
    checked: list[uuid.UUID] = []

    async def check(_uow: object, booking: Any) -> None:
        checked.append(booking["booking_id"])

    monkeypatch.setattr(disputes, "check_not_disputed", check)
    return checked


async def _propose(fake: FakeUnitOfWork, booking_id: uuid.UUID, **terms: Any) -> uuid.UUID:
    actor = terms.pop("actor", GUEST)
    am = await amendments.propose_change(fake.as_uow(), booking_id, actor, **terms)
    return uuid.UUID(am["amendment_id"])


async def test_a_shorter_stay_is_proposed_with_its_expiry_at_the_start_and_announced(
    fake: FakeUnitOfWork, booking_id: uuid.UUID, dispute_checks: list[uuid.UUID]
) -> None:
    am = await amendments.propose_change(fake.as_uow(), booking_id, GUEST, ends_at=START + 2 * HOUR)
    # 3 h -> 2 h at 60.00 with a 10 % service fee: 198.00 -> 132.00.
    assert (am["status"], am["delta"], am["kind"], am["proposed_by"]) == (
        "proposed",
        -6_600,
        "change",
        "guest",
    )
    assert am["refund_status"] == "none" and am["needs_signatures"] is False
    assert dispute_checks == [booking_id]  # a decrease would refund: the payment is checked
    assert fake.timers.pending[(AMENDMENT_EXPIRY, am["amendment_id"])] == START
    [(event, meta)] = fake.outbox.added
    assert (event.TYPE, event.delta, meta["key"]) == (PROPOSED, -6_600, str(booking_id))
    assert meta["correlation_id"] == fake.bookings.bookings[booking_id]["correlation_id"]
    assert fake.bookings.bookings[booking_id]["amount"] == 19_800  # nothing applied yet


async def test_a_second_proposal_while_one_is_open_is_refused_with_amendment_pending(
    fake: FakeUnitOfWork, booking_id: uuid.UUID, dispute_checks: list[uuid.UUID]
) -> None:
    await _propose(fake, booking_id, ends_at=START + 2 * HOUR)
    await refused(
        _propose(fake, booking_id, actor=HOST, ends_at=START + 4 * HOUR),
        ErrorCode.AMENDMENT_PENDING,
    )
    assert len(fake.amendments.rows) == 1 and fake.outbox.types == [PROPOSED]


async def test_proposals_that_change_nothing_or_come_from_a_stranger_are_refused(
    fake: FakeUnitOfWork, booking_id: uuid.UUID
) -> None:
    await refused(_propose(fake, booking_id, guests=1), ErrorCode.VALIDATION_FAILED)
    stranger = amendments.Actor(Canceller.GUEST, "guest-2")
    await refused(_propose(fake, booking_id, actor=stranger, guests=2), ErrorCode.BOOKING_NOT_FOUND)
    await refused(_propose(fake, uuid.uuid4(), guests=2), ErrorCode.BOOKING_NOT_FOUND)
    assert (fake.amendments.rows, fake.outbox.added) == ({}, [])


async def test_accepting_a_decrease_applies_it_moves_the_completion_and_requests_the_refund(
    fake: FakeUnitOfWork, booking_id: uuid.UUID, dispute_checks: list[uuid.UUID]
) -> None:
    amendment_id = await _propose(fake, booking_id, ends_at=START + 2 * HOUR)
    await refused(amendments.accept(fake.as_uow(), amendment_id, GUEST), ErrorCode.FORBIDDEN)
    done = await amendments.accept(fake.as_uow(), amendment_id, HOST)
    assert (done["status"], done["refund_status"]) == ("applied", "pending")
    booking = fake.bookings.bookings[booking_id]
    assert (booking["ends_at"], booking["amount"], booking["version"]) == (
        START + 2 * HOUR,
        13_200,
        4,
    )
    assert fake.timers.pending == {(COMPLETION, str(booking_id)): START + 2 * HOUR}
    assert (AMENDMENT_EXPIRY, str(amendment_id)) in fake.timers.cancelled
    assert fake.outbox.types == [PROPOSED, DECIDED]
    decided, _ = fake.outbox.added[-1]
    assert (decided.outcome, decided.refund.amount, decided.refund.payment_id) == (
        "applied",
        6_600,
        "pay_1",
    )
    assert decided.refund.host_amount == 6_000 - 600  # the host's 60.00 less its 10 % fee
    assert dispute_checks == [booking_id, booking_id]  # at the proposal, and at the answer


async def test_a_longer_stay_is_charged_first_holding_both_ranges_then_applied_when_paid(
    fake: FakeUnitOfWork, booking_id: uuid.UUID
) -> None:
    amendment_id = await _propose(fake, booking_id, actor=HOST, starts_at=START - HOUR)
    charging = await amendments.accept(fake.as_uow(), amendment_id, GUEST)
    assert (charging["status"], charging["delta"]) == ("charging", 6_600)
    held = fake.bookings.bookings[booking_id]
    assert (held["starts_at"], held["ends_at"], held["amount"]) == (
        START - HOUR,
        START + 3 * HOUR,
        19_800,  # the old price while the increase is charged
    )
    [(charge, _)] = [(e, m) for e, m in fake.outbox.added if e.TYPE == CHARGE]
    assert (charge.amount, charge.payment_id, charge.reason) == (6_600, "pay_1", "amendment")
    assert charge.charge_request_id == f"chg_{amendment_id}"
    captured = PaymentCapturedV2.model_construct(payment_id="pay_extra")
    env = make_envelope(captured, key="p", producer="payments", correlation_id=uuid.uuid4())
    for _ in range(2):  # a redelivered fact changes nothing
        await amendments.on_charge_captured(fake.as_uow(), env, captured, amendment_id)
    applied = fake.bookings.bookings[booking_id]
    assert (applied["starts_at"], applied["amount"]) == (START - HOUR, 26_400)
    assert fake.amendments.rows[amendment_id]["charge_payment_id"] == "pay_extra"
    assert fake.outbox.types == [PROPOSED, CHARGE, DECIDED]
    decided, meta = fake.outbox.added[-1]
    assert (decided.outcome, decided.refund, meta["causation_id"]) == (
        "applied",
        None,
        env.event_id,
    )


async def test_a_failed_charge_puts_the_booking_back_as_it_was(
    fake: FakeUnitOfWork, booking_id: uuid.UUID
) -> None:
    before = dict(fake.bookings.bookings[booking_id])
    amendment_id = await _propose(fake, booking_id, ends_at=START + 5 * HOUR)
    await amendments.accept(fake.as_uow(), amendment_id, HOST)
    failed = PaymentFailedV1(
        payment_id="pay_x",
        booking_id=str(booking_id),
        code="card_declined",
        decline_code="insufficient_funds",
        charge_request_id=f"chg_{amendment_id}",
    )
    env = make_envelope(failed, key="p", producer="payments", correlation_id=uuid.uuid4())
    await amendments.on_charge_failed(fake.as_uow(), env, failed, amendment_id)
    after = fake.bookings.bookings[booking_id]
    assert {**after, "version": before["version"]} == before
    row = fake.amendments.rows[amendment_id]
    assert (row["status"], row["failure_reason"]) == ("failed", "card_declined: insufficient_funds")
    decided, _ = fake.outbox.added[-1]
    assert (decided.TYPE, decided.outcome) == (DECIDED, "failed")


async def test_rejecting_or_withdrawing_decides_it_and_leaves_the_booking_alone(
    fake: FakeUnitOfWork, booking_id: uuid.UUID
) -> None:
    before = dict(fake.bookings.bookings[booking_id])
    first = await _propose(fake, booking_id, guests=2)
    await refused(amendments.reject(fake.as_uow(), first, GUEST, "no"), ErrorCode.FORBIDDEN)
    stranger = amendments.Actor(Canceller.HOST, "host-2")
    await refused(amendments.reject(fake.as_uow(), first, stranger), ErrorCode.AMENDMENT_NOT_FOUND)
    rejected = await amendments.reject(fake.as_uow(), first, HOST, "too many people")
    assert (rejected["status"], rejected["failure_reason"]) == ("rejected", "too many people")
    second = await _propose(fake, booking_id, guests=3)  # none open any more
    await refused(amendments.withdraw(fake.as_uow(), second, HOST), ErrorCode.FORBIDDEN)
    assert (await amendments.withdraw(fake.as_uow(), second, GUEST))["status"] == "withdrawn"
    await refused(amendments.accept(fake.as_uow(), second, HOST), ErrorCode.ILLEGAL_TRANSITION)
    assert fake.bookings.bookings[booking_id] == before
    assert fake.outbox.types == [PROPOSED, DECIDED, PROPOSED, DECIDED]
    assert [e.outcome for e, _ in fake.outbox.added if e.TYPE == DECIDED] == [
        "rejected",
        "withdrawn",
    ]
    assert {(AMENDMENT_EXPIRY, str(first)), (AMENDMENT_EXPIRY, str(second))} <= set(
        fake.timers.cancelled
    )


async def test_a_change_into_a_taken_slot_is_refused_with_slot_unavailable(
    fake: FakeUnitOfWork, booking_id: uuid.UUID
) -> None:
    _booking(fake, START + 4 * HOUR)  # the next booking of the listing
    amendment_id = await _propose(fake, booking_id, ends_at=START + 5 * HOUR)
    await refused(amendments.accept(fake.as_uow(), amendment_id, HOST), ErrorCode.SLOT_UNAVAILABLE)
    assert fake.bookings.bookings[booking_id]["ends_at"] == START + 3 * HOUR
    assert fake.outbox.types == [PROPOSED]


async def test_a_decrease_of_a_disputed_payment_is_refused_with_payment_disputed(
    fake: FakeUnitOfWork, booking_id: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def disputed(_uow: object, booking: Any) -> None:
        raise BookingError(ErrorCode.PAYMENT_DISPUTED, f"{booking['booking_id']} is disputed")

    monkeypatch.setattr(disputes, "check_not_disputed", disputed)
    await refused(_propose(fake, booking_id, ends_at=START + 2 * HOUR), ErrorCode.PAYMENT_DISPUTED)
    assert (fake.amendments.rows, fake.outbox.added) == ({}, [])
    await _propose(fake, booking_id, ends_at=START + 4 * HOUR)  # an increase refunds nothing


async def test_new_times_on_a_listing_with_documents_are_signed_before_they_apply(
    fake: FakeUnitOfWork, booking_id: uuid.UUID
) -> None:
    agreement = {"document_id": "agreement", "title": "Agreement", "text": "I agree."}
    fake.bookings.listings[LISTING] = _listing(required_documents=[agreement])
    moved = START + timedelta(days=1)  # same length, same price: only the terms change
    first = await _propose(fake, booking_id, starts_at=moved, ends_at=moved + 3 * HOUR)
    waiting = await amendments.accept(fake.as_uow(), first, HOST)
    assert (waiting["status"], waiting["needs_signatures"]) == ("awaiting_signatures", True)
    assert (CREATE_AMENDMENT_ENVELOPE, str(first)) in fake.timers.pending
    asked, _ = fake.outbox.added[-1]
    assert asked.TYPE == SIGNATURES
    assert asked.document_ids == ["agreement", f"amendment-{first}"]
    assert fake.bookings.bookings[booking_id]["starts_at"] == START  # not yet
    await amendments.signed(fake.as_uow(), first)
    await amendments.signed(fake.as_uow(), first)  # decided already: nothing more
    assert fake.amendments.rows[first]["status"] == "applied"
    assert fake.bookings.bookings[booking_id]["starts_at"] == moved
    assert fake.outbox.types[-2:] == [SIGNATURES, DECIDED]

    second = await _propose(fake, booking_id, starts_at=START, ends_at=START + 3 * HOUR)
    await amendments.accept(fake.as_uow(), second, HOST)
    await amendments.signatures_declined(fake.as_uow(), second, "declined")
    row = fake.amendments.rows[second]
    assert (row["status"], row["failure_reason"]) == ("failed", "declined")
    assert fake.bookings.bookings[booking_id]["starts_at"] == moved  # as it was


async def test_overtime_is_reported_after_the_end_and_charged_when_not_disputed_in_time(
    fake: FakeUnitOfWork,
) -> None:
    ended = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - 5 * HOUR
    booking_id = _booking(fake, ended, status="completed")
    report = amendments.report_overtime
    await refused(report(fake.as_uow(), booking_id, HOST.actor_id, 45), ErrorCode.VALIDATION_FAILED)
    await refused(report(fake.as_uow(), booking_id, "host-2", 60), ErrorCode.BOOKING_NOT_FOUND)
    am = await report(fake.as_uow(), booking_id, HOST.actor_id, 60, timedelta(hours=48))
    # 1 h at the overtime rate 90.00 plus the 10 % service fee.
    assert (am["kind"], am["delta"], am["proposed_by"]) == ("overtime", 9_900, "host")
    amendment_id = uuid.UUID(am["amendment_id"])
    due = fake.timers.pending[(AMENDMENT_EXPIRY, str(amendment_id))]
    assert timedelta(hours=47) < due - datetime.now(UTC) <= timedelta(hours=48)
    await amendments.expire(fake.as_uow(), amendment_id)  # not disputed by then: accepted
    assert fake.amendments.rows[amendment_id]["status"] == "charging"
    charge, _ = fake.outbox.added[-1]
    assert (charge.TYPE, charge.amount, charge.reason) == (CHARGE, 9_900, "overtime")


async def test_disputed_overtime_is_not_charged(fake: FakeUnitOfWork) -> None:
    ended = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - 5 * HOUR
    booking_id = _booking(fake, ended, status="completed")
    am = await amendments.report_overtime(fake.as_uow(), booking_id, HOST.actor_id, 30)
    amendment_id = uuid.UUID(am["amendment_id"])
    await refused(amendments.dispute(fake.as_uow(), amendment_id, HOST), ErrorCode.FORBIDDEN)
    disputed = await amendments.dispute(fake.as_uow(), amendment_id, GUEST, "we left on time")
    assert (disputed["status"], disputed["failure_reason"]) == ("disputed", "we left on time")
    await amendments.expire(fake.as_uow(), amendment_id)  # the timer fires anyway: nothing
    assert fake.outbox.types == [PROPOSED, DECIDED]


async def test_a_change_unanswered_at_the_start_expires(
    fake: FakeUnitOfWork, booking_id: uuid.UUID
) -> None:
    amendment_id = await _propose(fake, booking_id, guests=2)
    await amendments.expire(fake.as_uow(), amendment_id)
    row = fake.amendments.rows[amendment_id]
    assert (row["status"], row["failure_reason"]) == ("expired", "not answered before the start")
    decided, _ = fake.outbox.added[-1]
    assert (decided.TYPE, decided.outcome) == (DECIDED, "expired")
    assert fake.bookings.bookings[booking_id]["guests"] == 1
    await refused(amendments.expire(fake.as_uow(), uuid.uuid4()), ErrorCode.AMENDMENT_NOT_FOUND)


async def test_overtime_at_a_taxed_listing_is_taxed_at_its_jurisdictions_rates(
    fake: FakeUnitOfWork,
) -> None:
    fake.bookings.listings[LISTING] = _listing(tax_jurisdiction="us-ny")
    fake.amendments.taxes["us-ny"] = {"space_rental": 800}
    ended = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - 5 * HOUR
    booking_id = _booking(fake, ended, status="completed")
    am = await amendments.report_overtime(fake.as_uow(), booking_id, HOST.actor_id, 60)
    # 90.00 and its 10 % service fee, and 8 % of the 90.00 rental: 99.00 + 7.20.
    assert am["delta"] == 10_620
    assert am["quote"]["lines"][-1]["code"] == "overtime:tax:space_rental"
