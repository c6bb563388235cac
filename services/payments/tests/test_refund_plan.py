"""How a refund request is given back, decided from its payment (pure)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from marketplace_contracts.events.booking import RefundLine, RefundRequest
from payments.domain.checkout import Split
from payments.domain.refunds import (
    PaymentBusy,
    PaymentState,
    RefundOrder,
    RefundRefused,
    cancellation_cause,
    plan_refund,
)
from payments.service_layer import commands

SINGLE = PaymentState(
    payment_id="pay_1",
    booking_id="b-1",
    group_id=None,
    status="captured",
    amount=13_500,
    captured_amount=13_500,
    refunded_amount=0,
    currency="usd",
    platform_fee=2_025,
    tax=300,
    host_account_id="acct_1",
    payment_intent_id="pi_1",
    transfer_group="b-1",
)
# A Linked Booking Group's payment: two legs, no transfer group of a single booking's.
GROUP = replace(
    SINGLE,
    payment_id="pay_g",
    booking_id="grp-1",
    group_id="grp-1",
    amount=36_000,
    captured_amount=36_000,
    platform_fee=5_400,
    tax=0,
    host_account_id=None,
    payment_intent_id="pi_g",
    transfer_group=None,
    splits=(Split("leg-1", "acct_A", 20_000, 3_000), Split("leg-2", "acct_B", 16_000, 2_400)),
)


def order(**overrides: object) -> RefundOrder:
    fields: dict[str, object] = {
        "refund_id": "ref_1",
        "payment_id": "pay_1",
        "booking_id": "b-1",
        "group_id": None,
        "amount": 5_000,
        "currency": "usd",
        "platform_fee": 750,
        "host_amount": 4_250,
        "tax": 100,
        "host_account_id": "acct_1",
    }
    return RefundOrder(**{**fields, **overrides})  # type: ignore[arg-type]


def leg_order(leg: str = "leg-2", **overrides: object) -> RefundOrder:
    account = {"leg-1": "acct_A", "leg-2": "acct_B"}[leg]
    fields: dict[str, object] = {
        "payment_id": "pay_g",
        "booking_id": leg,
        "group_id": "grp-1",
        "amount": 16_000,
        "platform_fee": 2_400,
        "host_amount": 13_600,
        "tax": 0,
        "host_account_id": account,
    }
    return order(**{**fields, **overrides})


def test_an_order_is_what_booking_asked() -> None:
    request = RefundRequest(
        refund_id="ref_9",
        payment_id="pay_9",
        amount=1_200,
        currency="eur",
        platform_fee=200,
        host_amount=1_000,
        tax=50,
        host_account_id="acct_9",
        lines=[RefundLine(code="base", amount=1_000), RefundLine(code="tax", amount=50)],
    )
    made = commands.refund_order("b-9", "grp-9", request)
    assert (made.refund_id, made.payment_id, made.booking_id, made.group_id) == (
        "ref_9",
        "pay_9",
        "b-9",
        "grp-9",
    )
    assert made.lines == (("base", 1_000), ("tax", 50))
    assert made.stripe_metadata == {
        "refund_id": "ref_9",
        "payment_id": "pay_9",
        "booking_id": "b-9",
        "group_id": "grp-9",
    }
    stored = {
        **{f: getattr(made, f) for f in ("refund_id", "payment_id", "booking_id", "group_id")},
        **{f: getattr(made, f) for f in ("amount", "currency", "platform_fee", "host_amount")},
        "tax": 50,
        "host_account_id": "acct_9",
        "lines": made.line_items,
        "cause": "other",
        "subject_id": None,
        "reopened": 0,
    }
    assert RefundOrder.of_row(stored) == made
    assert made.stripe_key_subject == "ref_9"
    reopened = RefundOrder.of_row({**stored, "reopened": 2})
    assert reopened.stripe_key_subject == "ref_9:reopened:2"
    amended = commands.refund_order("b-9", None, request, cause="amendment", subject_id="am-9")
    assert (amended.cause, amended.subject_id) == ("amendment", "am-9")
    assert amended.cause != made.cause and made.subject_id is None
    assert (
        RefundOrder.of_row({**stored, "group_id": None, "cause": "amendment", "subject_id": "am-9"})
        == amended
    )


# -- captured: a Stripe refund, never more than is left ---------------------------------------
def test_a_captured_payment_is_refunded() -> None:
    plan = plan_refund(order(), SINGLE, reserved=0, refunded_for_booking=0)
    assert (plan.method, plan.capture_splits) == ("refund", ())
    assert not SINGLE.destination_charge and not GROUP.destination_charge
    # A single booking's payment recorded before separate charges (no transfer group) is one.
    assert replace(SINGLE, transfer_group=None).destination_charge


@pytest.mark.parametrize(
    ("cancelled_by", "group_id", "cause"),
    [
        ("guest", None, "guest_cancellation"),
        ("host", None, "host_cancellation"),
        ("admin", None, "admin_cancellation"),
        ("guest", "grp-1", "group_leg_cancelled"),
        ("admin", "grp-1", "group_leg_cancelled"),
        ("host", "grp-1", "host_cancellation"),
        ("system", None, "other"),
    ],
)
def test_a_cancellations_refund_says_who_cancelled(
    cancelled_by: str, group_id: str | None, cause: str
) -> None:
    assert cancellation_cause(cancelled_by, group_id) == cause


def test_the_whole_capture_may_be_refunded() -> None:
    full = order(amount=13_500, platform_fee=2_025, host_amount=11_475, tax=300)
    assert plan_refund(full, SINGLE, reserved=0, refunded_for_booking=0).method == "refund"


@pytest.mark.parametrize(
    ("payment", "reserved", "refunded_for_booking"),
    [
        (replace(SINGLE, refunded_amount=9_000), 0, 0),  # 4 500 left
        (SINGLE, 9_000, 0),  # another refund under way takes 9 000
        (replace(SINGLE, captured_amount=4_999), 0, 0),  # a smaller capture
        (SINGLE, 0, 8_501),  # the booking got 8 501 back already
    ],
    ids=["refunded", "under_way", "smaller_capture", "booking"],
)
def test_more_than_is_left_is_refused(
    payment: PaymentState, reserved: int, refunded_for_booking: int
) -> None:
    with pytest.raises(RefundRefused) as excinfo:
        plan_refund(order(), payment, reserved=reserved, refunded_for_booking=refunded_for_booking)
    assert excinfo.value.code == "amount_too_large"


def test_a_group_leg_is_refunded_up_to_what_it_paid() -> None:
    assert plan_refund(leg_order(), GROUP, reserved=0, refunded_for_booking=0).method == "refund"
    with pytest.raises(RefundRefused) as excinfo:
        plan_refund(
            leg_order(amount=16_001, host_amount=13_601), GROUP, reserved=0, refunded_for_booking=0
        )
    assert excinfo.value.code == "amount_too_large"


# -- authorized: void or a smaller capture ----------------------------------------------------
AUTHORIZED = replace(SINGLE, status="authorized", captured_amount=0)


def test_the_whole_authorization_is_voided() -> None:
    full = order(amount=13_500, platform_fee=2_025, host_amount=11_475, tax=300)
    assert plan_refund(full, AUTHORIZED, reserved=0, refunded_for_booking=0).method == "void"


def test_part_of_an_authorization_captures_the_rest() -> None:
    plan = plan_refund(order(), AUTHORIZED, reserved=0, refunded_for_booking=0)
    assert plan.method == "partial_capture"
    assert plan.capture_splits == (Split("b-1", "acct_1", 8_500, 1_275, 200),)
    assert (plan.capture_amount, plan.capture_fee) == (8_500, 1_275)


def test_a_group_leg_out_of_an_authorization_reduces_that_leg_only() -> None:
    plan = plan_refund(
        leg_order(), replace(GROUP, status="authorized"), reserved=0, refunded_for_booking=0
    )
    assert plan.method == "partial_capture"
    assert plan.capture_splits == (GROUP.splits[0],)  # the refunded leg takes no part
    assert plan.capture_amount == 20_000


def test_an_authorization_with_another_refund_under_way_waits() -> None:
    with pytest.raises(PaymentBusy):
        plan_refund(order(), AUTHORIZED, reserved=100, refunded_for_booking=0)


# -- nothing taken: nothing to give back ------------------------------------------------------
@pytest.mark.parametrize("status", ["saved", "charge_failed", "failed", "voided", "cancelled"])
def test_a_payment_that_holds_nothing_gives_nothing_back(status: str) -> None:
    payment = replace(SINGLE, status=status, captured_amount=0)
    assert plan_refund(order(), payment, reserved=0, refunded_for_booking=0).method == "none"


@pytest.mark.parametrize("status", ["saved", "charge_failed"])
def test_an_amendment_of_a_card_not_charged_yet_lowers_the_charge(status: str) -> None:
    payment = replace(SINGLE, status=status, captured_amount=0)
    plan = plan_refund(order(cause="amendment"), payment, reserved=0, refunded_for_booking=0)
    assert (plan.method, plan.capture_splits) == (
        "none",
        (Split("b-1", "acct_1", 8_500, 1_275, 200),),
    )
    # A cancellation's leaves nothing to charge (its payment is cancelled instead).
    assert plan_refund(order(), payment, reserved=0, refunded_for_booking=0).capture_splits == ()
    with pytest.raises(RefundRefused) as excinfo:
        plan_refund(
            order(cause="amendment", amount=13_501, host_amount=12_751),
            payment,
            reserved=0,
            refunded_for_booking=0,
        )
    assert excinfo.value.code == "invalid_refund"


def test_an_amendment_of_a_payment_that_is_over_gives_nothing_back() -> None:
    for status in ("failed", "voided", "cancelled"):
        payment = replace(SINGLE, status=status, captured_amount=0)
        plan = plan_refund(order(cause="amendment"), payment, reserved=0, refunded_for_booking=0)
        assert (plan.method, plan.capture_splits) == ("none", ())


def test_a_refund_of_nothing_moves_nothing() -> None:
    nothing = order(amount=0, platform_fee=0, host_amount=0, tax=0)
    assert plan_refund(nothing, SINGLE, reserved=0, refunded_for_booking=0).method == "none"


# -- requests that cannot be right ------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"host_amount": 4_249}, "invalid_refund"),  # parts do not add up
        ({"tax": 751}, "invalid_refund"),  # more tax than fee
        ({"currency": "eur"}, "invalid_refund"),
        ({"booking_id": "b-2"}, "invalid_refund"),  # not this payment's booking
        ({"host_account_id": "acct_2"}, "invalid_refund"),
        ({"group_id": "grp-1"}, "invalid_refund"),  # not a group's payment
    ],
    ids=["parts", "tax", "currency", "booking", "host", "group"],
)
def test_a_request_that_cannot_be_right_is_refused(overrides: dict[str, object], code: str) -> None:
    with pytest.raises(RefundRefused) as excinfo:
        plan_refund(order(**overrides), SINGLE, reserved=0, refunded_for_booking=0)
    assert excinfo.value.code == code


def test_a_missing_or_unknown_payment_is_refused() -> None:
    with pytest.raises(RefundRefused) as excinfo:
        plan_refund(order(), None, reserved=0, refunded_for_booking=0)
    assert excinfo.value.code == "payment_not_found"
    with pytest.raises(RefundRefused) as excinfo:
        plan_refund(order(), replace(SINGLE, status="disputed"), reserved=0, refunded_for_booking=0)
    assert excinfo.value.code == "payment_not_refundable"


def test_a_disputed_captured_payment_is_refused_charge_disputed() -> None:
    """Stripe refuses a refund of a charged-back charge: refused before asking (no call)."""
    with pytest.raises(RefundRefused) as refused:
        plan_refund(order(), replace(SINGLE, disputed=True), reserved=0, refunded_for_booking=0)
    assert refused.value.code == "charge_disputed"
    # ... but a payment that holds nothing any more has nothing to refund either way.
    released = replace(SINGLE, status="voided", captured_amount=0, disputed=True)
    assert plan_refund(order(), released, reserved=0, refunded_for_booking=0).method == "none"
