from pathlib import Path

import pytest

from booking.domain.errors import BookingError, ErrorCode
from booking.domain.model import (
    INITIALS,
    TABLE,
    BookingMode,
    BookingStatus,
    Kind,
    Trigger,
    mermaid,
    transition,
)
from booking.features.invites.domain import (
    InviteStatus,
    InviteTrigger,
    invite_mermaid,
    invite_transition,
)
from marketplace_contracts.registry import REGISTRY

DOC = Path(__file__).resolve().parents[3] / "docs" / "lifecycles.md"


def test_authorization_confirms_and_decline_or_expiry_ends_a_pending_booking() -> None:
    pending = BookingStatus.PENDING_PAYMENT
    assert transition(pending, Trigger.PAYMENT_AUTHORIZED).target == BookingStatus.CONFIRMED
    assert transition(pending, Trigger.PAYMENT_FAILED).target == BookingStatus.FAILED
    assert transition(pending, Trigger.HOLD_EXPIRED).target == BookingStatus.EXPIRED


def test_authorization_of_a_request_waits_for_the_host() -> None:
    step = transition(
        BookingStatus.PENDING_PAYMENT, Trigger.PAYMENT_AUTHORIZED, BookingMode.REQUEST
    )
    assert (step.target, step.emits) == (
        BookingStatus.AWAITING_HOST,
        ("booking.host_response_requested",),
    )
    waiting = BookingStatus.AWAITING_HOST
    assert transition(waiting, Trigger.HOST_ACCEPTED).target == BookingStatus.CONFIRMED
    assert transition(waiting, Trigger.HOST_DECLINED).target == BookingStatus.DECLINED
    assert transition(waiting, Trigger.REQUEST_EXPIRED).target == BookingStatus.EXPIRED


@pytest.mark.parametrize("trigger", [Trigger.HOST_ACCEPTED, Trigger.HOST_DECLINED])
def test_a_host_cannot_answer_before_the_payment_is_authorized(trigger: Trigger) -> None:
    with pytest.raises(BookingError) as caught:
        transition(BookingStatus.PENDING_PAYMENT, trigger)
    assert caught.value.code == ErrorCode.ILLEGAL_TRANSITION


def test_every_pair_has_at_most_one_transition_per_mode() -> None:
    for mode in BookingMode:
        for key, found in TABLE.candidates.items():
            assert len([t for t in found if t.holds(Kind(mode))]) <= 1, (mode, key)


_ALLOWED = set(TABLE.candidates)
ILLEGAL = [(s, t) for s in BookingStatus for t in Trigger if (s, t) not in _ALLOWED]


@pytest.mark.parametrize(("status", "trigger"), ILLEGAL)
def test_every_pair_outside_the_table_is_an_illegal_transition(
    status: BookingStatus, trigger: Trigger
) -> None:
    for mode in BookingMode:
        with pytest.raises(BookingError) as caught:
            transition(status, trigger, mode)
        assert caught.value.code == ErrorCode.ILLEGAL_TRANSITION


def test_terminal_states_accept_nothing_and_confirmed_only_its_end_a_charge_or_a_cancel() -> None:
    for status in (
        BookingStatus.FAILED,
        BookingStatus.EXPIRED,
        BookingStatus.DECLINED,
        BookingStatus.COMPLETED,
        BookingStatus.RELEASED,
        BookingStatus.CANCELLED,
    ):
        assert all((status, t) not in _ALLOWED for t in Trigger)
    assert {t for s, t in _ALLOWED if s == BookingStatus.CONFIRMED} == {
        Trigger.BOOKING_ENDED,
        Trigger.PAYMENT_FAILED,
        Trigger.PAYMENT_RETURNED,  # a bank debit returned before the start
        Trigger.GUEST_CANCELLED,
        Trigger.HOST_CANCELLED,
        Trigger.ADMIN_CANCELLED,
    }


def test_every_transition_emits_a_contracted_event() -> None:
    types = {event_type for event_type, _ in REGISTRY}
    assert all(event in types for _, _, event in INITIALS)
    emitted = [e for found in TABLE.candidates.values() for t in found for e in t.emits]
    assert emitted and set(emitted) <= types


def test_the_lifecycle_doc_shows_the_table() -> None:
    assert f"```mermaid\n{mermaid()}```" in DOC.read_text(), "run `make docs`"


def test_the_lifecycle_doc_shows_the_invite_table() -> None:
    assert f"```mermaid\n{invite_mermaid()}```" in DOC.read_text(), "run `make docs`"


def test_an_open_invite_can_be_accepted_declined_withdrawn_or_expire() -> None:
    for trigger in InviteTrigger:
        assert invite_transition(InviteStatus.OPEN, trigger).emits == ("booking.invite_closed",)
