"""Smart Invites' use cases (`features/invites/service.py`) on booking's unit of work in memory
(tests/support/booking_fakes.py): what sending, declining, withdrawing, accepting too late and
the expiry timer store, schedule and publish, and the refusals' codes, without Postgres.
Accepting in time places a checkout (Postgres): tests/e2e/test_smart_invite.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from booking.domain.errors import ErrorCode
from booking.features.invites import service as invites
from booking.features.invites.domain import INVITE_EXPIRY
from eventkit.rows import LostUpdate
from tests.support.booking_fakes import FakeUnitOfWork, refused

HOST, GUEST = "host-1", "guest-1"
LISTING = "lst_loft"
HOUR = timedelta(hours=1)


def _listing() -> dict[str, Any]:
    return {
        "listing_id": LISTING,
        "host_id": HOST,
        "currency": "usd",
        "rate_unit": "hour",
        "hourly_rate": 5_000,
        "daily_rate": None,
        "min_hours": 3,
        "max_hours": 12,
        "cleaning_fee": 1_500,
        "guest_service_fee_bps": 1_000,
        "platform_fee_bps": 1_500,
        "max_guests": 4,
    }


@pytest.fixture
def fake() -> FakeUnitOfWork:
    fake = FakeUnitOfWork()
    fake.bookings.listings[LISTING] = _listing()
    return fake


def _cmd(amount: int | None = 15_000, **kw: Any) -> invites.SendInvite:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=10)
    return invites.SendInvite(
        kw.pop("host_id", HOST),
        GUEST,
        LISTING,
        start,
        start + 2 * HOUR,
        amount,
        kw.pop("expires_at", datetime.now(UTC) + timedelta(days=2)),
        **kw,
    )


async def _sent(fake: FakeUnitOfWork, **kw: Any) -> uuid.UUID:
    sent = await invites.send(fake.as_uow(), _cmd(**kw))
    return uuid.UUID(sent["invite_id"])


async def test_sending_stores_an_open_invite_schedules_its_expiry_and_announces_it(
    fake: FakeUnitOfWork,
) -> None:
    cmd = _cmd(extras=(invites.InviteExtra("Lighting kit", 2_500, 2),))
    sent = await invites.send(fake.as_uow(), cmd)
    assert (sent["status"], sent["version"]) == ("open", 1)
    # The invited total is the price for the time plus every extra.
    assert (sent["price"], sent["amount"], sent["currency"]) == (15_000, 20_000, "usd")
    invite_id = sent["invite_id"]
    assert fake.timers.pending == {(INVITE_EXPIRY, invite_id): cmd.expires_at}
    [(event, meta)] = fake.outbox.added
    assert event.TYPE == "booking.invite_sent" and meta["key"] == invite_id
    assert (event.amount, [e.amount for e in event.extras]) == (20_000, [5_000])
    row = fake.invites.rows[uuid.UUID(invite_id)]
    assert meta["correlation_id"] == row["correlation_id"]


async def test_without_an_amount_the_invite_is_for_the_listed_price_without_a_minimum(
    fake: FakeUnitOfWork,
) -> None:
    sent = await invites.send(fake.as_uow(), _cmd(amount=None))
    # Two hours (below the listing's three-hour minimum) at 5,000, cleaning 1,500, and the
    # guest's 10 % service fee on both: 12,650.
    assert sent["price"] == 12_650


async def test_an_invite_to_another_hosts_listing_is_refused_and_nothing_is_written(
    fake: FakeUnitOfWork,
) -> None:
    await refused(invites.send(fake.as_uow(), _cmd(host_id="host-2")), ErrorCode.LISTING_NOT_FOUND)
    assert (fake.invites.rows, fake.timers.pending, fake.outbox.added) == ({}, {}, [])


async def test_declining_closes_the_invite_cancels_its_expiry_and_emits_invite_closed(
    fake: FakeUnitOfWork,
) -> None:
    invite_id = await _sent(fake)
    declined = await invites.decline(fake.as_uow(), invite_id, GUEST)
    assert (declined["status"], declined["version"], declined["booking_id"]) == (
        "declined",
        2,
        None,
    )
    assert fake.timers.pending == {}
    assert fake.timers.cancelled == [(INVITE_EXPIRY, str(invite_id))]
    assert fake.outbox.types == ["booking.invite_sent", "booking.invite_closed"]
    closed, meta = fake.outbox.added[-1]
    assert (closed.outcome, closed.booking_id, meta["key"]) == ("declined", None, str(invite_id))


async def test_another_guest_cannot_decline_and_sees_no_invite(fake: FakeUnitOfWork) -> None:
    invite_id = await _sent(fake)
    await refused(invites.decline(fake.as_uow(), invite_id, "guest-2"), ErrorCode.INVITE_NOT_FOUND)
    assert fake.invites.rows[invite_id]["status"] == "open"
    assert fake.outbox.types == ["booking.invite_sent"]


async def test_a_withdrawn_invite_refuses_the_guest_with_invite_withdrawn(
    fake: FakeUnitOfWork,
) -> None:
    invite_id = await _sent(fake)
    withdrawn = await invites.withdraw(fake.as_uow(), invite_id, HOST)
    assert withdrawn["status"] == "withdrawn"
    for act in (
        invites.decline(fake.as_uow(), invite_id, GUEST),
        invites.accept(fake.as_uow(), invite_id, GUEST, "pm_card_visa", HOUR),
    ):
        await refused(act, ErrorCode.INVITE_WITHDRAWN)
    assert fake.outbox.types == ["booking.invite_sent", "booking.invite_closed"]


async def test_only_its_host_or_staff_withdraw_an_invite(fake: FakeUnitOfWork) -> None:
    invite_id = await _sent(fake)
    await refused(invites.withdraw(fake.as_uow(), invite_id, "host-2"), ErrorCode.INVITE_NOT_FOUND)
    withdrawn = await invites.withdraw(fake.as_uow(), invite_id, None)  # staff
    assert withdrawn["status"] == "withdrawn"


async def test_accepting_past_the_deadline_is_refused_before_any_checkout(
    fake: FakeUnitOfWork,
) -> None:
    invite_id = await _sent(fake)
    # Its deadline passed, and its timer has not fired yet.
    fake.invites.rows[invite_id]["expires_at"] = datetime.now(UTC) - timedelta(seconds=1)
    await refused(
        invites.accept(fake.as_uow(), invite_id, GUEST, "pm_card_visa", HOUR),
        ErrorCode.INVITE_EXPIRED,
    )
    assert fake.invites.rows[invite_id]["status"] == "open"
    assert fake.outbox.types == ["booking.invite_sent"]


async def test_the_expiry_timer_expires_an_open_invite_and_leaves_an_ended_one(
    fake: FakeUnitOfWork,
) -> None:
    open_id, declined_id = await _sent(fake), await _sent(fake)
    await invites.decline(fake.as_uow(), declined_id, GUEST)
    before = len(fake.outbox.added)
    await invites.expire(fake.as_uow(), declined_id)
    assert fake.invites.rows[declined_id]["status"] == "declined"
    assert len(fake.outbox.added) == before
    await invites.expire(fake.as_uow(), open_id)
    assert fake.invites.rows[open_id]["status"] == "expired"
    closed, _ = fake.outbox.added[-1]
    assert (closed.TYPE, closed.outcome) == ("booking.invite_closed", "expired")
    # The timer that fired is not cancelled; the open invite's is still pending for the fake.
    assert (INVITE_EXPIRY, str(open_id)) not in fake.timers.cancelled
    await refused(
        invites.accept(fake.as_uow(), open_id, GUEST, "pm_card_visa", HOUR),
        ErrorCode.INVITE_EXPIRED,
    )


async def test_an_invite_changed_after_its_lock_fails_loudly_and_publishes_nothing(
    fake: FakeUnitOfWork,
) -> None:
    invite_id = await _sent(fake)
    fake.invites.moved_after_lock = True
    with pytest.raises(LostUpdate):
        await invites.decline(fake.as_uow(), invite_id, GUEST)
    assert fake.invites.rows[invite_id]["status"] == "open"
    assert fake.outbox.types == ["booking.invite_sent"]
    assert fake.timers.cancelled == []
