"""The `Invite` aggregate without a database: each transition with its event, each refusal
with its code, who may see an invite and what it may ask for."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from booking.domain.errors import BookingError, ErrorCode
from booking.features.invites.domain import (
    Invite,
    InviteExtra,
    InviteStatus,
    InviteStep,
    InviteTrigger,
    invite_transition,
)

NOW = datetime(2035, 3, 1, 12, tzinfo=UTC)
I = InviteStatus  # noqa: E741
CLOSED = ("booking.invite_closed",)


def _invite(status: InviteStatus = I.OPEN, *, expires_in: timedelta = timedelta(days=1)) -> Invite:
    return Invite(uuid.uuid4(), status, "host-1", "guest-1", NOW + expires_in, version=2)


def test_an_open_invite_is_accepted_declined_withdrawn_or_expired_and_says_so() -> None:
    assert _invite().accept(NOW) == InviteStep(I.ACCEPTED, CLOSED)
    assert _invite().decline() == InviteStep(I.DECLINED, CLOSED)
    assert _invite().withdraw() == InviteStep(I.WITHDRAWN, CLOSED)
    assert _invite().expire() == InviteStep(I.EXPIRED, CLOSED)
    invite = _invite()
    invite.decline()
    assert invite.status is I.DECLINED


def test_an_invite_past_its_expiry_cannot_be_accepted_before_its_timer_fires() -> None:
    invite = _invite(expires_in=timedelta(0))
    with pytest.raises(BookingError) as refused:
        invite.accept(NOW)
    assert refused.value.code is ErrorCode.INVITE_EXPIRED
    assert invite.status is I.OPEN


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (I.EXPIRED, ErrorCode.INVITE_EXPIRED),
        (I.WITHDRAWN, ErrorCode.INVITE_WITHDRAWN),
        (I.ACCEPTED, ErrorCode.INVITE_CLOSED),
        (I.DECLINED, ErrorCode.INVITE_CLOSED),
    ],
)
def test_a_closed_invite_refuses_every_action_with_its_reason(
    status: InviteStatus, code: ErrorCode
) -> None:
    invite = _invite(status)
    for act in (lambda: invite.accept(NOW), invite.decline, invite.withdraw):
        with pytest.raises(BookingError) as refused:
            act()
        assert refused.value.code is code
    assert invite.expire() is None  # the timer of an invite that ended does nothing
    assert invite.status is status
    with pytest.raises(BookingError) as refused:  # the table itself says the same
        invite_transition(status, InviteTrigger.GUEST_ACCEPTED)
    assert refused.value.code == code


def test_an_invite_is_seen_by_its_guest_its_host_and_staff_only() -> None:
    invite = _invite()
    assert invite.visible_to(guest_id="guest-1")
    assert invite.visible_to(host_id="host-1")
    assert invite.visible_to()  # staff
    assert not invite.visible_to(guest_id="guest-2")
    assert not invite.visible_to(host_id="host-2")


def test_an_invite_starts_and_expires_in_the_future() -> None:
    Invite.check_terms(NOW, NOW + timedelta(hours=1), NOW + timedelta(minutes=1))
    with pytest.raises(BookingError) as past:
        Invite.check_terms(NOW, NOW, NOW + timedelta(minutes=1))
    assert past.value.code is ErrorCode.INVALID_TIME_RANGE
    with pytest.raises(BookingError) as lapsed:
        Invite.check_terms(NOW, NOW + timedelta(hours=1), NOW)
    assert lapsed.value.code is ErrorCode.VALIDATION_FAILED


def test_the_invited_total_is_the_price_plus_every_extra_and_chargeable() -> None:
    extras = (InviteExtra("Lighting kit", 2500), InviteExtra("Chairs", 300, quantity=4))
    assert Invite.total(15000, extras, "usd") == 15000 + 2500 + 1200
    with pytest.raises(BookingError) as too_large:
        Invite.total(10**11, extras, "usd")
    assert too_large.value.code is ErrorCode.AMOUNT_TOO_LARGE
