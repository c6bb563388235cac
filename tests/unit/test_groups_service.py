"""Linked Booking Groups' use cases (`features/groups/service/`) on booking's unit of work in
memory (tests/support/booking_fakes.py): the legs' outcomes, payments' facts and the hold's
timer — what each writes to the group and its legs, which timers it schedules or cancels and
which events it publishes — without Postgres. Placing a group holds slots (Postgres): the same
saga end to end is tests/integration/test_booking_groups.py and tests/e2e/test_booking_groups.py.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from booking.domain.errors import ErrorCode
from booking.domain.holds import HoldRule
from booking.features.groups import service as groups
from booking.features.groups.domain import GROUP_HOLD_EXPIRY
from booking.service_layer.timer_kinds import COMPLETION, REQUEST_EXPIRY
from eventkit.rows import LostUpdate
from marketplace_contracts import Envelope, make_envelope
from marketplace_contracts.events.payments import (
    AuthorizationExpiringV1,
    PaymentAuthorizedV1,
    PaymentCapturedV2,
    PaymentFailedV1,
    PaymentVoidedV1,
    ReauthorizationFailedV1,
)
from tests.support.booking_fakes import NOW, FakeUnitOfWork, refused

PAYMENT = "pay_grp"
GUEST = "guest-grp"
LEG_AMOUNT = 1_000
LEG_READY = "booking.leg_ready"
HOST_ASKED = "booking.host_response_requested"
AWAITING_HOSTS = "booking.group_awaiting_hosts"
CAPTURE = "booking.group_capture_requested"
GROUP_FAILED = "booking.group_failed"
BOOKING_FAILED = "booking.booking_failed"


@pytest.fixture
def fake() -> FakeUnitOfWork:
    return FakeUnitOfWork()


def _payments(policy: Any = "reauthorize") -> groups.GroupPayments:
    # No platform wait: a hold that ran out expires at once (domain/holds.py).
    return groups.GroupPayments(policy, HoldRule(platform_limit=timedelta(0)))


async def _group(fake: FakeUnitOfWork, status: str, *legs: tuple[str, str]) -> uuid.UUID:
    """A group in `status` whose legs are (mode, status) each, as `place_group` leaves them
    (its hold timer pending)."""
    group_id = uuid.uuid4()
    start = datetime.now(UTC) + timedelta(days=7)
    await fake.groups.insert(
        {
            "group_id": group_id,
            "guest_id": GUEST,
            "status": status,
            "amount": LEG_AMOUNT * len(legs),
            "platform_fee": 100 * len(legs),
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "save_for_later": False,
            "hold_until": NOW,
            "correlation_id": uuid.uuid4(),
            "client_ip": None,
            "user_agent": None,
        }
    )
    for n, (mode, leg_status) in enumerate(legs):
        booking_id = uuid.uuid4()
        fake.bookings.bookings[booking_id] = {
            "booking_id": booking_id,
            "group_id": group_id,
            "guest_id": GUEST,
            "listing_id": f"lst_{n}",
            "host_id": f"host-{n}",
            "host_account_id": f"acct_{n}",
            "starts_at": start,
            "ends_at": start + timedelta(hours=2),
            "mode": mode,
            "status": leg_status,
            "payment_status": "none",
            "payment_id": None,
            "amount": LEG_AMOUNT,
            "platform_fee": 100,
            "tax": 0,
            "currency": "usd",
            "correlation_id": uuid.uuid4(),
            "created_at": NOW,
            "respond_by": NOW + timedelta(hours=24),
            "version": 1,
        }
    await fake.timers.schedule(GROUP_HOLD_EXPIRY, str(group_id), NOW)
    return group_id


def _env(event: Any, group_id: uuid.UUID) -> Envelope:
    return make_envelope(event, key=str(group_id), producer="payments", correlation_id=uuid.uuid4())


def _authorized(group_id: uuid.UUID) -> PaymentAuthorizedV1:
    return PaymentAuthorizedV1.model_construct(
        payment_id=PAYMENT, booking_id=str(group_id), group_id=str(group_id)
    )


async def _authorize(fake: FakeUnitOfWork, group_id: uuid.UUID) -> None:
    event = _authorized(group_id)
    await _payments().on_payment_secured(fake.as_uow(), _env(event, group_id), event)


def _legs(fake: FakeUnitOfWork, group_id: uuid.UUID) -> list[dict[str, Any]]:
    legs = [r for r in fake.bookings.bookings.values() if r["group_id"] == group_id]
    return sorted(legs, key=lambda leg: leg["booking_id"])


def _published(fake: FakeUnitOfWork, event_type: str) -> list[Any]:
    return [event for event, _ in fake.outbox.added if event.TYPE == event_type]


async def test_the_money_secured_readies_instant_legs_and_asks_the_other_legs_hosts(
    fake: FakeUnitOfWork,
) -> None:
    group_id = await _group(
        fake, "pending_payment", ("instant", "pending_payment"), ("request", "pending_payment")
    )
    await _authorize(fake, group_id)
    group = fake.groups.rows[group_id]
    assert (group["status"], group["payment_status"], group["payment_id"]) == (
        "awaiting_hosts",
        "authorized",
        PAYMENT,
    )
    by_mode = {leg["mode"]: leg for leg in _legs(fake, group_id)}
    assert by_mode["instant"]["status"] == "awaiting_group"
    asked = by_mode["request"]
    assert (asked["status"], asked["payment_id"]) == ("awaiting_host", PAYMENT)
    assert fake.timers.pending == {(REQUEST_EXPIRY, str(asked["booking_id"])): asked["respond_by"]}
    assert fake.timers.cancelled == [(GROUP_HOLD_EXPIRY, str(group_id))]
    assert sorted(fake.outbox.types) == sorted([LEG_READY, HOST_ASKED, AWAITING_HOSTS])
    [waiting] = _published(fake, AWAITING_HOSTS)
    assert waiting.booking_ids == [str(asked["booking_id"])]


async def test_the_last_host_accepting_asks_payments_to_capture_the_total(
    fake: FakeUnitOfWork,
) -> None:
    group_id = await _group(
        fake, "pending_payment", ("request", "pending_payment"), ("request", "pending_payment")
    )
    await _authorize(fake, group_id)
    first, second = _legs(fake, group_id)
    await groups.leg_accepted(fake.as_uow(), first)
    assert fake.groups.rows[group_id]["status"] == "awaiting_hosts"
    assert _published(fake, CAPTURE) == []
    await groups.leg_accepted(fake.as_uow(), _legs(fake, group_id)[1])
    assert fake.groups.rows[group_id]["status"] == "capturing"
    assert [leg["status"] for leg in _legs(fake, group_id)] == ["awaiting_group"] * 2
    [capture] = _published(fake, CAPTURE)
    assert (capture.payment_id, capture.amount) == (PAYMENT, 2 * LEG_AMOUNT)
    assert fake.timers.pending == {}  # both hosts' deadlines cancelled
    assert (REQUEST_EXPIRY, str(second["booking_id"])) in fake.timers.cancelled


async def test_the_capture_confirms_every_leg_once_even_when_delivered_twice(
    fake: FakeUnitOfWork,
) -> None:
    group_id = await _group(
        fake, "pending_payment", ("instant", "pending_payment"), ("instant", "pending_payment")
    )
    await _authorize(fake, group_id)
    assert fake.groups.rows[group_id]["status"] == "capturing"
    captured = PaymentCapturedV2.model_construct(
        payment_id=PAYMENT, booking_id=str(group_id), group_id=str(group_id)
    )
    env = _env(captured, group_id)
    for _ in range(2):
        await _payments().on_payment_captured(fake.as_uow(), env, captured)
    group = fake.groups.rows[group_id]
    assert (group["status"], group["payment_status"]) == ("confirmed", "captured")
    legs = _legs(fake, group_id)
    assert [leg["status"] for leg in legs] == ["confirmed"] * 2
    assert fake.timers.pending == {
        (COMPLETION, str(leg["booking_id"])): leg["ends_at"] for leg in legs
    }
    assert len(_published(fake, "booking.booking_confirmed")) == 2
    [done] = _published(fake, "booking.group_confirmed")
    assert sorted(done.booking_ids) == sorted(str(leg["booking_id"]) for leg in legs)
    _, meta = fake.outbox.added[-1]
    assert (meta["key"], meta["causation_id"]) == (str(group_id), env.event_id)


async def test_a_declined_payment_releases_every_leg_and_asks_for_one_void(
    fake: FakeUnitOfWork,
) -> None:
    group_id = await _group(
        fake, "pending_payment", ("instant", "pending_payment"), ("request", "pending_payment")
    )
    declined = PaymentFailedV1.model_construct(
        payment_id=PAYMENT,
        booking_id=str(group_id),
        group_id=str(group_id),
        code="card_declined",
        decline_code="insufficient_funds",
        message=None,
    )
    await _payments().on_payment_failed(fake.as_uow(), _env(declined, group_id), declined)
    group = fake.groups.rows[group_id]
    assert (group["status"], group["payment_status"], group["failure_reason"]) == (
        "failed",
        "failed",
        "payment_declined",
    )
    legs = _legs(fake, group_id)
    assert [(leg["status"], leg["failure_reason"]) for leg in legs] == [
        ("failed", "group_failed")
    ] * 2
    # Each leg's failure voids nothing: the group's one payment is voided on group_failed.
    assert [event.payment_id for event in _published(fake, BOOKING_FAILED)] == [None, None]
    [failed] = _published(fake, GROUP_FAILED)
    assert (failed.payment_id, failed.reason, failed.failed_booking_id) == (
        PAYMENT,
        "payment_declined",
        None,
    )
    assert fake.timers.pending == {}


async def test_a_leg_that_ends_on_its_own_fails_the_group_and_is_named(
    fake: FakeUnitOfWork,
) -> None:
    group_id = await _group(
        fake, "pending_payment", ("instant", "pending_payment"), ("request", "pending_payment")
    )
    await _authorize(fake, group_id)
    declined = next(leg for leg in _legs(fake, group_id) if leg["mode"] == "request")
    declined.update(status="declined")  # the leg's own transition, applied by the host's answer
    await groups.leg_failed(fake.as_uow(), declined, "host_declined", "busy")
    group = fake.groups.rows[group_id]
    assert (group["status"], group["failed_booking_id"]) == ("failed", declined["booking_id"])
    assert sorted(leg["status"] for leg in _legs(fake, group_id)) == ["declined", "failed"]
    [failed] = _published(fake, GROUP_FAILED)
    assert (failed.reason, failed.failed_booking_id) == (
        "host_declined",
        str(declined["booking_id"]),
    )
    # A second ending of the same group (a redelivery) finds it failed: nothing more.
    published = len(fake.outbox.added)
    await groups.leg_failed(fake.as_uow(), declined, "host_declined", "busy")
    assert len(fake.outbox.added) == published


async def test_the_last_leg_signed_asks_payments_for_the_total(fake: FakeUnitOfWork) -> None:
    group_id = await _group(
        fake,
        "awaiting_signatures",
        ("instant", "awaiting_signatures"),
        ("instant", "awaiting_signatures"),
    )
    first, second = _legs(fake, group_id)
    await groups.leg_signed(fake.as_uow(), first, "env_1")
    assert fake.groups.rows[group_id]["status"] == "awaiting_signatures"
    assert fake.outbox.types == ["booking.documents_signed"]
    await groups.leg_signed(fake.as_uow(), second, "env_2")
    assert fake.groups.rows[group_id]["status"] == "pending_payment"
    assert [leg["status"] for leg in _legs(fake, group_id)] == ["pending_payment"] * 2
    [requested] = _published(fake, "booking.group_checkout_requested")
    assert (requested.amount, len(requested.legs)) == (2 * LEG_AMOUNT, 2)


async def test_the_hold_running_out_before_signatures_fails_the_group(
    fake: FakeUnitOfWork,
) -> None:
    group_id = await _group(
        fake,
        "awaiting_signatures",
        ("instant", "awaiting_signatures"),
        ("instant", "pending_payment"),
    )
    payments = _payments()
    later = await payments.expire_hold(fake.as_uow(), group_id)
    assert later is None
    group = fake.groups.rows[group_id]
    assert (group["status"], group["failure_reason"]) == ("failed", "hold_expired")
    assert [leg["status"] for leg in _legs(fake, group_id)] == ["failed"] * 2
    assert fake.timers.cancelled == [(GROUP_HOLD_EXPIRY, str(group_id))]
    [failed] = _published(fake, GROUP_FAILED)
    assert failed.payment_id is None  # nothing was authorized yet
    # The timer fired again: the group has failed meanwhile and is left alone.
    version = group["version"]
    assert await payments.expire_hold(fake.as_uow(), group_id) is None
    assert fake.groups.rows[group_id]["version"] == version


async def test_the_hold_timer_waits_for_a_payment_request_still_in_flight(
    fake: FakeUnitOfWork,
) -> None:
    group_id = await _group(
        fake, "pending_payment", ("instant", "pending_payment"), ("instant", "pending_payment")
    )
    fake.groups.rows[group_id]["created_at"] = datetime.now(UTC)
    payments = groups.GroupPayments("reauthorize", HoldRule())
    later = await payments.expire_hold(fake.as_uow(), group_id)
    assert later is not None and later > datetime.now(UTC)
    assert fake.groups.rows[group_id]["status"] == "pending_payment"
    assert (fake.outbox.added, fake.timers.cancelled) == ([], [])


async def test_an_expiring_authorization_while_capturing_asks_for_the_capture_again(
    fake: FakeUnitOfWork,
) -> None:
    group_id = await _group(
        fake, "pending_payment", ("instant", "pending_payment"), ("instant", "pending_payment")
    )
    await _authorize(fake, group_id)
    expiring = AuthorizationExpiringV1.model_construct(
        payment_id=PAYMENT,
        booking_id=str(group_id),
        group_id=str(group_id),
        payment_intent_id="pi_1",
    )
    version = fake.groups.rows[group_id]["version"]
    await _payments().on_authorization_expiring(fake.as_uow(), _env(expiring, group_id), expiring)
    assert fake.outbox.types.count(CAPTURE) == 2
    assert fake.groups.rows[group_id]["version"] == version  # not a transition


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("reauthorize", "booking.reauthorization_requested"), ("release", GROUP_FAILED)],
)
async def test_an_expiring_authorization_while_hosts_decide_renews_or_releases_by_policy(
    fake: FakeUnitOfWork, policy: str, expected: str
) -> None:
    group_id = await _group(
        fake, "pending_payment", ("instant", "pending_payment"), ("request", "pending_payment")
    )
    await _authorize(fake, group_id)
    expiring = AuthorizationExpiringV1.model_construct(
        payment_id=PAYMENT,
        booking_id=str(group_id),
        group_id=str(group_id),
        payment_intent_id="pi_1",
    )
    await _payments(policy).on_authorization_expiring(
        fake.as_uow(), _env(expiring, group_id), expiring
    )
    assert fake.outbox.types[-1] == expected
    status = fake.groups.rows[group_id]["status"]
    assert status == ("awaiting_hosts" if policy == "reauthorize" else "failed")


async def test_a_failed_renewal_releases_the_group_once(fake: FakeUnitOfWork) -> None:
    group_id = await _group(
        fake, "pending_payment", ("instant", "pending_payment"), ("request", "pending_payment")
    )
    await _authorize(fake, group_id)
    renewal = ReauthorizationFailedV1(
        payment_id=PAYMENT, booking_id=str(group_id), group_id=str(group_id), code="card_declined"
    )
    env = _env(renewal, group_id)
    for _ in range(2):  # delivered twice
        await _payments().on_reauthorization_failed(fake.as_uow(), env, renewal)
    group = fake.groups.rows[group_id]
    assert (group["status"], group["failure_reason"]) == ("failed", "reauthorization_failed")
    assert sorted(leg["status"] for leg in _legs(fake, group_id)) == ["failed", "failed"]
    [failed] = _published(fake, GROUP_FAILED)
    assert (failed.payment_id, failed.reason) == (PAYMENT, "reauthorization_failed")


async def test_a_late_authorization_of_a_failed_group_is_voided_and_changes_nothing(
    fake: FakeUnitOfWork,
) -> None:
    group_id = await _group(fake, "failed", ("instant", "failed"), ("instant", "failed"))
    version = fake.groups.rows[group_id]["version"]
    await _authorize(fake, group_id)
    [late] = _published(fake, GROUP_FAILED)
    assert (late.payment_id, late.reason) == (PAYMENT, "group_not_pending")
    assert fake.groups.rows[group_id]["version"] == version
    assert [leg["status"] for leg in _legs(fake, group_id)] == ["failed"] * 2


async def test_the_void_is_recorded_on_the_group_and_each_leg(fake: FakeUnitOfWork) -> None:
    group_id = await _group(fake, "failed", ("instant", "failed"), ("instant", "failed"))
    voided = PaymentVoidedV1.model_construct(
        payment_id=PAYMENT, booking_id=str(group_id), group_id=str(group_id)
    )
    await _payments().on_payment_voided(fake.as_uow(), _env(voided, group_id), voided)
    assert fake.groups.rows[group_id]["payment_status"] == "voided"
    assert [leg["payment_status"] for leg in _legs(fake, group_id)] == ["voided"] * 2
    assert fake.outbox.added == []


async def test_a_group_changed_after_its_lock_fails_loudly(fake: FakeUnitOfWork) -> None:
    group_id = await _group(
        fake, "pending_payment", ("instant", "pending_payment"), ("instant", "pending_payment")
    )
    fake.groups.moved_after_lock = True
    with pytest.raises(LostUpdate, match=str(group_id)):
        await _authorize(fake, group_id)
    assert fake.groups.rows[group_id]["status"] == "pending_payment"


async def test_a_group_of_one_leg_is_refused_before_anything_is_written(
    fake: FakeUnitOfWork,
) -> None:
    start = datetime.now(UTC) + timedelta(days=7)
    one = groups.PlaceGroup(
        GUEST, (groups.LegRequest("lst_0", start, start + timedelta(hours=1)),), "pm_card_visa"
    )
    await refused(groups.place_group(fake.as_uow(), one), ErrorCode.VALIDATION_FAILED)
    assert (fake.groups.rows, fake.timers.pending, fake.outbox.added) == ({}, {}, [])
