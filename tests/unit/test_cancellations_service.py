"""Cancellations' use cases (`features/cancellations/service.py`) on booking's unit of work in
memory (tests/support/booking_fakes.py): the preview, the cancellation (the booking's change,
the refund recorded and requested, the timers, the events and their order), payments' answers
to the refund, the policies admins publish, and the refusals' codes, without Postgres.

The dispute check, the amendments' paid increases and refund answers, and the receipts are
replaced by what a test says. The same flows on the real
database: tests/integration/test_cancellations.py, test_bank_debits.py, test_deposits_claims.py.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from booking.domain.errors import BookingError, ErrorCode
from booking.domain.refunds import Canceller
from booking.features.amendments import service as amendments
from booking.features.cancellations import service as cancellations
from booking.service_layer.timer_kinds import COMPLETION
from eventkit.rows import LostUpdate
from marketplace_contracts import make_envelope
from marketplace_contracts.events.payments import RefundFailedV1, RefundSucceededV1
from tests.support.booking_fakes import FakeUnitOfWork, refused

HOST, GUEST = "host-1", "guest-1"
AMOUNT, FEE = 10_000, 1_500
CANCELLED = "booking.booking_cancelled"
RELEASED = "booking.deposit_released"
# Cancelled at least 5 days before the start: all of the stay back; at least 1 day: half.
MODERATE = {
    "name": "moderate",
    "version": 3,
    "bands": [
        {"hours_before": 120, "refund_bps": 10_000},
        {"hours_before": 24, "refund_bps": 5000},
    ],
    "grace_hours": 24,
    "grace_min_lead_hours": 48,
    "service_fee": "grace_only",
    "host_penalty_bps": 1000,
}
# The columns of a confirmed booking that are still null.
NULLS = (
    "failure_reason failure_detail respond_by pay_by group_id signing_url tax quote cancelled_by "
    "cancelled_at authorization_renewed_at refund refund_failure next_action deposit_released_at "
    "funds_status bank_name bank_last4"
).split()


class Kernel:
    """What the cancellation asks of other modules: whether a dispute blocks the refund, the
    extra charges that paid the booking's increases, and who was told of a refund."""

    def __init__(self) -> None:
        self.disputed = False
        # Extra charges whose dispute was lost, with what the bank gave back (None: all).
        self.returned: dict[str, int | None] = {}
        self.increases: list[amendments.PaidIncrease] = []
        self.amendment_answers: list[tuple[str, uuid.UUID]] = []
        self.receipts: list[str] = []


@pytest.fixture
def kernel(monkeypatch: pytest.MonkeyPatch) -> Kernel:
    kernel = Kernel()

    async def check_cancellable(uow: Any, row: Any) -> dict[str, int | None]:
        if kernel.disputed:
            raise BookingError(ErrorCode.PAYMENT_DISPUTED, "disputed")
        return dict(kernel.returned)

    async def paid_increases(uow: Any, booking_id: uuid.UUID) -> list[Any]:
        return list(kernel.increases)

    async def amendment_refund(uow: Any, amendment_id: uuid.UUID, *_: Any) -> None:
        kernel.amendment_answers.append(("amendment", amendment_id))

    async def issue_for_refund(uow: Any, env: Any, event: Any) -> None:
        kernel.receipts.append(event.refund_id)

    monkeypatch.setattr(cancellations.disputes, "check_cancellable", check_cancellable)
    monkeypatch.setattr(cancellations.amendments, "paid_increases", paid_increases)
    monkeypatch.setattr(cancellations.amendments, "on_refund_succeeded", amendment_refund)
    monkeypatch.setattr(cancellations.amendments, "on_refund_failed", amendment_refund)
    monkeypatch.setattr(cancellations.receipts, "issue_for_refund", issue_for_refund)
    return kernel


@pytest.fixture
def fake() -> FakeUnitOfWork:
    return FakeUnitOfWork()


def _booking(
    fake: FakeUnitOfWork, *, booked_ago: timedelta, starts_in: timedelta, **columns: Any
) -> uuid.UUID:
    """A confirmed, captured booking with every column its view reads."""
    now = datetime.now(UTC)
    booking_id = uuid.uuid4()
    fake.bookings.bookings[booking_id] = {
        "booking_id": booking_id,
        "status": "confirmed",
        "mode": "instant",
        "payment_status": "captured",
        "guest_id": GUEST,
        "host_id": HOST,
        "listing_id": "lst_1",
        "host_account_id": "acct_host",
        "amount": AMOUNT,
        "platform_fee": FEE,
        "currency": "usd",
        "payment_id": "pay_1",
        "version": 4,
        "starts_at": now + starts_in,
        "ends_at": now + starts_in + timedelta(days=2),
        "guests": 2,
        "extras": [],
        "policy": MODERATE,
        "cancel_reason": "",
        "created_at": now - booked_ago,
        "updated_at": now - booked_ago,
        "refund_status": "none",
        "refunded_amount": 0,
        "deposit_amount": 0,
        "deposit_charged": 0,
        "payment_method_type": "card",
        "correlation_id": uuid.uuid4(),
        **dict.fromkeys(NULLS, None),
        **columns,
    }
    fake.timers.pending[(COMPLETION, str(booking_id))] = now + starts_in + timedelta(days=2)
    return booking_id


def _guest(booking_id: uuid.UUID, guest: str = GUEST, **kw: Any) -> cancellations.Cancel:
    return cancellations.Cancel(booking_id, Canceller.GUEST, guest, "plans changed", **kw)


def _env(event: Any) -> Any:
    return make_envelope(event, key="pay_1", producer="payments", correlation_id=uuid.uuid4())


def _refunded(
    booking_id: uuid.UUID, refund_id: str, amount: int, *, amendment: uuid.UUID | None = None
) -> RefundSucceededV1:
    # Only what the handler reads: which refund was made, of which booking, for how much, why.
    return RefundSucceededV1.model_construct(
        refund_id=refund_id,
        booking_id=str(booking_id),
        amount=amount,
        cause="amendment" if amendment else "guest_cancellation",
        subject_id=str(amendment) if amendment else None,
    )


def _refund_failed(booking_id: uuid.UUID, refund_id: str) -> RefundFailedV1:
    why = {"code": "charge_disputed", "message": "the charge is disputed"}
    about = {"booking_id": str(booking_id), "cause": "guest_cancellation", "subject_id": None}
    return RefundFailedV1.model_construct(refund_id=refund_id, **why, **about)


# -- cancelling --------------------------------------------------------------------------------


async def test_a_guest_cancelling_in_a_band_gets_its_share_and_payments_is_asked(
    fake: FakeUnitOfWork, kernel: Kernel
) -> None:
    booking_id = _booking(fake, booked_ago=timedelta(days=10), starts_in=timedelta(days=2))
    view = await cancellations.cancel(fake.as_uow(), _guest(booking_id))
    row = fake.bookings.bookings[booking_id]
    changed = ("cancelled", "guest", "plans changed", "pending", 5)
    names = "status cancelled_by cancel_reason refund_status version".split()
    assert tuple(row[name] for name in names) == changed
    assert (view["status"], view["refund_status"]) == ("cancelled", "pending")
    refund = view["refund"]
    assert (refund["amount"], refund["refund_bps"], refund["basis"]) == (AMOUNT // 2, 5000, "band")
    # The completion timer goes with the stay; the refund is requested with the cancellation.
    assert (COMPLETION, str(booking_id)) not in fake.timers.pending
    assert fake.timers.cancelled == [(COMPLETION, str(booking_id))]
    assert fake.outbox.types == [CANCELLED]
    event, meta = fake.outbox.added[0]
    assert (meta["key"], meta["correlation_id"]) == (str(booking_id), row["correlation_id"])
    assert (event.cancelled_by, event.policy, event.reason) == ("guest", "moderate@3", changed[2])
    assert event.refund is not None and event.additional_refunds == []
    asked = (event.refund.refund_id, event.refund.payment_id, event.refund.amount)
    assert asked == (f"rf_{booking_id}_cancel", "pay_1", AMOUNT // 2)
    recorded = fake.cancellations.refunds[booking_id]
    assert recorded.requested == (f"rf_{booking_id}_cancel",)
    assert recorded.decision.amount == AMOUNT // 2


async def test_a_host_cancelling_refunds_everything_and_owes_a_penalty(
    fake: FakeUnitOfWork, kernel: Kernel
) -> None:
    booking_id = _booking(fake, booked_ago=timedelta(days=10), starts_in=timedelta(hours=3))
    cmd = cancellations.Cancel(booking_id, Canceller.HOST, HOST, "double booked")
    await cancellations.cancel(fake.as_uow(), cmd)
    [(event, _)] = fake.outbox.added
    assert event.refund is not None and event.refund.amount == AMOUNT
    assert event.host_penalty == AMOUNT // 10  # 10% of the stay
    assert fake.bookings.bookings[booking_id]["cancelled_by"] == "host"


async def test_a_refund_is_split_over_the_payments_that_paid_the_booking(
    fake: FakeUnitOfWork, kernel: Kernel
) -> None:
    booking_id = _booking(
        fake, booked_ago=timedelta(hours=1), starts_in=timedelta(days=30), amount=AMOUNT + 2_000
    )
    kernel.increases = [amendments.PaidIncrease("pay_extra", 2_000, 300, 0)]
    await cancellations.cancel(fake.as_uow(), _guest(booking_id))  # in grace: all of it
    [(event, _)] = fake.outbox.added
    requests = [event.refund, *event.additional_refunds]
    assert [(r.refund_id, r.payment_id) for r in requests] == [
        (f"rf_{booking_id}_cancel", "pay_1"),
        (f"rf_{booking_id}_cancel_1", "pay_extra"),
    ]
    assert sum(r.amount for r in requests) == AMOUNT + 2_000
    # Refunded in full: each payment gives back exactly what it took, of each part.
    assert (requests[1].amount, requests[1].platform_fee, requests[1].tax) == (2_000, 300, 0)
    assert requests[1].host_amount == 1_700
    assert fake.cancellations.refunds[booking_id].requested == tuple(r.refund_id for r in requests)


IN_GRACE = (timedelta(hours=1), timedelta(days=30))  # all of it back
IN_A_BAND = (timedelta(days=10), timedelta(days=2))  # half of it back


@pytest.mark.parametrize(
    ("when", "given_back", "decided"),
    [
        (IN_GRACE, None, AMOUNT + 2_000),  # the whole extra charge
        (IN_A_BAND, None, (AMOUNT + 2_000) // 2),
        (IN_A_BAND, 500, (AMOUNT + 2_000) // 2),  # a dispute of part of it
    ],
)
async def test_what_the_bank_gave_back_of_an_extra_charge_counts_first_and_is_asked_of_no_one(
    fake: FakeUnitOfWork,
    kernel: Kernel,
    when: tuple[timedelta, timedelta],
    given_back: int | None,
    decided: int,
) -> None:
    """A lost dispute on an amendment's extra charge: the guest has that money back from the
    bank, so the cancellation's refund counts it first and takes the rest from the checkout."""
    booked_ago, starts_in = when
    booking_id = _booking(fake, booked_ago=booked_ago, starts_in=starts_in, amount=AMOUNT + 2_000)
    kernel.increases = [amendments.PaidIncrease("pay_extra", 2_000, 300, 0)]
    kernel.returned = {"pay_extra": given_back}
    await cancellations.cancel(fake.as_uow(), _guest(booking_id))
    [(event, _)] = fake.outbox.added
    requests = [event.refund, *event.additional_refunds]
    assert [(r.refund_id, r.payment_id) for r in requests] == [(f"rf_{booking_id}_cancel", "pay_1")]
    assert fake.cancellations.refunds[booking_id].decision.amount == decided
    assert requests[0].amount == decided - (given_back or 2_000)
    assert requests[0].lines  # the decision's lines go with the first request made
    assert fake.cancellations.refunds[booking_id].requested == (f"rf_{booking_id}_cancel",)


async def test_a_refund_that_needs_the_rest_of_a_lost_extra_charge_is_refused(
    fake: FakeUnitOfWork, kernel: Kernel
) -> None:
    """The bank gave back 500 of a 2,000 charge; the processor refunds none of the other
    1,500, so all of the booking cannot be refunded by card: nothing changes."""
    booked_ago, starts_in = IN_GRACE
    booking_id = _booking(fake, booked_ago=booked_ago, starts_in=starts_in, amount=AMOUNT + 2_000)
    kernel.increases = [amendments.PaidIncrease("pay_extra", 2_000, 300, 0)]
    kernel.returned = {"pay_extra": 500}
    with pytest.raises(BookingError) as refused:
        await cancellations.cancel(fake.as_uow(), _guest(booking_id))
    assert refused.value.code == ErrorCode.PAYMENT_DISPUTED
    assert "1500" in refused.value.message
    assert fake.outbox.added == []
    assert fake.bookings.bookings[booking_id]["status"] == "confirmed"


async def test_nothing_paid_means_nothing_to_refund(fake: FakeUnitOfWork, kernel: Kernel) -> None:
    booking_id = _booking(
        fake, booked_ago=timedelta(hours=1), starts_in=timedelta(days=30), payment_id=None
    )
    view = await cancellations.cancel(fake.as_uow(), _guest(booking_id))
    [(event, _)] = fake.outbox.added
    assert event.refund is None and event.additional_refunds == []
    assert view["refund_status"] == "none"
    assert fake.cancellations.refunds[booking_id].requested == ()


async def test_a_held_deposit_is_released_before_the_cancellation_is_announced(
    fake: FakeUnitOfWork, kernel: Kernel
) -> None:
    booking_id = _booking(
        fake, booked_ago=timedelta(days=10), starts_in=timedelta(days=2), deposit_amount=5_000
    )
    await cancellations.cancel(fake.as_uow(), _guest(booking_id))
    assert fake.outbox.types == [RELEASED, CANCELLED]
    row = fake.bookings.bookings[booking_id]
    assert row["deposit_release_reason"] == "booking_cancelled"


async def test_refusals(fake: FakeUnitOfWork, kernel: Kernel) -> None:
    uow = fake.as_uow()
    booking_id = _booking(fake, booked_ago=timedelta(days=10), starts_in=timedelta(days=2))
    await refused(cancellations.cancel(uow, _guest(uuid.uuid4())), ErrorCode.BOOKING_NOT_FOUND)
    await refused(
        cancellations.cancel(uow, _guest(booking_id, "guest-2")), ErrorCode.BOOKING_NOT_FOUND
    )
    await refused(
        cancellations.cancel(uow, _guest(booking_id, force_majeure=True)), ErrorCode.FORBIDDEN
    )
    kernel.disputed = True
    await refused(cancellations.cancel(uow, _guest(booking_id)), ErrorCode.PAYMENT_DISPUTED)
    kernel.disputed = False
    fake.bookings.bookings[booking_id].update(
        payment_method_type="us_bank_account", funds_status="pending"
    )
    await refused(cancellations.cancel(uow, _guest(booking_id)), ErrorCode.FUNDS_PENDING)
    fake.bookings.bookings[booking_id].update(payment_method_type="card", funds_status=None)
    assert fake.outbox.added == [] and fake.cancellations.refunds == {}
    await cancellations.cancel(uow, _guest(booking_id))
    await refused(cancellations.cancel(uow, _guest(booking_id)), ErrorCode.ILLEGAL_TRANSITION)
    assert fake.outbox.types == [CANCELLED]


async def test_a_booking_that_moved_under_its_lock_fails_loudly(
    fake: FakeUnitOfWork, kernel: Kernel
) -> None:
    booking_id = _booking(fake, booked_ago=timedelta(days=10), starts_in=timedelta(days=2))
    fake.bookings.bookings[booking_id]["version"] = 7
    row = dict(fake.bookings.bookings[booking_id], version=6)

    async def stale(booking_id: uuid.UUID, *, for_update: bool = False) -> dict[str, Any]:
        return row  # read at version 6: someone wrote the row after the lock

    fake.bookings.get_booking = stale  # type: ignore[method-assign]
    with pytest.raises(LostUpdate):
        await cancellations.cancel(fake.as_uow(), _guest(booking_id))


# -- the preview -------------------------------------------------------------------------------


async def test_the_preview_says_what_cancelling_would_refund_and_changes_nothing(
    fake: FakeUnitOfWork, kernel: Kernel
) -> None:
    booking_id = _booking(fake, booked_ago=timedelta(days=10), starts_in=timedelta(days=2))
    before = dict(fake.bookings.bookings[booking_id])
    now = await cancellations.estimate(fake.bookings, _guest(booking_id))  # type: ignore[arg-type]
    assert (now["amount"], now["basis"], now["policy"]) == (AMOUNT // 2, "band", "moderate@3")
    later = datetime.now(UTC) + timedelta(days=1, hours=12)  # inside the last day: no band
    then = await cancellations.estimate(fake.bookings, _guest(booking_id), later)  # type: ignore[arg-type]
    assert (then["amount"], then["basis"], then["at"]) == (0, "no_band", later.isoformat())
    assert fake.bookings.bookings[booking_id] == before
    assert fake.outbox.added == [] and fake.cancellations.refunds == {}
    past = datetime.now(UTC) - timedelta(minutes=1)
    await refused(
        cancellations.estimate(fake.bookings, _guest(booking_id), past),  # type: ignore[arg-type]
        ErrorCode.INVALID_TIME_RANGE,
    )


# -- payments' answers -------------------------------------------------------------------------


async def test_the_refund_is_made_once_every_request_succeeded(
    fake: FakeUnitOfWork, kernel: Kernel
) -> None:
    booking_id = _booking(
        fake, booked_ago=timedelta(hours=1), starts_in=timedelta(days=30), amount=AMOUNT + 2_000
    )
    kernel.increases = [amendments.PaidIncrease("pay_extra", 2_000, 300, 0)]
    uow = fake.as_uow()
    await cancellations.cancel(uow, _guest(booking_id))
    first, second = f"rf_{booking_id}_cancel", f"rf_{booking_id}_cancel_1"
    row = fake.bookings.bookings[booking_id]

    answer = _refunded(booking_id, second, 2_000)
    await cancellations.on_refund_succeeded(uow, _env(answer), answer)
    assert (row["refund_status"], row["refunded_amount"]) == ("pending", 2_000)
    await cancellations.on_refund_succeeded(uow, _env(answer), answer)  # redelivered
    assert row["refunded_amount"] == 2_000
    answer = _refunded(booking_id, first, AMOUNT)
    await cancellations.on_refund_succeeded(uow, _env(answer), answer)
    assert (row["refund_status"], row["refunded_amount"]) == ("refunded", AMOUNT + 2_000)
    assert fake.cancellations.succeeded[booking_id] == [second, first]
    assert kernel.receipts == [second, second, first]  # a receipt for each answer (idempotent)
    failed = _refund_failed(booking_id, first)
    await cancellations.on_refund_failed(uow, _env(failed), failed)  # too late: refunded
    assert (row["refund_status"], row["refund_failure"]) == ("refunded", None)
    assert fake.outbox.types == [CANCELLED]  # the answers publish nothing


async def test_a_failed_refund_is_shown_to_ops(fake: FakeUnitOfWork, kernel: Kernel) -> None:
    booking_id = _booking(fake, booked_ago=timedelta(days=10), starts_in=timedelta(days=2))
    uow = fake.as_uow()
    await cancellations.cancel(uow, _guest(booking_id))
    failed = _refund_failed(booking_id, f"rf_{booking_id}_cancel")
    await cancellations.on_refund_failed(uow, _env(failed), failed)
    row = fake.bookings.bookings[booking_id]
    assert row["refund_status"] == "failed"
    assert row["refund_failure"] == "charge_disputed: the charge is disputed"


async def test_answers_about_something_else_leave_the_booking_alone(
    fake: FakeUnitOfWork, kernel: Kernel
) -> None:
    booking_id = _booking(fake, booked_ago=timedelta(days=10), starts_in=timedelta(days=2))
    before = dict(fake.bookings.bookings[booking_id])
    uow = fake.as_uow()
    # No cancellation asked for this refund: nothing recorded, nothing to mark.
    answer = _refunded(booking_id, f"rf_{booking_id}_cancel", AMOUNT)
    await cancellations.on_refund_succeeded(uow, _env(answer), answer)
    # An amendment's refund goes to the amendment.
    amendment_id = uuid.uuid4()
    answer = _refunded(booking_id, f"rf_{amendment_id}", 500, amendment=amendment_id)
    await cancellations.on_refund_succeeded(uow, _env(answer), answer)
    assert kernel.amendment_answers == [("amendment", amendment_id)]
    assert fake.bookings.bookings[booking_id] == before


# -- policies ----------------------------------------------------------------------------------


async def test_each_published_policy_is_a_new_version(fake: FakeUnitOfWork) -> None:
    uow = fake.as_uow()
    bands = [(72, 7500), (12, 2500)]
    first = await cancellations.publish_policy(uow, "studio", bands, 24, 48, "grace_only", 1000)
    again = await cancellations.publish_policy(uow, "studio", bands[:1], 24, 48, "never", 500)
    assert (first["version"], again["version"]) == (1, 2)
    assert again["bands"] == [{"hours_before": 72, "refund_bps": 7500}]
    assert await fake.cancellations.newest_policies() == [again]
    # A later band may not refund more: nothing is published.
    await refused(
        cancellations.publish_policy(uow, "studio", [(12, 7500), (72, 2500)], 24, 48, "never", 0),
        ErrorCode.VALIDATION_FAILED,
    )
    assert len(fake.cancellations.policies["studio"]) == 2


async def test_a_policy_published_meanwhile_is_a_conflict(fake: FakeUnitOfWork) -> None:
    uow = fake.as_uow()
    await cancellations.publish_policy(uow, "studio", [(72, 7500)], 24, 48, "never", 0)
    latest = fake.cancellations.latest_policy

    async def read_before_the_other(name: str) -> None:
        return None  # read before the other admin's version 1 committed

    fake.cancellations.latest_policy = read_before_the_other  # type: ignore[method-assign]
    await refused(
        cancellations.publish_policy(uow, "studio", [(48, 5000)], 24, 48, "never", 0),
        ErrorCode.POLICY_CONFLICT,
    )
    assert (await latest("studio") or {})["bands"] == [{"hours_before": 72, "refund_bps": 7500}]
