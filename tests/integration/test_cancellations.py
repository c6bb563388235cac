"""Quotes, cancellations and the refund's status on the real database (payments' answers are
delivered to booking's handlers directly; the Kafka path is the e2e suite's)."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from booking.domain.errors import BookingError, ErrorCode
from booking.domain.refunds import Canceller
from booking.features.cancellations import service as cancellations
from booking.features.checkout.service import PlaceBooking, place_booking
from booking.features.groups.service import LegRequest, PlaceGroup, place_group
from booking.service_layer import pricing
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.outbox import Outbox
from marketplace_contracts import make_envelope
from marketplace_contracts.events.payments import RefundFailedV1, RefundSucceededV1

pytestmark = pytest.mark.integration
OUTBOX = Outbox("booking", producer="booking")
EXTRAS = [
    {"code": "lights", "name": "Lights", "unit": "per_booking", "amount": 2_500},
    {"code": "chairs", "name": "Chair", "unit": "per_guest", "amount": 150, "refundable": False},
]


async def _listing(pool: asyncpg.Pool, policy: str = "moderate") -> str:
    listing_id = f"lst_cxl_{uuid.uuid4().hex[:8]}"
    await pool.execute(
        "INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, hourly_rate,"
        " currency, platform_fee_bps, cancellation_policy, cleaning_fee, guest_service_fee_bps,"
        " extras, tax_jurisdiction) VALUES ($1, 'host-cxl', 'acct_cxl', 'Cxl', 6000, 'usd', "
        "1000, $2, 3500, 1200, $3::jsonb, 'us-ny-nyc')",
        listing_id,
        policy,
        EXTRAS,
    )
    return listing_id


async def _confirmed(pool: asyncpg.Pool, listing_id: str, start: datetime, **kw: Any) -> str:
    cmd = PlaceBooking(
        "guest-cxl", listing_id, start, start + timedelta(hours=2), "pm_card_visa", **kw
    )
    async with pool.acquire() as conn, conn.transaction():
        booking = await place_booking(UnitOfWork(conn, OUTBOX), cmd)
    await pool.execute(  # what the checkout saga does once payments captured
        "UPDATE booking.bookings SET status = 'confirmed', payment_status = 'captured', "
        "payment_id = 'pay_cxl' WHERE booking_id = $1",
        uuid.UUID(booking["booking_id"]),
    )
    return str(booking["booking_id"])


async def _events(pool: asyncpg.Pool, key: str, event_type: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT payload FROM booking.outbox WHERE key = $1 AND event_type = $2 ORDER BY id",
        key,
        event_type,
    )
    return [json.loads(bytes(r["payload"]))["data"] for r in rows]


async def test_checkout_charges_the_quoted_total_even_after_a_price_change(
    booking_pool: asyncpg.Pool,
) -> None:
    listing_id = await _listing(booking_pool)
    start = datetime(2034, 5, 1, 18, tzinfo=UTC)
    async with booking_pool.acquire() as conn, conn.transaction():
        quote = await pricing.create_quote(
            UnitOfWork(conn, OUTBOX),
            "guest-cxl",
            listing_id,
            start,
            start + timedelta(hours=2),
            10,
            {"lights": 1, "chairs": 1},
        )
    # base 120.00, lights 25.00, chairs 10 x 1.50, cleaning 35.00: 195.00; service fee 12 %
    # 23.40; tax 8.75 % on base 10.50, extras (2.1875 -> 2.19, 1.3125 -> 1.31) 3.50, cleaning
    # (3.0625 -> 3.06): 17.06. Total 235.46.
    assert quote["total"] == 23_546 and quote["tax"] == 1_706
    await booking_pool.execute(
        "UPDATE booking.listings SET hourly_rate = 9000 WHERE listing_id = $1", listing_id
    )
    booking_id = await _confirmed(
        booking_pool,
        listing_id,
        start,
        guests=10,
        extras={"lights": 1, "chairs": 1},
        quote_id=uuid.UUID(quote["quote_id"]),
    )
    row = await booking_pool.fetchrow(
        "SELECT amount, tax, quote FROM booking.bookings WHERE booking_id = $1",
        uuid.UUID(booking_id),
    )
    assert (row["amount"], row["tax"]) == (23_546, 1_706)
    assert row["quote"]["lines"] == quote["lines"]  # the snapshot
    [request] = await _events(booking_pool, booking_id, "booking.checkout_requested")
    assert (request["amount"], request["tax"]) == (23_546, 1_706)
    with pytest.raises(BookingError) as mismatch:  # a quote is for its stay only
        await _confirmed(
            booking_pool,
            listing_id,
            start + timedelta(days=1),
            guests=10,
            extras={"lights": 1, "chairs": 1},
            quote_id=uuid.UUID(quote["quote_id"]),
        )
    assert mismatch.value.code is ErrorCode.QUOTE_MISMATCH


async def test_a_guest_cancellation_refunds_what_the_preview_showed(
    booking_pool: asyncpg.Pool,
) -> None:
    listing_id = await _listing(booking_pool)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
    booking_id = await _confirmed(booking_pool, listing_id, start, guests=4, extras={"chairs": 1})
    await booking_pool.execute(  # booked long ago: no grace period
        "UPDATE booking.bookings SET created_at = now() - interval '10 days' WHERE booking_id = $1",
        uuid.UUID(booking_id),
    )
    cmd = cancellations.Cancel(uuid.UUID(booking_id), Canceller.GUEST, "guest-cxl", "plans")
    async with booking_pool.acquire() as conn:
        preview = await cancellations.preview(conn, cmd)
    assert (preview["basis"], preview["refund_bps"], preview["policy"]) == (
        "band",
        5000,
        "moderate@1",
    )  # 3 days ahead: moderate refunds 50 %
    refunded = {line["code"]: line["amount"] for line in preview["lines"]}
    assert "extra:chairs" not in refunded and "guest_service_fee" not in refunded
    assert refunded["base"] == 6_000 and refunded["cleaning"] == 1_750
    async with booking_pool.acquire() as conn, conn.transaction():
        view = await cancellations.cancel(UnitOfWork(conn, OUTBOX), cmd)
    assert (view["status"], view["refund_status"]) == ("cancelled", "pending")
    [event] = await _events(booking_pool, booking_id, "booking.booking_cancelled")
    refund = event["refund"]
    assert refund["amount"] == preview["amount"]
    assert refund["amount"] == refund["platform_fee"] + refund["host_amount"]
    assert (refund["payment_id"], refund["refund_id"]) == ("pay_cxl", f"rf_{booking_id}_cancel")

    with pytest.raises(BookingError) as again:  # cancelled is final
        async with booking_pool.acquire() as conn, conn.transaction():
            await cancellations.cancel(UnitOfWork(conn, OUTBOX), cmd)
    assert again.value.code is ErrorCode.ILLEGAL_TRANSITION

    succeeded = RefundSucceededV1(
        refund_id=refund["refund_id"],
        payment_id="pay_cxl",
        booking_id=booking_id,
        amount=refund["amount"],
        currency="usd",
        platform_fee=refund["platform_fee"],
        host_amount=refund["host_amount"],
        tax=refund["tax"],
        host_account_id="acct_cxl",
        method="refund",
        stripe_refund_id="re_1",
    )
    for _ in range(2):  # delivered twice
        env = make_envelope(
            succeeded, key="pay_cxl", producer="payments", correlation_id=uuid.uuid4()
        )
        async with booking_pool.acquire() as conn, conn.transaction():
            await cancellations.on_refund_succeeded(UnitOfWork(conn, OUTBOX), env, succeeded)
    row = await booking_pool.fetchrow(
        "SELECT refund_status, refunded_amount FROM booking.bookings WHERE booking_id = $1",
        uuid.UUID(booking_id),
    )
    assert (row["refund_status"], row["refunded_amount"]) == ("refunded", refund["amount"])


async def test_host_and_admin_cancellations(booking_pool: asyncpg.Pool) -> None:
    listing_id = await _listing(booking_pool, "strict")
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    by_host = await _confirmed(booking_pool, listing_id, start)
    async with booking_pool.acquire() as conn, conn.transaction():
        view = await cancellations.cancel(
            UnitOfWork(conn, OUTBOX),
            cancellations.Cancel(uuid.UUID(by_host), Canceller.HOST, "host-cxl", "double booked"),
        )
    [event] = await _events(booking_pool, by_host, "booking.booking_cancelled")
    assert event["refund"]["amount"] == view["amount"]  # in full
    assert event["host_penalty"] == 1_550  # 10 % of the host's lines (120.00 + 35.00)

    with pytest.raises(BookingError) as forbidden:
        async with booking_pool.acquire() as conn:
            other = await _confirmed(booking_pool, listing_id, start + timedelta(hours=3))
            await cancellations.preview(
                conn,
                cancellations.Cancel(uuid.UUID(other), Canceller.GUEST, "guest-cxl", "", True),
            )
    assert forbidden.value.code is ErrorCode.FORBIDDEN
    async with booking_pool.acquire() as conn, conn.transaction():
        forced = await cancellations.cancel(
            UnitOfWork(conn, OUTBOX),
            cancellations.Cancel(uuid.UUID(other), Canceller.ADMIN, None, "storm", True),
        )
    assert forced["refund"]["basis"] == "force_majeure"
    assert forced["refund"]["amount"] == forced["amount"]

    with pytest.raises(BookingError) as stranger:
        async with booking_pool.acquire() as conn:
            await cancellations.preview(
                conn,
                cancellations.Cancel(uuid.UUID(by_host), Canceller.HOST, "host-other"),
            )
    assert stranger.value.code is ErrorCode.BOOKING_NOT_FOUND


async def test_a_failed_refund_is_visible_with_its_reason(booking_pool: asyncpg.Pool) -> None:
    listing_id = await _listing(booking_pool, "flexible")
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=5)
    booking_id = await _confirmed(booking_pool, listing_id, start)
    async with booking_pool.acquire() as conn, conn.transaction():
        await cancellations.cancel(
            UnitOfWork(conn, OUTBOX),
            cancellations.Cancel(uuid.UUID(booking_id), Canceller.GUEST, "guest-cxl"),
        )
    failed = RefundFailedV1(
        refund_id=f"rf_{booking_id}_cancel",
        payment_id="pay_cxl",
        booking_id=booking_id,
        amount=1,
        currency="usd",
        code="api_error",
        message="Stripe is down",
        attempts=4,
    )
    env = make_envelope(failed, key="pay_cxl", producer="payments", correlation_id=uuid.uuid4())
    async with booking_pool.acquire() as conn, conn.transaction():
        await cancellations.on_refund_failed(UnitOfWork(conn, OUTBOX), env, failed)
    row = await booking_pool.fetchrow(
        "SELECT refund_status, refund_failure FROM booking.bookings WHERE booking_id = $1",
        uuid.UUID(booking_id),
    )
    assert row["refund_status"] == "failed"
    assert row["refund_failure"] == "api_error: Stripe is down"


async def test_cancelling_one_leg_of_a_group_refunds_that_leg_only(
    booking_pool: asyncpg.Pool,
) -> None:
    listings = [await _listing(booking_pool, "flexible") for _ in range(3)]
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=4)
    legs = tuple(LegRequest(lst, start, start + timedelta(hours=2)) for lst in listings)
    async with booking_pool.acquire() as conn, conn.transaction():
        group = await place_group(
            UnitOfWork(conn, OUTBOX), PlaceGroup("guest-cxl", legs, "pm_card_visa")
        )
    gid = uuid.UUID(group["group_id"])
    await booking_pool.execute(
        "UPDATE booking.bookings SET status = 'confirmed', payment_status = 'captured', "
        "payment_id = 'pay_group' WHERE group_id = $1",
        gid,
    )
    await booking_pool.execute(
        "UPDATE booking.checkout_groups SET status = 'confirmed' WHERE group_id = $1", gid
    )
    leg = group["legs"][1]
    async with booking_pool.acquire() as conn, conn.transaction():
        await cancellations.cancel(
            UnitOfWork(conn, OUTBOX),
            cancellations.Cancel(uuid.UUID(leg["booking_id"]), Canceller.GUEST, "guest-cxl"),
        )
    [event] = await _events(booking_pool, leg["booking_id"], "booking.booking_cancelled")
    assert event["group_id"] == group["group_id"]
    assert event["refund"]["payment_id"] == "pay_group"
    assert event["refund"]["amount"] <= leg["amount"]
    statuses = await booking_pool.fetch(
        "SELECT booking_id, status FROM booking.bookings WHERE group_id = $1", gid
    )
    assert sorted(r["status"] for r in statuses) == ["cancelled", "confirmed", "confirmed"]


async def test_a_refund_larger_than_the_checkout_payment_takes_the_rest_from_extra_charges(
    booking_pool: asyncpg.Pool,
) -> None:
    listing_id = await _listing(booking_pool, "flexible")
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=5)
    booking_id = await _confirmed(booking_pool, listing_id, start)
    amount = await booking_pool.fetchval(
        "SELECT amount FROM booking.bookings WHERE booking_id = $1", uuid.UUID(booking_id)
    )
    quote = await booking_pool.fetchval(
        "SELECT quote FROM booking.bookings WHERE booking_id = $1", uuid.UUID(booking_id)
    )
    before = copy.deepcopy(quote)
    base = next(line for line in quote["lines"] if line["code"] == "base")
    base["amount"] += 5000  # an applied increase (untaxed here), paid by an extra charge
    await booking_pool.execute(
        "UPDATE booking.bookings SET amount = amount + 5000, quote = $2 WHERE booking_id = $1",
        uuid.UUID(booking_id),
        quote,
    )
    await booking_pool.execute(
        "INSERT INTO booking.amendments (amendment_id, booking_id, kind, proposed_by, status, "
        "starts_at, ends_at, guests, extras, quote, previous, delta, currency, respond_by, "
        "correlation_id, charge_payment_id) SELECT $2, booking_id, 'change', 'host', "
        "'applied', starts_at, ends_at, 1, '{}', $3, $4, 5000, 'usd', starts_at, "
        "correlation_id, 'pay_extra' FROM booking.bookings WHERE booking_id = $1",
        uuid.UUID(booking_id),
        uuid.uuid4(),
        quote,
        {"quote": before},
    )
    async with booking_pool.acquire() as conn, conn.transaction():
        await cancellations.cancel(
            UnitOfWork(conn, OUTBOX),
            cancellations.Cancel(uuid.UUID(booking_id), Canceller.HOST, "host-cxl"),
        )
    [event] = await _events(booking_pool, booking_id, "booking.booking_cancelled")
    pieces = [event["refund"], *event["additional_refunds"]]
    assert [(p["payment_id"], p["amount"]) for p in pieces] == [
        ("pay_cxl", amount),
        ("pay_extra", 5000),
    ]
    assert all(p["amount"] == p["platform_fee"] + p["host_amount"] for p in pieces)
    # Each payment gives back what it took of each part: the increase was all the host's.
    assert (pieces[1]["platform_fee"], pieces[1]["tax"], pieces[1]["host_amount"]) == (0, 0, 5000)
    assert pieces[0]["platform_fee"] == before["platform_revenue"] + before["tax"]
    assert len({p["refund_id"] for p in pieces}) == 2

    for piece in pieces:  # the booking is refunded once both payments gave back their part
        done = RefundSucceededV1(
            refund_id=piece["refund_id"],
            payment_id=piece["payment_id"],
            booking_id=booking_id,
            amount=piece["amount"],
            currency="usd",
            platform_fee=piece["platform_fee"],
            host_amount=piece["host_amount"],
            host_account_id="acct_cxl",
            method="refund",
        )
        env = make_envelope(done, key="p", producer="payments", correlation_id=uuid.uuid4())
        async with booking_pool.acquire() as conn, conn.transaction():
            await cancellations.on_refund_succeeded(UnitOfWork(conn, OUTBOX), env, done)
        status = await booking_pool.fetchval(
            "SELECT refund_status FROM booking.bookings WHERE booking_id = $1",
            uuid.UUID(booking_id),
        )
        assert status == ("refunded" if piece is pieces[-1] else "pending")
