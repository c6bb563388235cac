"""Linked Booking Groups on the real database: all legs or none, at every step of the saga.

Payments' facts are delivered to booking's handlers directly (the Kafka path is covered by
tests/e2e/test_booking_groups.py); each delivery runs in its own transaction like the consumer's.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from booking.adapters import repository
from booking.adapters.esign.base import EnvelopeStatus, WebhookEvent
from booking.domain.errors import BookingError, ErrorCode
from booking.domain.holds import HoldRule
from booking.features.checkout.service import PlaceBooking, place_booking
from booking.features.documents.service import Documents
from booking.features.groups import timers as group_timers
from booking.features.groups.service import LegRequest, PlaceGroup, place_group
from booking.service_layer import host_response
from booking.service_layer.handlers import BookingHandlers
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.outbox import Outbox
from marketplace_contracts import EventModel, make_envelope
from marketplace_contracts.events.payments import (
    PaymentAuthorizedV1,
    PaymentCapturedV2,
    PaymentFailedV1,
    PaymentSplit,
)
from tests.support.esign_fake import TrailOnlyProvider

pytestmark = pytest.mark.integration
# The hold's timer here stands for a hold past every wait for payments (domain/holds.py).
NO_PLATFORM_WAIT = HoldRule(platform_limit=timedelta(0))
OUTBOX = Outbox("booking", producer="booking")
DOCS = [{"document_id": "agreement", "title": "Agreement", "text": "I agree."}]
_hour = itertools.count()


async def _listing(pool: asyncpg.Pool, *, instant: bool = True, docs: bool = False) -> str:
    listing_id = f"lst_grp_{uuid.uuid4().hex[:8]}"
    await pool.execute(
        "INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, hourly_rate,"
        " currency, platform_fee_bps, cancellation_policy, instant_book, required_documents) "
        "VALUES ($1, $2, $3, 'Group leg', 1000, 'usd', 1000, 'flexible', $4, $5::jsonb)",
        listing_id,
        f"host-{listing_id}",
        f"acct_{listing_id}",
        instant,
        DOCS if docs else [],
    )
    return listing_id


def _slot() -> tuple[datetime, datetime]:
    start = datetime(2035, 6, 1, tzinfo=UTC) + timedelta(hours=2 * next(_hour))
    return start, start + timedelta(hours=1)


async def _group(pool: asyncpg.Pool, listings: list[str], **kwargs: Any) -> dict[str, Any]:
    legs = tuple(LegRequest(listing, *_slot()) for listing in listings)
    async with pool.acquire() as conn, conn.transaction():
        return await place_group(
            UnitOfWork(conn, OUTBOX), PlaceGroup("guest-grp", legs, "pm_card_visa"), **kwargs
        )


async def _deliver(handler: Any, event: EventModel, key: str) -> None:
    env = make_envelope(event, key=key, producer="payments", correlation_id=uuid.uuid4())
    async with _POOL[0].acquire() as conn, conn.transaction():
        await handler(UnitOfWork(conn, OUTBOX), env, event)


_POOL: list[asyncpg.Pool] = []


@pytest.fixture(autouse=True)
def _pool(booking_pool: asyncpg.Pool) -> Any:
    _POOL[:] = [booking_pool]
    yield
    _POOL.clear()


async def _events(pool: asyncpg.Pool, keys: list[str], event_type: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT payload FROM booking.outbox WHERE key = ANY($1::text[]) AND event_type = $2 "
        "ORDER BY id",
        keys,
        event_type,
    )
    return [json.loads(bytes(r["payload"]))["data"] for r in rows]


async def _state(pool: asyncpg.Pool, group_id: str) -> tuple[str, list[str]]:
    status = await pool.fetchval(
        "SELECT status FROM booking.checkout_groups WHERE group_id = $1", uuid.UUID(group_id)
    )
    legs = await pool.fetch(
        "SELECT status FROM booking.bookings WHERE group_id = $1 ORDER BY booking_id",
        uuid.UUID(group_id),
    )
    return status, [r["status"] for r in legs]


def _authorized(group: dict[str, Any]) -> PaymentAuthorizedV1:
    return PaymentAuthorizedV1(
        payment_id=f"pay_{group['group_id']}",
        booking_id=group["group_id"],
        group_id=group["group_id"],
        payment_intent_id="pi_group",
        amount=group["amount"],
        currency="usd",
    )


def _captured(group: dict[str, Any]) -> PaymentCapturedV2:
    return PaymentCapturedV2(
        payment_id=f"pay_{group['group_id']}",
        booking_id=group["group_id"],
        group_id=group["group_id"],
        payment_intent_id="pi_group",
        charge_id="ch_group",
        amount=group["amount"],
        currency="usd",
        platform_fee=group["platform_fee"],
        splits=[
            PaymentSplit(
                booking_id=leg["booking_id"],
                host_account_id=f"acct_{leg['listing_id']}",
                amount=leg["amount"],
                platform_fee=leg["platform_fee"],
                host_amount=leg["amount"] - leg["platform_fee"],
            )
            for leg in group["legs"]
        ],
    )


def _declined(group: dict[str, Any]) -> PaymentFailedV1:
    return PaymentFailedV1(
        payment_id=f"pay_{group['group_id']}",
        booking_id=group["group_id"],
        group_id=group["group_id"],
        code="card_declined",
        decline_code="generic_decline",
    )


async def _slot_free(pool: asyncpg.Pool, leg: dict[str, Any]) -> bool:
    """Can someone else book this leg's exact slot now?"""
    cmd = PlaceBooking(
        "guest-other",
        leg["listing_id"],
        datetime.fromisoformat(leg["starts_at"]),
        datetime.fromisoformat(leg["ends_at"]),
        "pm_card_visa",
    )
    try:
        async with pool.acquire() as conn, conn.transaction():
            await place_booking(UnitOfWork(conn, OUTBOX), cmd)
    except BookingError as exc:
        assert exc.code is ErrorCode.SLOT_UNAVAILABLE
        return False
    return True


async def test_a_leg_that_cannot_be_held_refuses_the_whole_checkout(
    booking_pool: asyncpg.Pool,
) -> None:
    listings = [await _listing(booking_pool) for _ in range(3)]
    taken = _slot()
    async with booking_pool.acquire() as conn, conn.transaction():
        await place_booking(
            UnitOfWork(conn, OUTBOX),
            PlaceBooking("guest-first", listings[2], *taken, "pm_card_visa"),
        )
    legs = (LegRequest(listings[0], *_slot()), LegRequest(listings[1], *_slot()))
    with pytest.raises(BookingError) as refused:
        async with booking_pool.acquire() as conn, conn.transaction():
            await place_group(
                UnitOfWork(conn, OUTBOX),
                PlaceGroup("guest-grp", (*legs, LegRequest(listings[2], *taken)), "pm_card_visa"),
            )
    assert refused.value.code is ErrorCode.SLOT_UNAVAILABLE
    assert refused.value.message.startswith("leg 3:")
    held = await booking_pool.fetchval(
        "SELECT count(*) FROM booking.bookings WHERE listing_id = ANY($1::text[])", listings[:2]
    )
    assert held == 0  # legs 1 and 2 were not kept
    for leg in legs:  # and their slots are free for anyone
        free = {"listing_id": leg.listing_id, "starts_at": leg.starts_at.isoformat()}
        assert await _slot_free(booking_pool, {**free, "ends_at": leg.ends_at.isoformat()})


async def test_mixed_currencies_are_refused(booking_pool: asyncpg.Pool) -> None:
    usd = await _listing(booking_pool)
    eur = await _listing(booking_pool)
    await booking_pool.execute(
        "UPDATE booking.listings SET currency = 'eur' WHERE listing_id = $1", eur
    )
    with pytest.raises(BookingError) as refused:
        await _group(booking_pool, [usd, eur])
    assert refused.value.code is ErrorCode.MIXED_CURRENCIES


async def test_three_legs_confirm_together_after_the_hosts_accept_and_the_capture(
    booking_pool: asyncpg.Pool,
) -> None:
    handlers = BookingHandlers(OUTBOX)
    listings = [
        await _listing(booking_pool),
        await _listing(booking_pool, instant=False),
        await _listing(booking_pool, instant=False),
    ]
    group = await _group(booking_pool, listings)
    gid = group["group_id"]
    assert group["status"] == "pending_payment"
    assert group["amount"] == sum(leg["amount"] for leg in group["legs"]) == 3000
    [request] = await _events(booking_pool, [gid], "booking.group_checkout_requested")
    assert request["amount"] == 3000 and request["platform_fee"] == 300
    assert sorted(leg["booking_id"] for leg in request["legs"]) == sorted(
        leg["booking_id"] for leg in group["legs"]
    )

    await _deliver(handlers.on_payment_authorized, _authorized(group), f"pay_{gid}")
    status, legs = await _state(booking_pool, gid)
    assert status == "awaiting_hosts"
    assert sorted(legs) == ["awaiting_group", "awaiting_host", "awaiting_host"]
    leg_ids = [leg["booking_id"] for leg in group["legs"] if leg["mode"] == "request"]
    assert len(await _events(booking_pool, leg_ids, "booking.host_response_requested")) == 2

    async with booking_pool.acquire() as conn, conn.transaction():
        await host_response.accept(UnitOfWork(conn, OUTBOX), uuid.UUID(leg_ids[0]), None)
    assert (await _state(booking_pool, gid))[0] == "awaiting_hosts"
    assert await _events(booking_pool, [gid], "booking.group_capture_requested") == []
    async with booking_pool.acquire() as conn, conn.transaction():
        await host_response.accept(UnitOfWork(conn, OUTBOX), uuid.UUID(leg_ids[1]), None)
    status, legs = await _state(booking_pool, gid)
    assert (status, legs) == ("capturing", ["awaiting_group"] * 3)  # nothing confirmed yet
    [capture] = await _events(booking_pool, [gid], "booking.group_capture_requested")
    assert capture["amount"] == 3000

    for _ in range(2):  # the capture fact delivered twice
        await _deliver(handlers.on_payment_captured, _captured(group), f"pay_{gid}")
    assert await _state(booking_pool, gid) == ("confirmed", ["confirmed"] * 3)
    all_ids = [leg["booking_id"] for leg in group["legs"]]
    assert len(await _events(booking_pool, all_ids, "booking.booking_confirmed")) == 3
    assert len(await _events(booking_pool, [gid], "booking.group_confirmed")) == 1


FAILURES = ("payment_declined", "host_declined", "request_expired", "hold_expired", "capture")


@pytest.mark.parametrize("step", FAILURES)
async def test_a_failure_at_any_step_releases_every_leg_and_voids_once(
    booking_pool: asyncpg.Pool, step: str
) -> None:
    handlers = BookingHandlers(OUTBOX, hold_rule=NO_PLATFORM_WAIT)
    listings = [
        await _listing(booking_pool),
        await _listing(booking_pool, instant=False),
        await _listing(booking_pool),
    ]
    group = await _group(booking_pool, listings)
    gid = group["group_id"]
    rtb = next(leg["booking_id"] for leg in group["legs"] if leg["mode"] == "request")
    if step == "payment_declined":
        await _deliver(handlers.on_payment_failed, _declined(group), f"pay_{gid}")
    elif step == "hold_expired":
        async with booking_pool.acquire() as conn, conn.transaction():
            await group_timers.expire_hold(OUTBOX, handlers.groups, conn, gid, {})
    else:
        await _deliver(handlers.on_payment_authorized, _authorized(group), f"pay_{gid}")
        async with booking_pool.acquire() as conn, conn.transaction():
            if step == "host_declined":
                await host_response.decline(UnitOfWork(conn, OUTBOX), uuid.UUID(rtb), None, "busy")
            elif step == "request_expired":
                await handlers.expire_request(conn, rtb, {})
            else:  # the host accepts, then the capture fails
                await host_response.accept(UnitOfWork(conn, OUTBOX), uuid.UUID(rtb), None)
        if step == "capture":
            await _deliver(handlers.on_payment_failed, _declined(group), f"pay_{gid}")

    status, legs = await _state(booking_pool, gid)
    assert status == "failed"
    own = {"host_declined": "declined", "request_expired": "expired"}.get(step, "failed")
    assert sorted(legs) == sorted([own, "failed", "failed"])
    [failed] = await _events(booking_pool, [gid], "booking.group_failed")
    expected_reason = {"capture": "payment_declined"}.get(step, step)
    assert failed["reason"] == expected_reason
    assert failed["failed_booking_id"] == (rtb if own != "failed" else None)
    # The void is asked for once, on the group's event, with the payment when booking knew it.
    assert failed["payment_id"] == (None if step == "hold_expired" else f"pay_{gid}")
    leg_failures = await _events(
        booking_pool, [leg["booking_id"] for leg in group["legs"]], "booking.booking_failed"
    )
    assert len(leg_failures) == 3 and all(e["payment_id"] is None for e in leg_failures)
    assert await _events(booking_pool, [gid], "booking.group_confirmed") == []
    for leg in group["legs"]:
        assert await _slot_free(booking_pool, leg)

    # Facts arriving after the failure change nothing; a late authorization is voided.
    await _deliver(handlers.on_payment_captured, _captured(group), f"pay_{gid}")
    assert (await _state(booking_pool, gid))[0] == "failed"
    if step == "hold_expired":
        await _deliver(handlers.on_payment_authorized, _authorized(group), f"pay_{gid}")
        late = (await _events(booking_pool, [gid], "booking.group_failed"))[-1]
        assert (late["reason"], late["payment_id"]) == ("group_not_pending", f"pay_{gid}")


SIGNING = ("sign_a", "sign_b", "decline_b", "hold_expired")


@pytest.mark.parametrize("order", list(itertools.permutations(SIGNING, 3)))
async def test_payment_is_requested_once_every_leg_is_signed_whatever_the_order(
    booking_pool: asyncpg.Pool, order: tuple[str, ...]
) -> None:
    documents = Documents(OUTBOX, TrailOnlyProvider(), lambda: booking_pool)  # type: ignore[arg-type]
    handlers = BookingHandlers(OUTBOX, hold_rule=NO_PLATFORM_WAIT)
    listings = [
        await _listing(booking_pool, docs=True),
        await _listing(booking_pool, docs=True),
        await _listing(booking_pool),
    ]
    group = await _group(booking_pool, listings)
    gid = group["group_id"]
    assert group["status"] == "awaiting_signatures"
    by_listing = {leg["listing_id"]: leg["booking_id"] for leg in group["legs"]}
    envelopes = {"a": f"env_{by_listing[listings[0]]}", "b": f"env_{by_listing[listings[1]]}"}
    for name, listing in (("a", listings[0]), ("b", listings[1])):
        await booking_pool.execute(  # what the create-envelope job records
            "UPDATE booking.bookings SET envelope_id = $2 WHERE booking_id = $1",
            uuid.UUID(by_listing[listing]),
            envelopes[name],
        )
    requested: list[str] = []
    for outcome in (*order, order[0]):  # the first outcome is also delivered twice
        if outcome == "hold_expired":
            async with booking_pool.acquire() as conn, conn.transaction():
                await group_timers.expire_hold(OUTBOX, handlers.groups, conn, gid, {})
        else:
            action, leg = outcome.split("_")
            status = EnvelopeStatus.SIGNED if action == "sign" else EnvelopeStatus.DECLINED
            await documents.on_envelope_event(
                WebhookEvent(envelopes[leg], status, datetime.now(UTC))
            )
        if await _events(booking_pool, [gid], "booking.group_checkout_requested"):
            requested.append(outcome)

    # The model: a decline counts only while its leg is unsigned; the hold ends the group
    # while it is signing or waiting for payment; the last signature asks for payment.
    signed: set[str] = set()
    failed, expected_request = False, None
    for outcome in order:
        if failed:
            break
        if outcome == "hold_expired":
            failed = True
        elif outcome == "decline_b":
            failed = "b" not in signed
        else:
            signed.add(outcome[-1])
            if signed == {"a", "b"} and expected_request is None:
                expected_request = outcome
    payment_requests = await _events(booking_pool, [gid], "booking.group_checkout_requested")
    assert len(payment_requests) == (0 if expected_request is None else 1)
    assert requested[:1] == ([] if expected_request is None else [expected_request])
    final, legs = await _state(booking_pool, gid)
    assert final == ("failed" if failed else "pending_payment")
    if failed:
        assert not {"awaiting_signatures", "pending_payment"} & set(legs)  # all released
    # Each leg signed in time published its signatures once, naming its group.
    for name, listing in (("a", listings[0]), ("b", listings[1])):
        completed = await _events(
            booking_pool, [by_listing[listing]], "booking.signatures_completed"
        )
        assert len(completed) == (1 if name in signed else 0), (name, order)
        assert all(c["group_id"] == gid for c in completed)


async def test_concurrent_host_answers_on_one_group_serialize(booking_pool: asyncpg.Pool) -> None:
    """Accept on one leg and decline on another, at once: the group lock orders them, and
    the group ends failed with no capture whichever ran first (and nothing deadlocks)."""
    handlers = BookingHandlers(OUTBOX)
    listings = [await _listing(booking_pool, instant=False) for _ in range(2)]
    for _ in range(5):
        group = await _group(booking_pool, listings)
        gid = group["group_id"]
        await _deliver(handlers.on_payment_authorized, _authorized(group), f"pay_{gid}")
        first, second = (uuid.UUID(leg["booking_id"]) for leg in group["legs"])

        async def answer(booking_id: uuid.UUID, accept: bool) -> str:
            async with booking_pool.acquire() as conn, conn.transaction():
                try:
                    if accept:
                        await host_response.accept(UnitOfWork(conn, OUTBOX), booking_id, None)
                    else:
                        await host_response.decline(
                            UnitOfWork(conn, OUTBOX), booking_id, None, "no"
                        )
                except BookingError as exc:
                    return exc.code
                return "ok"

        results = await asyncio.gather(answer(first, True), answer(second, False))
        assert results[1] == "ok"
        assert results[0] in ("ok", ErrorCode.ILLEGAL_TRANSITION)
        assert (await _state(booking_pool, gid))[0] == "failed"
        assert await _events(booking_pool, [gid], "booking.group_capture_requested") == []

        group = await _group(booking_pool, listings)
        gid = group["group_id"]
        await _deliver(handlers.on_payment_authorized, _authorized(group), f"pay_{gid}")
        both = await asyncio.gather(
            *(answer(uuid.UUID(leg["booking_id"]), True) for leg in group["legs"])
        )
        assert both == ["ok", "ok"]
        assert len(await _events(booking_pool, [gid], "booking.group_capture_requested")) == 1


async def test_locking_a_leg_locks_its_group_first_and_a_lone_booking_nothing_else(
    booking_pool: asyncpg.Pool,
) -> None:
    """`get_booking(for_update=True)` takes the group's lock, then the leg's, in one round
    trip: while it holds them, nobody else can lock the group or the leg; a booking without a
    group is locked all the same."""
    listings = [await _listing(booking_pool) for _ in range(2)]
    group = await _group(booking_pool, listings)
    leg = uuid.UUID(group["legs"][0]["booking_id"])
    async with booking_pool.acquire() as holder, holder.transaction():
        row = await repository.get_booking(holder, leg, for_update=True)
        assert row is not None and row["booking_id"] == leg
        async with booking_pool.acquire() as other:
            await other.execute("SET lock_timeout = '200ms'")
            with pytest.raises(asyncpg.LockNotAvailableError):
                async with other.transaction():
                    await other.execute(
                        "SELECT 1 FROM booking.checkout_groups WHERE group_id = $1 FOR UPDATE",
                        uuid.UUID(group["group_id"]),
                    )
            with pytest.raises(asyncpg.LockNotAvailableError):
                async with other.transaction():
                    await other.execute(
                        "SELECT 1 FROM booking.bookings WHERE booking_id = $1 FOR UPDATE", leg
                    )
            await other.execute("RESET lock_timeout")
    lone = await _slot_booking(booking_pool, listings[1])
    async with booking_pool.acquire() as holder, holder.transaction():
        row = await repository.get_booking(holder, lone, for_update=True)
        assert row is not None and row["booking_id"] == lone and row["group_id"] is None
        async with booking_pool.acquire() as other:
            await other.execute("SET lock_timeout = '200ms'")
            with pytest.raises(asyncpg.LockNotAvailableError):
                async with other.transaction():
                    await other.execute(
                        "SELECT 1 FROM booking.bookings WHERE booking_id = $1 FOR UPDATE", lone
                    )
            await other.execute("RESET lock_timeout")


async def _slot_booking(pool: asyncpg.Pool, listing_id: str) -> uuid.UUID:
    starts, ends = _slot()
    async with pool.acquire() as conn, conn.transaction():
        view = await place_booking(
            UnitOfWork(conn, OUTBOX),
            PlaceBooking("guest-lone", listing_id, starts, ends, "pm_card_visa"),
        )
    return uuid.UUID(view["booking_id"])
