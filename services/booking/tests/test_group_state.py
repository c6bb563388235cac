"""The Linked Booking Group table and the group-leg rows of the booking table (pure)."""

import itertools

import pytest

from booking.domain.errors import BookingError, ErrorCode
from booking.domain.model import TABLE, BookingMode, BookingStatus, Kind, Trigger, transition
from booking.features.groups.domain import GROUP_TABLE, GroupStatus, GroupTrigger, group_transition
from marketplace_contracts.registry import REGISTRY

S = BookingStatus


def test_every_emitted_group_event_is_a_registered_contract() -> None:
    types = {event_type for event_type, _ in REGISTRY}
    emitted = {e for found in GROUP_TABLE.candidates.values() for t in found for e in t.emits}
    assert emitted and emitted <= types


def test_the_tables_are_deterministic_for_every_context() -> None:
    """At most one booking transition applies for any status, trigger, mode and grouping."""
    for status, trigger, mode, grouped in itertools.product(
        BookingStatus, Trigger, BookingMode, (False, True)
    ):
        candidates = TABLE.candidates.get((status, trigger), ())
        matches = [t for t in candidates if t.holds(Kind(mode, grouped))]
        assert len(matches) <= 1, (status, trigger, mode, grouped, matches)
    legs_cases = [(S.AWAITING_GROUP,) * 2, (S.AWAITING_GROUP, S.AWAITING_HOST)]
    legs_cases += [(S.AWAITING_SIGNATURES, S.PENDING_PAYMENT), (S.PENDING_PAYMENT,) * 2]
    for status, trigger, legs in itertools.product(GroupStatus, GroupTrigger, legs_cases):
        matches = [t for t in GROUP_TABLE.candidates.get((status, trigger), ()) if t.holds(legs)]
        assert len(matches) <= 1, (status, trigger, legs, matches)


def test_a_group_leg_never_asks_for_money_or_confirms_on_its_own() -> None:
    pending = S.PENDING_PAYMENT
    for mode in BookingMode:
        signed = transition(S.AWAITING_SIGNATURES, Trigger.DOCUMENTS_SIGNED, mode, grouped=True)
        assert signed.emits == ("booking.documents_signed",)  # not booking.checkout_requested
    instant = transition(pending, Trigger.PAYMENT_AUTHORIZED, BookingMode.INSTANT, grouped=True)
    assert (instant.target, instant.emits) == (S.AWAITING_GROUP, ("booking.leg_ready",))
    request = transition(pending, Trigger.PAYMENT_AUTHORIZED, BookingMode.REQUEST, grouped=True)
    assert request.target is S.AWAITING_HOST
    accepted = transition(S.AWAITING_HOST, Trigger.HOST_ACCEPTED, BookingMode.REQUEST, True)
    assert accepted.target is S.AWAITING_GROUP
    # Only the group confirms its legs; and single bookings never take group steps.
    assert transition(S.AWAITING_GROUP, Trigger.GROUP_CONFIRMED).target is S.CONFIRMED
    with pytest.raises(BookingError):
        transition(pending, Trigger.PAYMENT_FAILED, grouped=True)
    with pytest.raises(BookingError):
        transition(pending, Trigger.HOLD_EXPIRED, grouped=True)
    for status in (S.CONFIRMED, S.COMPLETED, S.FAILED):
        with pytest.raises(BookingError):
            transition(status, Trigger.GROUP_FAILED)


def test_payment_is_asked_for_only_when_no_leg_is_left_to_sign() -> None:
    signing = GroupStatus.AWAITING_SIGNATURES
    waiting = group_transition(
        signing, GroupTrigger.LEG_SIGNED, (S.PENDING_PAYMENT, S.AWAITING_SIGNATURES)
    )
    assert (waiting.target, waiting.emits) == (signing, ())
    ready = group_transition(signing, GroupTrigger.LEG_SIGNED, (S.PENDING_PAYMENT,) * 3)
    assert (ready.target, ready.emits) == (
        GroupStatus.PENDING_PAYMENT,
        ("booking.group_checkout_requested",),
    )


def test_capture_is_requested_only_when_every_leg_is_ready() -> None:
    pending = GroupStatus.PENDING_PAYMENT
    hosts = group_transition(
        pending, GroupTrigger.PAYMENT_AUTHORIZED, (S.AWAITING_GROUP, S.AWAITING_HOST)
    )
    assert hosts.target is GroupStatus.AWAITING_HOSTS
    ready = group_transition(
        GroupStatus.AWAITING_HOSTS, GroupTrigger.LEG_READY, (S.AWAITING_GROUP,) * 2
    )
    assert (ready.target, ready.emits) == (
        GroupStatus.CAPTURING,
        ("booking.group_capture_requested",),
    )


def test_nothing_fails_a_group_once_it_is_capturing_but_the_capture() -> None:
    legs = (S.AWAITING_GROUP,) * 2
    for trigger in (GroupTrigger.LEG_FAILED, GroupTrigger.HOLD_EXPIRED):
        with pytest.raises(BookingError) as refused:
            group_transition(GroupStatus.CAPTURING, trigger, legs)
        assert refused.value.code is ErrorCode.ILLEGAL_TRANSITION
    failed = group_transition(GroupStatus.CAPTURING, GroupTrigger.PAYMENT_FAILED, legs)
    assert failed.target is GroupStatus.FAILED
    for trigger in GroupTrigger:  # confirmed and failed are final
        for final in (GroupStatus.CONFIRMED, GroupStatus.FAILED):
            with pytest.raises(BookingError):
                group_transition(final, trigger, legs)
