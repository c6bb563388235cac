"""Renewing an authorization (`service_layer/reauthorization.py`) and releasing or charging a
Linked Booking Group's payment (`service_layer/groups.py`): what their `apply` records and
publishes on payments' unit of work in memory (tests/support/payments_fakes.py). The same on
the real database and the simulator: tests/integration/test_reauthorization.py and
test_payments_groups.py.
"""

from __future__ import annotations

import pytest

from marketplace_contracts.events.booking import (
    GroupCaptureRequestedV1,
    GroupFailedV1,
    ReauthorizationRequestedV1,
)
from marketplace_contracts.events.payments import (
    PaymentCapturedV2,
    PaymentFailedV1,
    PaymentReauthorizedV1,
    PaymentVoidedV1,
    ReauthorizationFailedV1,
)
from payments.domain.payment import PaymentStatus
from payments.service_layer.groups import GroupCharge, GroupRelease
from payments.service_layer.reauthorization import Renewal
from tests.support.payments_fakes import (
    NOW,
    FakeUnitOfWork,
    envelope,
    intent,
    offline_handlers,
)

PAYMENT = "pay_bk_1"
EXPIRING = f"pi_{PAYMENT}"  # the intent `given` records
GROUP = "grp_1"


@pytest.fixture
def fake() -> FakeUnitOfWork:
    return FakeUnitOfWork()


def _renewal_request() -> ReauthorizationRequestedV1:
    return ReauthorizationRequestedV1(
        booking_id="bk_1", payment_id=PAYMENT, expiring_payment_intent_id=EXPIRING
    )


async def _renew(fake: FakeUnitOfWork, renewal: Renewal) -> None:
    event = _renewal_request()
    reauthorizations = offline_handlers().reauthorizations
    await reauthorizations.apply(fake.as_uow(), envelope(event, "bk_1"), event, renewal)


async def test_a_renewal_swaps_the_authorization_and_leaves_the_old_one_to_cancel(
    fake: FakeUnitOfWork,
) -> None:
    fake.payments.given(PAYMENT, PaymentStatus.AUTHORIZED, booking_id="bk_1")
    renewed = intent("requires_capture")
    await _renew(fake, Renewal(PAYMENT, renewed))

    payment = fake.payments.rows[PAYMENT]
    assert (payment["payment_intent_id"], payment["renewals"]) == (renewed.id, 1)
    assert fake.payments.replaced == {EXPIRING: {"payment_id": PAYMENT, "replaced_by": renewed.id}}
    [reauthorized] = fake.outbox.of(PaymentReauthorizedV1)
    assert (reauthorized.payment_intent_id, reauthorized.previous_payment_intent_id) == (
        renewed.id,
        EXPIRING,
    )
    assert (reauthorized.amount, reauthorized.authorized_at) == (10_000, NOW)


async def test_a_renewal_of_a_payment_captured_meanwhile_is_itself_left_to_cancel(
    fake: FakeUnitOfWork,
) -> None:
    fake.payments.given(PAYMENT, PaymentStatus.CAPTURED, booking_id="bk_1")
    renewed = intent("requires_capture")
    await _renew(fake, Renewal(PAYMENT, renewed))

    assert fake.payments.rows[PAYMENT]["payment_intent_id"] == EXPIRING
    assert fake.payments.replaced == {renewed.id: {"payment_id": PAYMENT, "replaced_by": EXPIRING}}
    assert fake.outbox.added == []


async def test_a_declined_renewal_changes_nothing_and_says_why(fake: FakeUnitOfWork) -> None:
    fake.payments.given(PAYMENT, PaymentStatus.AUTHORIZED, booking_id="bk_1")
    declined = intent("declined", decline_code="do_not_honor", failure_code="card_declined")
    await _renew(fake, Renewal(PAYMENT, declined))

    assert fake.payments.rows[PAYMENT]["payment_intent_id"] == EXPIRING
    assert fake.payments.replaced == {}
    [failed] = fake.outbox.of(ReauthorizationFailedV1)
    assert (failed.code, failed.decline_code) == ("card_declined", "do_not_honor")


def _group_failed() -> GroupFailedV1:
    return GroupFailedV1(
        group_id=GROUP, payment_id=PAYMENT, reason="leg_failed", booking_ids=["bk_a", "bk_b"]
    )


async def test_a_failed_groups_saved_card_is_never_charged_and_nothing_is_published(
    fake: FakeUnitOfWork,
) -> None:
    fake.payments.given(PAYMENT, PaymentStatus.SAVED, booking_id=GROUP, group_id=GROUP)
    event = _group_failed()
    release = GroupRelease(PAYMENT, PaymentStatus.SAVED)
    await offline_handlers().groups.record_void(
        fake.as_uow(), envelope(event, GROUP), event, release
    )

    assert fake.payments.rows[PAYMENT]["status"] == PaymentStatus.CANCELLED
    assert fake.outbox.added == []


async def test_a_failed_groups_authorization_is_voided_in_the_groups_name(
    fake: FakeUnitOfWork,
) -> None:
    fake.payments.given(PAYMENT, PaymentStatus.AUTHORIZED, booking_id=GROUP, group_id=GROUP)
    event = _group_failed()
    release = GroupRelease(PAYMENT, PaymentStatus.AUTHORIZED, intent("canceled"))
    await offline_handlers().groups.record_void(
        fake.as_uow(), envelope(event, GROUP), event, release
    )

    assert fake.payments.rows[PAYMENT]["status"] == PaymentStatus.VOIDED
    [voided] = fake.outbox.of(PaymentVoidedV1)
    assert (voided.payment_id, voided.booking_id, voided.group_id) == (PAYMENT, GROUP, GROUP)


async def test_a_groups_refused_capture_fails_its_payment_for_good(fake: FakeUnitOfWork) -> None:
    fake.payments.given(PAYMENT, PaymentStatus.AUTHORIZED, booking_id=GROUP, group_id=GROUP)
    event = GroupCaptureRequestedV1(
        group_id=GROUP, payment_id=PAYMENT, amount=10_000, currency="usd"
    )
    declined = intent("declined", decline_code="expired_card", failure_code="card_declined")
    charge = GroupCharge(PaymentStatus.AUTHORIZED, result=declined)
    await offline_handlers().groups.record_capture(
        fake.as_uow(), envelope(event, GROUP), event, charge
    )

    # Failed, not charge_failed: a group has no payment-due retry.
    assert fake.payments.rows[PAYMENT]["status"] == PaymentStatus.FAILED
    [failed] = fake.outbox.of(PaymentFailedV1)
    assert (failed.group_id, failed.decline_code) == (GROUP, "expired_card")
    assert fake.outbox.of(PaymentCapturedV2) == []
