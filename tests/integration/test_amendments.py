"""Amendments and overtime on the real database: re-pricing, availability, the money moved,
and a failed charge leaving the booking as it was."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from booking.domain.errors import BookingError, ErrorCode
from booking.domain.refunds import Canceller
from booking.features.amendments import service as amendments
from booking.features.amendments import timers as amendment_timers
from booking.features.cancellations import service as cancellations
from booking.features.checkout.service import PlaceBooking, place_booking
from booking.service_layer.handlers import BookingHandlers
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.outbox import Outbox
from marketplace_contracts import make_envelope
from marketplace_contracts.events.payments import PaymentCapturedV2, PaymentFailedV1, PaymentSplit
from tests.support.esign_fake import TrailOnlyProvider

pytestmark = pytest.mark.integration
OUTBOX = Outbox("booking", producer="booking")
GUEST = amendments.Actor(Canceller.GUEST, "guest-am")
HOST = amendments.Actor(Canceller.HOST, "host-am")


async def _listing(pool: asyncpg.Pool) -> str:
    listing_id = f"lst_am_{uuid.uuid4().hex[:8]}"
    await pool.execute(
        "INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, hourly_rate,"
        " currency, platform_fee_bps, cancellation_policy, guest_service_fee_bps, "
        "overtime_hourly_rate) VALUES ($1, 'host-am', 'acct_am', 'Am', 6000, 'usd', 1000, "
        "'flexible', 1000, 9000)",
        listing_id,
    )
    return listing_id


async def _confirmed(pool: asyncpg.Pool, listing_id: str, start: datetime, hours: int = 3) -> str:
    cmd = PlaceBooking(
        "guest-am", listing_id, start, start + timedelta(hours=hours), "pm_card_visa"
    )
    async with pool.acquire() as conn, conn.transaction():
        booking = await place_booking(UnitOfWork(conn, OUTBOX), cmd)
    await pool.execute(
        "UPDATE booking.bookings SET status = 'confirmed', payment_status = 'captured', "
        "payment_id = 'pay_am' WHERE booking_id = $1",
        uuid.UUID(booking["booking_id"]),
    )
    return str(booking["booking_id"])


async def _booking(pool: asyncpg.Pool, booking_id: str) -> asyncpg.Record:
    return await pool.fetchrow(
        "SELECT starts_at, ends_at, amount, platform_fee, quote FROM booking.bookings "
        "WHERE booking_id = $1",
        uuid.UUID(booking_id),
    )


async def _events(pool: asyncpg.Pool, key: str, event_type: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT payload FROM booking.outbox WHERE key = $1 AND event_type = $2 ORDER BY id",
        key,
        event_type,
    )
    return [json.loads(bytes(r["payload"]))["data"] for r in rows]


async def _run(pool: asyncpg.Pool, call: Any, *args: Any, **kwargs: Any) -> Any:
    async with pool.acquire() as conn, conn.transaction():
        return await call(UnitOfWork(conn, OUTBOX), *args, **kwargs)


def _start() -> datetime:
    return datetime(2034, 9, 1, 9, tzinfo=UTC) + timedelta(days=uuid.uuid4().int % 3000)


async def _proposed(pool: asyncpg.Pool, hours: int) -> tuple[str, datetime, dict[str, Any]]:
    """A confirmed 3-hour booking and the guest's proposal to make it `hours` long."""
    listing_id = await _listing(pool)
    start = _start()
    booking_id = await _confirmed(pool, listing_id, start)
    am = await _run(
        pool,
        amendments.propose_change,
        uuid.UUID(booking_id),
        GUEST,
        ends_at=start + timedelta(hours=hours),
    )
    return booking_id, start, am


async def test_a_shorter_stay_is_applied_with_a_partial_refund(booking_pool: asyncpg.Pool) -> None:
    listing_id = await _listing(booking_pool)
    start = _start()
    booking_id = await _confirmed(booking_pool, listing_id, start)
    before = await _booking(booking_pool, booking_id)
    am = await _run(
        booking_pool,
        amendments.propose_change,
        uuid.UUID(booking_id),
        GUEST,
        ends_at=start + timedelta(hours=2),
    )
    # 3 h -> 2 h at 60.00 with a 10 % service fee: 198.00 -> 132.00.
    assert (am["status"], am["delta"]) == ("proposed", -6_600)
    with pytest.raises(BookingError) as own:  # the proposer cannot accept
        await _run(booking_pool, amendments.accept, uuid.UUID(am["amendment_id"]), GUEST)
    assert own.value.code is ErrorCode.FORBIDDEN
    done = await _run(booking_pool, amendments.accept, uuid.UUID(am["amendment_id"]), HOST)
    assert done["status"] == "applied"
    after = await _booking(booking_pool, booking_id)
    assert after["ends_at"] == start + timedelta(hours=2)
    assert after["amount"] == before["amount"] - 6_600 == 13_200
    [decided] = await _events(booking_pool, booking_id, "booking.amendment_decided")
    refund = decided["refund"]
    assert refund["amount"] == 6_600
    assert refund["amount"] == refund["platform_fee"] + refund["host_amount"]
    assert refund["host_amount"] == 6_000 - 600  # the host's 60.00 less its 10 % fee


async def test_a_longer_stay_is_charged_first_then_applied(booking_pool: asyncpg.Pool) -> None:
    handlers = BookingHandlers(OUTBOX)
    listing_id = await _listing(booking_pool)
    start = _start()
    booking_id = await _confirmed(booking_pool, listing_id, start)
    am = await _run(
        booking_pool,
        amendments.propose_change,
        uuid.UUID(booking_id),
        HOST,
        starts_at=start - timedelta(hours=1),
    )
    assert am["delta"] == 6_600
    charging = await _run(booking_pool, amendments.accept, uuid.UUID(am["amendment_id"]), GUEST)
    assert charging["status"] == "charging"
    cancel = cancellations.Cancel(uuid.UUID(booking_id), Canceller.GUEST, "guest-am", "plans")
    with pytest.raises(BookingError) as waits:  # its refund could not hold the increase yet
        await _run(booking_pool, cancellations.cancel, cancel)
    assert waits.value.code is ErrorCode.AMENDMENT_PENDING
    held = await _booking(booking_pool, booking_id)
    assert (held["starts_at"], held["amount"]) == (start - timedelta(hours=1), 19_800)
    [charge] = await _events(booking_pool, booking_id, "booking.charge_requested")
    assert (charge["amount"], charge["payment_id"]) == (6_600, "pay_am")
    assert charge["charge_request_id"] == f"chg_{am['amendment_id']}"

    captured = PaymentCapturedV2(
        payment_id=f"pay_{charge['charge_request_id']}",
        booking_id=booking_id,
        payment_intent_id="pi_x",
        charge_id="ch_x",
        amount=6_600,
        currency="usd",
        platform_fee=charge["platform_fee"],
        splits=[
            PaymentSplit(
                booking_id=booking_id,
                host_account_id="acct_am",
                amount=6_600,
                platform_fee=charge["platform_fee"],
                host_amount=6_600 - charge["platform_fee"],
            )
        ],
        charge_request_id=charge["charge_request_id"],
    )
    for _ in range(2):
        env = make_envelope(captured, key="p", producer="payments", correlation_id=uuid.uuid4())
        async with booking_pool.acquire() as conn, conn.transaction():
            await handlers.on_payment_captured(UnitOfWork(conn, OUTBOX), env, captured)
    after = await _booking(booking_pool, booking_id)
    assert (after["starts_at"], after["ends_at"]) == (
        start - timedelta(hours=1),
        start + timedelta(hours=3),
    )
    assert after["amount"] == 26_400
    decided = await _events(booking_pool, booking_id, "booking.amendment_decided")
    assert [d["outcome"] for d in decided] == ["applied"] and decided[0]["refund"] is None
    await _run(booking_pool, cancellations.cancel, cancel)  # decided: the refund takes both
    [cancelled] = await _events(booking_pool, booking_id, "booking.booking_cancelled")
    refunds = [cancelled["refund"], *cancelled["additional_refunds"]]
    assert {r["payment_id"] for r in refunds} == {"pay_am", captured.payment_id}


async def test_a_failed_charge_leaves_the_booking_as_it_was(booking_pool: asyncpg.Pool) -> None:
    handlers = BookingHandlers(OUTBOX)
    listing_id = await _listing(booking_pool)
    start = _start()
    booking_id = await _confirmed(booking_pool, listing_id, start)
    before = await _booking(booking_pool, booking_id)
    am = await _run(
        booking_pool,
        amendments.propose_change,
        uuid.UUID(booking_id),
        GUEST,
        ends_at=start + timedelta(hours=5),
    )
    await _run(booking_pool, amendments.accept, uuid.UUID(am["amendment_id"]), HOST)
    failed = PaymentFailedV1(
        payment_id="pay_x",
        booking_id=booking_id,
        code="card_declined",
        decline_code="insufficient_funds",
        charge_request_id=f"chg_{am['amendment_id']}",
    )
    env = make_envelope(failed, key="p", producer="payments", correlation_id=uuid.uuid4())
    async with booking_pool.acquire() as conn, conn.transaction():
        await handlers.on_payment_failed(UnitOfWork(conn, OUTBOX), env, failed)
    after = await _booking(booking_pool, booking_id)
    assert dict(after) == dict(before)
    async with booking_pool.acquire() as conn:
        view = await amendments.view(conn, uuid.UUID(am["amendment_id"]))
    assert view["status"] == "failed" and "card_declined" in view["failure_reason"]
    status = await booking_pool.fetchval(
        "SELECT status FROM booking.bookings WHERE booking_id = $1", uuid.UUID(booking_id)
    )
    assert status == "confirmed"


async def test_concurrent_proposals_one_wins_the_other_is_refused(
    booking_pool: asyncpg.Pool,
) -> None:
    listing_id = await _listing(booking_pool)
    start = _start()
    booking_id = await _confirmed(booking_pool, listing_id, start)

    async def propose(actor: amendments.Actor, hours: int) -> str:
        try:
            await _run(
                booking_pool,
                amendments.propose_change,
                uuid.UUID(booking_id),
                actor,
                ends_at=start + timedelta(hours=hours),
            )
        except BookingError as exc:
            return exc.code
        return "ok"

    results = await asyncio.gather(propose(GUEST, 2), propose(HOST, 4))
    assert sorted(results) == sorted(["ok", ErrorCode.AMENDMENT_PENDING])


async def test_a_change_into_a_taken_slot_is_refused_and_stays_open(
    booking_pool: asyncpg.Pool,
) -> None:
    listing_id = await _listing(booking_pool)
    start = _start()
    booking_id = await _confirmed(booking_pool, listing_id, start)
    await _confirmed(booking_pool, listing_id, start + timedelta(hours=4))
    am = await _run(
        booking_pool,
        amendments.propose_change,
        uuid.UUID(booking_id),
        GUEST,
        ends_at=start + timedelta(hours=5),
    )
    with pytest.raises(BookingError) as refused:
        await _run(booking_pool, amendments.accept, uuid.UUID(am["amendment_id"]), HOST)
    assert refused.value.code is ErrorCode.SLOT_UNAVAILABLE
    async with booking_pool.acquire() as conn:
        view = await amendments.view(conn, uuid.UUID(am["amendment_id"]))
    assert view["status"] == "proposed"  # nothing changed; it can still be rejected
    assert (await _booking(booking_pool, booking_id))["ends_at"] == start + timedelta(hours=3)


async def test_overtime_is_reported_accepted_or_disputed(booking_pool: asyncpg.Pool) -> None:
    listing_id = await _listing(booking_pool)
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=1)
    start = start.replace(minute=0)
    booking_id = await _confirmed(booking_pool, listing_id, start)
    with pytest.raises(BookingError) as early:  # before the end there is no overtime
        await _run(booking_pool, amendments.report_overtime, uuid.UUID(booking_id), "host-am", 60)
    assert early.value.code is ErrorCode.OVERTIME_WINDOW_CLOSED
    await booking_pool.execute(  # the stay is over
        "UPDATE booking.bookings SET starts_at = now() - interval '5 hours', "
        "ends_at = now() - interval '2 hours', status = 'completed' WHERE booking_id = $1",
        uuid.UUID(booking_id),
    )
    with pytest.raises(BookingError) as odd:
        await _run(booking_pool, amendments.report_overtime, uuid.UUID(booking_id), "host-am", 45)
    assert odd.value.code is ErrorCode.VALIDATION_FAILED
    am = await _run(booking_pool, amendments.report_overtime, uuid.UUID(booking_id), "host-am", 60)
    # 1 h at the overtime rate 90.00 plus the 10 % service fee.
    assert (am["kind"], am["delta"]) == ("overtime", 9_900)
    disputed = await _run(
        booking_pool, amendments.dispute, uuid.UUID(am["amendment_id"]), GUEST, "we left on time"
    )
    assert disputed["status"] == "disputed"
    again = await _run(
        booking_pool, amendments.report_overtime, uuid.UUID(booking_id), "host-am", 30
    )
    async with booking_pool.acquire() as conn, conn.transaction():  # not disputed in time
        await amendment_timers.expire_job(OUTBOX, conn, again["amendment_id"], {})
    [charge] = await _events(booking_pool, booking_id, "booking.charge_requested")
    assert charge["amount"] == 4_950 and charge["reason"] == "overtime"


async def test_new_terms_on_a_listing_with_documents_are_signed_before_they_apply(
    booking_pool: asyncpg.Pool,
) -> None:
    from booking.adapters.esign.base import EnvelopeStatus, WebhookEvent
    from booking.features.documents.service import Documents

    documents = Documents(OUTBOX, TrailOnlyProvider(), lambda: booking_pool)  # type: ignore[arg-type]
    listing_id = await _listing(booking_pool)
    await booking_pool.execute(
        "UPDATE booking.listings SET required_documents = $2 WHERE listing_id = $1",
        listing_id,
        [{"document_id": "agreement", "title": "Agreement", "text": "I agree."}],
    )
    for outcome in (EnvelopeStatus.SIGNED, EnvelopeStatus.DECLINED):
        start = _start()
        booking_id = await _confirmed(booking_pool, listing_id, start)
        before = await _booking(booking_pool, booking_id)
        moved = start + timedelta(days=1)  # same length, same price: only the terms change
        am = await _run(
            booking_pool,
            amendments.propose_change,
            uuid.UUID(booking_id),
            GUEST,
            starts_at=moved,
            ends_at=moved + timedelta(hours=3),
        )
        assert (am["delta"], am["needs_signatures"]) == (0, True)
        waiting = await _run(booking_pool, amendments.accept, uuid.UUID(am["amendment_id"]), HOST)
        assert waiting["status"] == "awaiting_signatures"
        # One request at checkout, one for the amendment's new terms.
        _, asked = await _events(booking_pool, booking_id, "booking.signatures_requested")
        assert f"amendment-{am['amendment_id']}" in asked["document_ids"]
        assert (await _booking(booking_pool, booking_id))["starts_at"] == start  # not yet
        envelope = f"env_am_{am['amendment_id']}"
        await booking_pool.execute(  # what the create-amendment-envelope job records
            "UPDATE booking.amendments SET envelope_id = $2 WHERE amendment_id = $1",
            uuid.UUID(am["amendment_id"]),
            envelope,
        )
        for _ in range(2):  # the provider calls back at least once
            await documents.on_envelope_event(WebhookEvent(envelope, outcome, datetime.now(UTC)))
        async with booking_pool.acquire() as conn:
            view = await amendments.view(conn, uuid.UUID(am["amendment_id"]))
        after = await _booking(booking_pool, booking_id)
        if outcome is EnvelopeStatus.SIGNED:
            assert view["status"] == "applied" and after["starts_at"] == moved
        else:
            assert view["status"] == "failed" and dict(after) == dict(before)

    other = await _confirmed(booking_pool, listing_id, _start())
    guests_only = await _run(
        booking_pool, amendments.propose_change, uuid.UUID(other), GUEST, guests=2
    )
    assert guests_only["needs_signatures"] is False  # the time, hence the agreement, is the same


async def test_an_amendment_refund_outcome_shows_on_the_amendment_only(
    booking_pool: asyncpg.Pool,
) -> None:
    from marketplace_contracts.events.payments import RefundFailedV1, RefundSucceededV1

    booking_id, _, am = await _proposed(booking_pool, hours=2)
    applied = await _run(booking_pool, amendments.accept, uuid.UUID(am["amendment_id"]), HOST)
    assert applied["refund_status"] == "pending"
    refund = f"rf_{am['amendment_id']}"
    failed = RefundFailedV1(
        refund_id=refund,
        payment_id="pay_am",
        booking_id=booking_id,
        amount=6_600,
        currency="usd",
        code="api_error",
        message="down",
        attempts=4,
    )
    succeeded = RefundSucceededV1(
        refund_id=refund,
        payment_id="pay_am",
        booking_id=booking_id,
        amount=6_600,
        currency="usd",
        platform_fee=1_200,
        host_amount=5_400,
        host_account_id="acct_am",
        method="refund",
    )
    for event, handler, expected in (
        (failed, cancellations.on_refund_failed, "failed"),
        (succeeded, cancellations.on_refund_succeeded, "refunded"),  # ops retried it
    ):
        env = make_envelope(event, key="p", producer="payments", correlation_id=uuid.uuid4())
        async with booking_pool.acquire() as conn, conn.transaction():
            await handler(UnitOfWork(conn, OUTBOX), env, event)  # type: ignore[operator]
        async with booking_pool.acquire() as conn:
            assert (await amendments.view(conn, uuid.UUID(am["amendment_id"])))[
                "refund_status"
            ] == expected
    row = await booking_pool.fetchrow(
        "SELECT status, refund_status FROM booking.bookings WHERE booking_id = $1",
        uuid.UUID(booking_id),
    )
    assert (row["status"], row["refund_status"]) == ("confirmed", "none")  # untouched


async def test_a_cancelled_bookings_open_change_expires_with_it(booking_pool: asyncpg.Pool) -> None:
    booking_id, _, am = await _proposed(booking_pool, hours=4)
    amendment_id = uuid.UUID(am["amendment_id"])
    cancel = cancellations.Cancel(uuid.UUID(booking_id), Canceller.GUEST, "guest-am", "plans")
    await _run(booking_pool, cancellations.cancel, cancel)
    async with booking_pool.acquire() as conn:
        shown = await amendments.view(conn, amendment_id)
    assert (shown["status"], shown["failure_reason"]) == ("expired", "the booking was cancelled")
    [decided] = await _events(booking_pool, booking_id, "booking.amendment_decided")
    assert (decided["outcome"], decided["refund"]) == ("expired", None)
    timer = await booking_pool.fetchval(
        "SELECT status FROM booking.scheduled_jobs WHERE kind = 'amendment_expiry' "
        "AND subject_id = $1",
        str(amendment_id),
    )
    assert timer == "cancelled"
    with pytest.raises(BookingError) as late:  # nothing left to answer
        await _run(booking_pool, amendments.accept, amendment_id, HOST)
    assert late.value.code is ErrorCode.ILLEGAL_TRANSITION
