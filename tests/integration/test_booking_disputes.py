"""Payments' card dispute facts on booking (issue 12), through booking's own routing table and
its gateway on the real database: the booking shows the dispute (status to its guest and host,
details to staff), refuses cancelling and refunds with 409 `payment_disputed` while it is open,
and ends in the furthest state whatever the order or repetition of the facts."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest

from booking.bootstrap import build_app, build_runtime
from booking.config import BookingSettings
from booking.entrypoints.auth import Role, issue_token
from booking.entrypoints.consumers import build_router
from booking.features.checkout.service import PlaceBooking, place_booking
from booking.features.groups.service import LegRequest, PlaceGroup, place_group
from booking.service_layer.handlers import BookingHandlers
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.outbox import Outbox
from marketplace_contracts import make_envelope
from marketplace_contracts.envelope import EventModel
from marketplace_contracts.events.payments_disputes import (
    DisputeClosedV1,
    DisputedLeg,
    DisputeOpenedV1,
    DisputeUpdatedV1,
)

pytestmark = pytest.mark.integration
SECRET = "disputes-test-jwt-secret-long-enough-012"
OUTBOX = Outbox("booking", producer="booking")
ROUTER = build_router(BookingHandlers(OUTBOX))
OPENED_AT = datetime(2026, 11, 30, 12, tzinfo=UTC)
FIRST_DUE = OPENED_AT + timedelta(days=7)
LATER_DUE = OPENED_AT + timedelta(days=9)


@pytest.fixture
async def gateway(booking_pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(build_runtime(BookingSettings(jwt_secret=SECRET)))
    app.state.runtime = SimpleNamespace(db=booking_pool)  # no lifespan: HTTP + database only
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


def as_(role: Role, sub: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(SECRET, sub, role)}"}


GUEST = as_(Role.GUEST, "guest-dsp")
HOST = as_(Role.HOST, "host-dsp")
TRUST = as_(Role.TRUST, "trust-1")
ADMIN = as_(Role.ADMIN, "ops-1")


async def _listing(pool: asyncpg.Pool) -> str:
    listing_id = f"lst_dsp_{uuid.uuid4().hex[:8]}"
    await pool.execute(
        "INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, hourly_rate,"
        " currency, platform_fee_bps, cancellation_policy) "
        "VALUES ($1, 'host-dsp', 'acct_dsp', 'Disputed', 4000, 'usd', 1000, 'flexible')",
        listing_id,
    )
    return listing_id


def _start(day: int = 0) -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=20 + day)


async def _confirmed_booking(pool: asyncpg.Pool) -> tuple[str, str]:
    """(booking id, payment id) of a captured, confirmed booking."""
    start = _start()
    cmd = PlaceBooking(
        "guest-dsp", await _listing(pool), start, start + timedelta(hours=3), "pm_card_visa"
    )
    async with pool.acquire() as conn, conn.transaction():
        booking = await place_booking(UnitOfWork(conn, OUTBOX), cmd)
    payment_id = f"pay_{uuid.uuid4().hex[:12]}"
    await pool.execute(  # what the checkout saga does once payments captured
        "UPDATE booking.bookings SET status = 'confirmed', payment_status = 'captured', "
        "payment_id = $2 WHERE booking_id = $1",
        uuid.UUID(booking["booking_id"]),
        payment_id,
    )
    return booking["booking_id"], payment_id


async def deliver(pool: asyncpg.Pool, event: EventModel, key: str) -> None:
    """As booking's consumer applies a record: its routing table, one transaction."""
    env = make_envelope(event, key=key, producer="payments", correlation_id=uuid.uuid4())
    route = ROUTER.route_for(env)
    assert route is not None, env.type
    async with pool.acquire() as conn, conn.transaction():
        await route.apply(conn, env, route.model.model_validate(env.data), None)


def opened(
    payment_id: str, subject: str, dispute_id: str, legs: list[DisputedLeg] | None = None
) -> DisputeOpenedV1:
    return DisputeOpenedV1(
        dispute_id=dispute_id,
        processor_dispute_id="du_" + dispute_id.removeprefix("dsp_"),
        payment_id=payment_id,
        booking_id=subject,
        legs=legs or [],
        amount=12_000,
        currency="usd",
        reason="fraudulent",
        status="needs_response",
        inquiry=False,
        due_by=FIRST_DUE,
        opened_at=OPENED_AT,
    )


def updated(payment_id: str, subject: str, dispute_id: str) -> DisputeUpdatedV1:
    return DisputeUpdatedV1(
        dispute_id=dispute_id,
        processor_dispute_id="du_" + dispute_id.removeprefix("dsp_"),
        payment_id=payment_id,
        booking_id=subject,
        status="under_review",
        previous_status="needs_response",
        due_by=LATER_DUE,
        has_evidence=True,
        submission_count=1,
    )


def closed(payment_id: str, subject: str, dispute_id: str, status: str = "won") -> DisputeClosedV1:
    return DisputeClosedV1(
        dispute_id=dispute_id,
        processor_dispute_id="du_" + dispute_id.removeprefix("dsp_"),
        payment_id=payment_id,
        booking_id=subject,
        status=status,
        amount=12_000,
        currency="usd",
        reason="fraudulent",
        closed_at=OPENED_AT + timedelta(days=20),
    )


async def _dispute(gateway: httpx.AsyncClient, booking_id: str, who: dict[str, str]) -> Any:
    shown = await gateway.get(f"/v1/bookings/{booking_id}", headers=who)
    assert shown.status_code == 200, shown.text
    return shown.json()["dispute"]


async def _cancelled_events(pool: asyncpg.Pool, booking_id: str) -> int:
    return await pool.fetchval(
        "SELECT count(*) FROM booking.outbox WHERE key = $1 "
        "AND event_type = 'booking.booking_cancelled'",
        booking_id,
    )


async def test_an_open_dispute_shows_on_the_booking_and_refuses_cancelling_until_it_closes(
    booking_pool: asyncpg.Pool, gateway: httpx.AsyncClient
) -> None:
    booking_id, payment_id = await _confirmed_booking(booking_pool)
    dispute_id = f"dsp_{uuid.uuid4().hex[:10]}"
    assert await _dispute(gateway, booking_id, GUEST) is None

    await deliver(booking_pool, opened(payment_id, booking_id, dispute_id), payment_id)
    for party in (GUEST, HOST):  # the status only
        assert await _dispute(gateway, booking_id, party) == {
            "status": "needs_response",
            "dispute_id": None,
            "reason": None,
            "opened_at": None,
            "due_by": None,
        }
    for staff in (TRUST, ADMIN):
        shown = await _dispute(gateway, booking_id, staff)
        assert shown["status"] == "needs_response" and shown["dispute_id"] == dispute_id
        assert shown["reason"] == "fraudulent"
        assert datetime.fromisoformat(shown["opened_at"]) == OPENED_AT
        assert datetime.fromisoformat(shown["due_by"]) == FIRST_DUE

    cancel = f"/v1/bookings/{booking_id}/cancel"
    for party in (GUEST, HOST, ADMIN):
        refused = await gateway.post(cancel, json={"reason": "plans"}, headers=party)
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "payment_disputed"
    assert (await gateway.post(cancel, headers=TRUST)).status_code == 403  # staff reads only
    preview = await gateway.post(f"{cancel}/preview", headers=GUEST)
    assert preview.status_code == 200  # changes nothing: still answered
    shorter = (_start() + timedelta(hours=2)).isoformat()
    amendment = await gateway.post(  # a cheaper stay would refund the difference
        f"/v1/bookings/{booking_id}/amendments", json={"ends_at": shorter}, headers=GUEST
    )
    assert amendment.status_code == 409, amendment.text
    assert amendment.json()["error"]["code"] == "payment_disputed"

    await deliver(booking_pool, updated(payment_id, booking_id, dispute_id), payment_id)
    assert (await _dispute(gateway, booking_id, GUEST))["status"] == "under_review"
    still = await gateway.post(cancel, json={"reason": "plans"}, headers=GUEST)
    assert still.json()["error"]["code"] == "payment_disputed"
    assert await _cancelled_events(booking_pool, booking_id) == 0
    status = await booking_pool.fetchval(
        "SELECT status FROM booking.bookings WHERE booking_id = $1", uuid.UUID(booking_id)
    )
    assert status == "confirmed"

    await deliver(booking_pool, closed(payment_id, booking_id, dispute_id), payment_id)
    assert (await _dispute(gateway, booking_id, HOST))["status"] == "won"
    released = await gateway.post(cancel, json={"reason": "plans"}, headers=GUEST)
    assert released.status_code == 200, released.text
    assert released.json()["status"] == "cancelled"
    assert await _cancelled_events(booking_pool, booking_id) == 1


FACTS = ("opened", "updated", "closed")


@pytest.mark.parametrize("order", list(itertools.permutations(FACTS)))
async def test_duplicated_and_out_of_order_facts_end_closed_with_every_detail(
    booking_pool: asyncpg.Pool, gateway: httpx.AsyncClient, order: tuple[str, ...]
) -> None:
    booking_id, payment_id = await _confirmed_booking(booking_pool)
    dispute_id = f"dsp_{uuid.uuid4().hex[:10]}"
    make = {"opened": opened, "updated": updated, "closed": closed}
    for name in (*order, order[0], order[-1]):  # and two of them again
        await deliver(booking_pool, make[name](payment_id, booking_id, dispute_id), payment_id)

    shown = await _dispute(gateway, booking_id, TRUST)
    assert shown["status"] == "won"  # closed stays closed, whatever came after
    assert shown["reason"] == "fraudulent"
    assert datetime.fromisoformat(shown["opened_at"]) == OPENED_AT
    assert datetime.fromisoformat(shown["due_by"]) == LATER_DUE  # the update's deadline
    rows = await booking_pool.fetch(
        "SELECT status FROM booking.payment_disputes WHERE payment_id = $1", payment_id
    )
    assert [r["status"] for r in rows] == ["won"]
    released = await gateway.post(f"/v1/bookings/{booking_id}/cancel", headers=GUEST)
    assert released.status_code == 200, released.text


@pytest.mark.parametrize("order", [("opened", "updated"), ("updated", "opened")])
async def test_an_update_before_the_opening_keeps_the_dispute_open_and_under_review(
    booking_pool: asyncpg.Pool, gateway: httpx.AsyncClient, order: tuple[str, ...]
) -> None:
    booking_id, payment_id = await _confirmed_booking(booking_pool)
    dispute_id = f"dsp_{uuid.uuid4().hex[:10]}"
    make = {"opened": opened, "updated": updated}
    for name in order:
        await deliver(booking_pool, make[name](payment_id, booking_id, dispute_id), payment_id)
    shown = await _dispute(gateway, booking_id, ADMIN)
    assert (shown["status"], shown["reason"]) == ("under_review", "fraudulent")
    assert datetime.fromisoformat(shown["due_by"]) == LATER_DUE
    refused = await gateway.post(f"/v1/bookings/{booking_id}/cancel", headers=HOST)
    assert refused.json()["error"]["code"] == "payment_disputed"


async def test_a_disputed_group_payment_shows_on_every_leg_and_refuses_cancelling_a_leg(
    booking_pool: asyncpg.Pool, gateway: httpx.AsyncClient
) -> None:
    start = _start(5)
    listings = [await _listing(booking_pool), await _listing(booking_pool)]
    legs = tuple(LegRequest(lst, start, start + timedelta(hours=2)) for lst in listings)
    async with booking_pool.acquire() as conn, conn.transaction():
        group = await place_group(
            UnitOfWork(conn, OUTBOX), PlaceGroup("guest-dsp", legs, "pm_card_visa")
        )
    group_id, payment_id = group["group_id"], f"pay_{uuid.uuid4().hex[:12]}"
    await booking_pool.execute(  # what the group saga does once payments captured
        "UPDATE booking.checkout_groups SET status = 'confirmed', payment_status = 'captured', "
        "payment_id = $2 WHERE group_id = $1",
        uuid.UUID(group_id),
        payment_id,
    )
    await booking_pool.execute(
        "UPDATE booking.bookings SET status = 'confirmed', payment_status = 'captured', "
        "payment_id = $2 WHERE group_id = $1",
        uuid.UUID(group_id),
        payment_id,
    )
    leg_ids = [leg["booking_id"] for leg in group["legs"]]
    disputed_legs = [
        DisputedLeg(booking_id=b, host_account_id="acct_dsp", amount=6_000, host_amount=5_400)
        for b in leg_ids
    ]
    dispute_id = f"dsp_{uuid.uuid4().hex[:10]}"
    await deliver(booking_pool, opened(payment_id, group_id, dispute_id, disputed_legs), payment_id)

    for who, details in ((GUEST, False), (TRUST, True)):
        shown = await gateway.get(f"/v1/checkout-groups/{group_id}", headers=who)
        assert shown.status_code == 200, shown.text
        for leg in shown.json()["legs"]:
            assert leg["dispute"]["status"] == "needs_response"
            assert (leg["dispute"]["reason"] == "fraudulent") is details
    assert (await _dispute(gateway, leg_ids[0], HOST))["status"] == "needs_response"
    refused = await gateway.post(f"/v1/bookings/{leg_ids[1]}/cancel", headers=GUEST)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "payment_disputed"

    await deliver(booking_pool, closed(payment_id, group_id, dispute_id, "lost"), payment_id)
    # lost: the bank gave the guest the money back; a cancellation would refund it twice
    still = await gateway.post(f"/v1/bookings/{leg_ids[1]}/cancel", headers=GUEST)
    assert still.status_code == 409, still.text
    assert still.json()["error"]["code"] == "payment_disputed"
    assert "already returned" in still.json()["error"]["message"]
    shown = await gateway.get(f"/v1/checkout-groups/{group_id}", headers=GUEST)
    assert {leg["dispute"]["status"] for leg in shown.json()["legs"]} == {"lost"}
