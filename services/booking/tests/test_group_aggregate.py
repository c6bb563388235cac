"""The `Group` aggregate without a database: each transition with the events it emits, each
refusal with its code, and the rules of opening a group."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from booking.domain.errors import BookingError, ErrorCode
from booking.domain.model import BookingStatus
from booking.features.groups.domain import (
    FAILING,
    MAX_LEGS,
    ExpiringAuthorization,
    Group,
    GroupStatus,
    GroupStep,
    GroupTrigger,
    group_mermaid,
    host_deadline,
    payment_failure_reason,
    releases,
)

S, G, T = BookingStatus, GroupStatus, GroupTrigger
READY = (S.AWAITING_GROUP, S.AWAITING_GROUP)
HOST_PENDING = (S.AWAITING_GROUP, S.AWAITING_HOST)


def _group(status: GroupStatus) -> Group:
    return Group(uuid.uuid4(), status, version=3)


def _leg(amount: int, currency: str = "usd", *, saved: bool = False) -> dict[str, Any]:
    return {"amount": amount, "platform_fee": amount // 10, "currency": currency,
            "save_for_later": saved}  # fmt: skip


def test_the_last_leg_to_sign_asks_payments_for_the_total() -> None:
    group = _group(G.AWAITING_SIGNATURES)
    assert group.leg_signed((S.PENDING_PAYMENT, S.AWAITING_SIGNATURES)) == GroupStep(
        G.AWAITING_SIGNATURES, ()
    )
    assert group.leg_signed((S.PENDING_PAYMENT,) * 2) == GroupStep(
        G.PENDING_PAYMENT, ("booking.group_checkout_requested",)
    )
    assert group.status is G.PENDING_PAYMENT


def test_secured_money_waits_for_hosts_or_asks_for_the_capture() -> None:
    waiting = _group(G.PENDING_PAYMENT)
    assert waiting.payment_secured(HOST_PENDING) == GroupStep(
        G.AWAITING_HOSTS, ("booking.group_awaiting_hosts",)
    )
    ready = _group(G.PENDING_PAYMENT)
    assert ready.payment_secured(READY) == GroupStep(
        G.CAPTURING, ("booking.group_capture_requested",)
    )


def test_the_last_host_to_accept_asks_for_the_capture() -> None:
    group = _group(G.AWAITING_HOSTS)
    assert group.leg_ready((S.AWAITING_GROUP, S.AWAITING_HOST, S.AWAITING_GROUP)) == GroupStep(
        G.AWAITING_HOSTS, ()
    )
    assert group.leg_ready(READY) == GroupStep(G.CAPTURING, ("booking.group_capture_requested",))


def test_the_capture_confirms_the_group() -> None:
    group = _group(G.CAPTURING)
    step = group.captured((S.CONFIRMED, S.CONFIRMED))
    assert step == GroupStep(G.CONFIRMED, ("booking.group_confirmed",))
    assert group.status is G.CONFIRMED


@pytest.mark.parametrize(
    ("status", "cause"),
    [
        (G.AWAITING_SIGNATURES, T.LEG_FAILED),
        (G.PENDING_PAYMENT, T.LEG_FAILED),
        (G.AWAITING_HOSTS, T.LEG_FAILED),
        (G.AWAITING_SIGNATURES, T.HOLD_EXPIRED),
        (G.PENDING_PAYMENT, T.HOLD_EXPIRED),
        (G.PENDING_PAYMENT, T.PAYMENT_FAILED),
        (G.CAPTURING, T.PAYMENT_FAILED),
        (G.AWAITING_HOSTS, T.AUTHORIZATION_EXPIRING),
    ],
)
def test_every_failure_fails_the_group_and_asks_for_the_void(
    status: GroupStatus, cause: GroupTrigger
) -> None:
    group = _group(status)
    assert group.expects(cause)
    assert group.fail(cause, (S.FAILED, S.FAILED)) == GroupStep(G.FAILED, ("booking.group_failed",))
    assert group.status is G.FAILED


def test_only_the_failing_triggers_fail_a_group() -> None:
    assert FAILING == {T.LEG_FAILED, T.HOLD_EXPIRED, T.PAYMENT_FAILED, T.AUTHORIZATION_EXPIRING}
    with pytest.raises(ValueError, match="does not fail a group"):
        _group(G.CAPTURING).fail(T.PAYMENT_CAPTURED, READY)


@pytest.mark.parametrize(
    ("status", "trigger"),
    [
        (G.CAPTURING, T.LEG_FAILED),  # past the commit point's request, only the capture fails
        (G.CAPTURING, T.HOLD_EXPIRED),
        (G.AWAITING_HOSTS, T.HOLD_EXPIRED),  # paid for: the hold no longer runs
        (G.AWAITING_SIGNATURES, T.PAYMENT_AUTHORIZED),
        (G.PENDING_PAYMENT, T.PAYMENT_CAPTURED),
        (G.CONFIRMED, T.PAYMENT_FAILED),
        (G.FAILED, T.PAYMENT_AUTHORIZED),
    ],
)
def test_a_refused_trigger_is_an_illegal_transition_and_changes_nothing(
    status: GroupStatus, trigger: GroupTrigger
) -> None:
    group = _group(status)
    assert not group.expects(trigger)
    with pytest.raises(BookingError) as refused:
        group.apply(trigger, READY)
    assert refused.value.code is ErrorCode.ILLEGAL_TRANSITION
    assert f"cannot apply {trigger} to a {status} booking group" == refused.value.message
    assert group.status is status


def test_confirmed_and_failed_groups_expect_nothing() -> None:
    for final in (G.CONFIRMED, G.FAILED):
        assert not any(_group(final).expects(trigger) for trigger in T)


def test_a_group_has_two_to_ten_legs() -> None:
    Group.check_size(2)
    Group.check_size(MAX_LEGS)
    for size in (0, 1, MAX_LEGS + 1):
        with pytest.raises(BookingError) as refused:
            Group.check_size(size)
        assert refused.value.code is ErrorCode.VALIDATION_FAILED


def test_one_payment_covers_the_legs_total_in_one_currency() -> None:
    totals = Group.totals([_leg(1000), _leg(2500, saved=True)])
    assert (totals.amount, totals.platform_fee, totals.currency) == (3500, 350, "usd")
    assert totals.save_for_later is True
    with pytest.raises(BookingError) as mixed:
        Group.totals([_leg(1000, "usd"), _leg(1000, "eur")])
    assert mixed.value.code is ErrorCode.MIXED_CURRENCIES
    with pytest.raises(BookingError) as too_large:
        Group.totals([_leg(10**11), _leg(10**11)])
    assert too_large.value.code is ErrorCode.AMOUNT_TOO_LARGE


def test_a_group_with_documents_is_signed_before_payment_is_asked_for() -> None:
    assert Group.initial_status(signing=True) is G.AWAITING_SIGNATURES
    assert Group.initial_status(signing=False) is G.PENDING_PAYMENT


def test_an_expiring_authorization_is_renewed_only_while_hosts_decide() -> None:
    assert (
        _group(G.CAPTURING).on_expiring_authorization() is ExpiringAuthorization.ASK_CAPTURE_AGAIN
    )
    assert (
        _group(G.AWAITING_HOSTS).on_expiring_authorization() is ExpiringAuthorization.RENEW_OR_FAIL
    )
    for status in (G.PENDING_PAYMENT, G.CONFIRMED, G.FAILED, G.AWAITING_SIGNATURES):
        assert _group(status).on_expiring_authorization() is ExpiringAuthorization.IGNORE


def test_money_secured_for_a_failed_group_is_voided() -> None:
    assert _group(G.FAILED).needs_void_of_late_payment()
    assert not _group(G.PENDING_PAYMENT).needs_void_of_late_payment()


def test_a_failing_group_releases_the_legs_that_still_hold_a_slot() -> None:
    held = {s for s in S if releases(s)}
    assert held == {S.AWAITING_SIGNATURES, S.PENDING_PAYMENT, S.AWAITING_HOST, S.AWAITING_GROUP}


def test_the_hosts_window_runs_from_when_they_are_asked() -> None:
    created = datetime(2035, 1, 1, tzinfo=UTC)
    now = created + timedelta(hours=5)
    assert host_deadline(now, created + timedelta(hours=24), created) == now + timedelta(hours=24)


def test_a_declined_card_fails_the_group_as_payment_declined() -> None:
    assert payment_failure_reason("card_declined") == "payment_declined"
    assert payment_failure_reason("expired_card") == "expired_card"


def test_the_diagram_lists_every_transition_with_its_guard_and_events() -> None:
    diagram = group_mermaid()
    assert "pending_payment --> capturing: payment_authorized [every leg ready] / " \
        "booking.group_capture_requested" in diagram  # fmt: skip
    assert (
        "awaiting_signatures --> awaiting_signatures: leg_signed [a leg still to sign]\n" in diagram
    )
    assert "    confirmed --> [*]" in diagram and "    failed --> [*]" in diagram
