"""Security deposits and damage claims on the real database, booking and payments together, with
the in-process Stripe simulator: the SetupIntent at checkout, claims accepted, contested and
decided, unanswered, refused, a declined off-session charge, and the deposit's release.

Booking's use cases and handlers run on the test database and write to booking's outbox; the
events they emit are handed, as the bytes they were stored as, to payments' routing table (the
shared harness: private outbox and inbox, the consumer's MessageProcessor), whose answers are
handed back to booking's handlers. No relay or Kafka is involved.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka.structs import ConsumerRecord

from booking.config import claim_windows
from booking.domain.errors import BookingError, ErrorCode
from booking.features.checkout.service import PlaceBooking, place_booking
from booking.features.claims import service as claims
from booking.features.claims import timers as claim_timers
from booking.features.receipts import service as receipts
from booking.features.receipts.views import receipt_html
from booking.service_layer.handlers import BookingHandlers
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.consumer import MessageProcessor
from eventkit.outbox import Outbox
from marketplace_contracts import Envelope, decode_data
from marketplace_contracts.events.booking import CheckoutRequestedV1
from marketplace_contracts.events.payments import (
    PaymentCapturedV2,
    PaymentFailedV1,
)
from payments.domain.ids import charge_payment_id, checkout_payment_id
from tests.support.payments_harness import (
    PaymentsHarness,
    payments_harness,
    stripe_get,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning"),
]
OUTBOX = Outbox("booking", producer="booking")
HANDLERS = BookingHandlers(OUTBOX)
DEPOSIT = 30_000
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
async def payments(pg_ready: None, sim: httpx.AsyncClient) -> AsyncIterator[PaymentsHarness]:
    async with payments_harness(str(sim.base_url)) as harness:
        yield harness
        await harness.pool.execute(
            "DELETE FROM payments.deposits WHERE booking_id = ANY($1::text[])", harness.subjects
        )


# -- helpers -----------------------------------------------------------------------------------
async def _listing(pool: asyncpg.Pool, deposit: int = DEPOSIT) -> str:
    listing_id = f"lst_dep_{uuid.uuid4().hex[:8]}"
    await pool.execute(
        "INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, hourly_rate,"
        " currency, platform_fee_bps, cancellation_policy, deposit_amount) "
        "VALUES ($1, 'host-dep', 'acct_dep', 'Deposit', 5000, 'usd', 1000, 'flexible', $2)",
        listing_id,
        deposit,
    )
    return listing_id


async def _booking_events(pool: asyncpg.Pool, booking_id: str, kind: str) -> list[Envelope]:
    rows = await pool.fetch(
        "SELECT payload FROM booking.outbox WHERE key = $1 AND event_type = $2 ORDER BY id",
        booking_id,
        kind,
    )
    return [Envelope.from_bytes(bytes(r["payload"])) for r in rows]


async def _to_booking(pool: asyncpg.Pool, handler: Any, env: Envelope) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await handler(UnitOfWork(conn, OUTBOX), env, decode_data(env))


async def _run(pool: asyncpg.Pool, call: Any, *args: Any, **kwargs: Any) -> Any:
    async with pool.acquire() as conn, conn.transaction():
        return await call(UnitOfWork(conn, OUTBOX), *args, **kwargs)


async def _ended_booking(
    pool: asyncpg.Pool, payments: PaymentsHarness, *, deposit: int = DEPOSIT
) -> str:
    """A booking of a listing with a deposit: checked out through payments (SetupIntent, then
    the charge at checkout), confirmed on its capture, then moved to have ended an hour ago."""
    listing_id = await _listing(pool, deposit)
    start = datetime(2035, 1, 1, 10, tzinfo=UTC) + timedelta(days=uuid.uuid4().int % 3000)
    cmd = PlaceBooking(
        f"guest-dep-{uuid.uuid4().hex[:6]}",
        listing_id,
        start,
        start + timedelta(hours=2),
        "pm_card_visa",
    )
    async with pool.acquire() as conn, conn.transaction():
        booking_id = (await place_booking(UnitOfWork(conn, OUTBOX), cmd))["booking_id"]
    payments.subjects.append(booking_id)
    [checkout] = await _booking_events(pool, booking_id, "booking.checkout_requested")
    assert await payments.consume(checkout, booking_id) == "handled"
    payment_id = checkout_payment_id(booking_id)
    [captured] = await payments.envelopes(payment_id)
    await _to_booking(pool, HANDLERS.on_payment_captured, captured)
    [confirmed] = await _booking_events(pool, booking_id, "booking.booking_confirmed")
    assert await payments.consume(confirmed, booking_id) == "ignored"  # captured already
    await pool.execute(
        "UPDATE booking.bookings SET starts_at = now() - interval '3 hours', "
        "ends_at = now() - interval '1 hour' WHERE booking_id = $1",
        uuid.UUID(booking_id),
    )
    return booking_id


async def _file(pool: asyncpg.Pool, booking_id: str, amount: int, **kw: Any) -> dict[str, Any]:
    return await _run(  # type: ignore[no-any-return]
        pool,
        claims.file_claim,
        uuid.UUID(booking_id),
        "host-dep",
        amount,
        "a broken mirror",
        kw.pop("evidence", [claims.Evidence("mirror.png", "image/png", PNG)]),
        **kw,
    )


async def _charge_through_payments(
    pool: asyncpg.Pool, payments: PaymentsHarness, booking_id: str, request_id: str
) -> list[Any]:
    """Hand the claim's charge request to payments (twice: a redelivery) and its answer back
    to booking (twice); payments' events of that charge."""
    [request] = [
        e
        for e in await _booking_events(pool, booking_id, "booking.charge_requested")
        if e.data["charge_request_id"] == request_id
    ]
    assert await payments.consume(request, booking_id) == "handled"
    assert await payments.consume(request, booking_id) == "duplicate"
    answers = await payments.envelopes(charge_payment_id(request_id))
    assert len(answers) == 1
    for _ in range(2):
        handler = (
            HANDLERS.on_payment_captured
            if answers[0].type == "payments.payment_captured"
            else HANDLERS.on_payment_failed
        )
        await _to_booking(pool, handler, answers[0])
    return [decode_data(e) for e in answers]


async def _created_intents(sim: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Every PaymentIntent the simulator created, oldest first, as it is now."""
    events = await stripe_get(sim, "/v1/events", type="payment_intent.created", limit="100")
    ids = [e["data"]["object"]["id"] for e in reversed(events["data"])]
    return [await stripe_get(sim, f"/v1/payment_intents/{i}") for i in ids]


async def _customer_intents(sim: httpx.AsyncClient, customer: str) -> list[dict[str, Any]]:
    return [i for i in await _created_intents(sim) if i["customer"] == customer]


async def _claim_view(pool: asyncpg.Pool, claim_id: str) -> dict[str, Any]:
    async with pool.acquire() as conn:
        return await claims.view(conn, uuid.UUID(claim_id))


# -- the SetupIntent at checkout ---------------------------------------------------------------
async def test_a_deposit_checkout_saves_the_card_with_a_setup_intent_then_charges_it(
    booking_pool: asyncpg.Pool, payments: PaymentsHarness, sim: httpx.AsyncClient
) -> None:
    booking_id = await _ended_booking(booking_pool, payments)
    [checkout] = await _booking_events(booking_pool, booking_id, "booking.checkout_requested")
    assert checkout.data["deposit_amount"] == DEPOSIT
    booking = await booking_pool.fetchrow(
        "SELECT deposit_amount, status FROM booking.bookings WHERE booking_id = $1",
        uuid.UUID(booking_id),
    )
    assert (booking["deposit_amount"], booking["status"]) == (DEPOSIT, "confirmed")

    payment_id = checkout_payment_id(booking_id)
    captured = decode_data((await payments.envelopes(payment_id))[0])
    assert isinstance(captured, PaymentCapturedV2)
    deposit = await payments.pool.fetchrow(
        "SELECT * FROM payments.deposits WHERE payment_id = $1", payment_id
    )
    assert deposit is not None
    assert (deposit["amount"], deposit["status"], deposit["booking_id"]) == (
        DEPOSIT,
        "secured",
        booking_id,
    )
    setup = await stripe_get(sim, f"/v1/setup_intents/{deposit['setup_intent_id']}")
    assert (setup["status"], setup["usage"], setup["customer"]) == (
        "succeeded",
        "off_session",
        deposit["customer_id"],
    )
    assert setup["payment_method"] == deposit["payment_method"]
    # ... and the booking's own charge at checkout (an Instant Book), as usual.
    payment = await payments.payment(payment_id)
    intent = await stripe_get(sim, f"/v1/payment_intents/{payment['payment_intent_id']}")
    assert (intent["capture_method"], intent["status"], intent["amount"]) == (
        "automatic",
        "succeeded",
        payment["amount"],
    )
    # Nothing of the deposit was charged: the customer's only intent is the booking's.
    assert [i["id"] for i in await _customer_intents(sim, deposit["customer_id"])] == [intent["id"]]


async def test_a_card_that_cannot_be_saved_fails_the_checkout_and_holds_nothing(
    payments: PaymentsHarness, sim: httpx.AsyncClient
) -> None:
    booking_id = str(uuid.uuid4())
    payments.subjects.append(booking_id)
    request = CheckoutRequestedV1(
        booking_id=booking_id,
        guest_id=f"guest-{uuid.uuid4().hex[:6]}",
        listing_id="lst_dep",
        host_id="host-dep",
        host_account_id="acct_dep",
        starts_at=datetime(2035, 1, 1, tzinfo=UTC),
        ends_at=datetime(2035, 1, 1, 2, tzinfo=UTC),
        amount=11_000,
        currency="usd",
        platform_fee=1_000,
        payment_method="pm_card_chargeDeclined",
        deposit_amount=DEPOSIT,
    )
    assert await payments.consume(request, booking_id) == "handled"
    payment_id = checkout_payment_id(booking_id)
    [failed] = await payments.emitted(payment_id)
    assert isinstance(failed, PaymentFailedV1)
    assert failed.code == "card_declined"
    row = await payments.payment(payment_id)
    assert (row["status"], row["payment_intent_id"]) == ("failed", None)
    assert (
        await payments.pool.fetchval(
            "SELECT count(*) FROM payments.deposits WHERE payment_id = $1", payment_id
        )
        == 0
    )
    intents = await _created_intents(sim)
    assert not [i for i in intents if i["metadata"].get("booking_id") == booking_id]


# -- claims --------------------------------------------------------------------------------------
async def test_an_accepted_claim_is_charged_once_off_session_on_the_deposit_card(
    booking_pool: asyncpg.Pool, payments: PaymentsHarness, sim: httpx.AsyncClient
) -> None:
    booking_id = await _ended_booking(booking_pool, payments)
    claim = await _file(booking_pool, booking_id, 12_345)
    assert (claim["status"], claim["amount"], len(claim["evidence"])) == ("open", 12_345, 1)
    assert claim["evidence"][0]["size"] == len(PNG)
    [filed] = await _booking_events(booking_pool, booking_id, "booking.claim_filed")
    assert (filed.data["amount"], filed.data["evidence_count"]) == (12_345, 1)

    with pytest.raises(BookingError) as stranger:
        await _run(booking_pool, claims.accept, uuid.UUID(claim["claim_id"]), "someone-else")
    assert stranger.value.code is ErrorCode.CLAIM_NOT_FOUND
    charging = await _run(
        booking_pool, claims.accept, uuid.UUID(claim["claim_id"]), claim["guest_id"]
    )
    assert (charging["status"], charging["decided_amount"]) == ("charging", 12_345)
    [decided] = await _booking_events(booking_pool, booking_id, "booking.claim_decided")
    assert (decided.data["outcome"], decided.data["decided_by"], decided.data["amount"]) == (
        "accepted",
        "guest",
        12_345,
    )
    request_id = claims.charge_request_id(claim["claim_id"])
    assert decided.data["charge_request_id"] == request_id
    [request] = await _booking_events(booking_pool, booking_id, "booking.charge_requested")
    assert (request.data["reason"], request.data["platform_fee"], request.data["tax"]) == (
        "deposit_claim",
        0,
        0,
    )

    [captured] = await _charge_through_payments(booking_pool, payments, booking_id, request_id)
    assert isinstance(captured, PaymentCapturedV2) and captured.purpose == "deposit_claim"
    # The request named the claim, and payments' answer names it back: booking routes on it.
    assert request.data["subject_id"] == captured.subject_id == claim["claim_id"]
    assert captured.transfer_group == booking_id  # the host's share: a transfer finance releases
    assert (captured.amount, captured.platform_fee, captured.charge_request_id) == (
        12_345,
        0,
        request_id,
    )
    assert captured.splits[0].host_amount == 12_345
    done = await _claim_view(booking_pool, claim["claim_id"])
    assert (done["status"], done["charge_payment_id"]) == ("charged", captured.payment_id)

    # Stripe: one off-session charge of exactly the amount, on the card saved for the deposit.
    deposit = await payments.pool.fetchrow(
        "SELECT * FROM payments.deposits WHERE payment_id = $1", checkout_payment_id(booking_id)
    )
    intents = await _customer_intents(sim, deposit["customer_id"])
    claimed = [i for i in intents if i["metadata"].get("charge_request_id") == request_id]
    assert len(claimed) == 1
    assert (claimed[0]["amount"], claimed[0]["status"], claimed[0]["payment_method"]) == (
        12_345,
        "succeeded",
        deposit["payment_method"],
    )
    assert claimed[0]["metadata"]["reason"] == "deposit_claim"
    # The guest's receipt names the damage claim.
    async with booking_pool.acquire() as conn:
        receipt = await receipts.get_for(conn, f"rcpt_{captured.payment_id}", None)
    assert (receipt["kind"], receipt["amount"]) == ("extra_charge", 12_345)
    assert [line["code"] for line in receipt["lines"]] == ["deposit_claim"]
    assert "damage claim" in receipt_html(receipt)


async def test_a_contested_claim_decided_lower_by_an_admin_is_charged_that(
    booking_pool: asyncpg.Pool, payments: PaymentsHarness, sim: httpx.AsyncClient
) -> None:
    booking_id = await _ended_booking(booking_pool, payments)
    claim = await _file(booking_pool, booking_id, 20_000)
    claim_id = uuid.UUID(claim["claim_id"])
    with pytest.raises(BookingError) as early:  # an admin decides contested claims only
        await _run(booking_pool, claims.decide, claim_id, 5_000)
    assert early.value.code is ErrorCode.ILLEGAL_TRANSITION
    contested = await _run(booking_pool, claims.contest, claim_id, claim["guest_id"], "was broken")
    assert (contested["status"], contested["contest_reason"]) == ("contested", "was broken")
    assert not await _booking_events(booking_pool, booking_id, "booking.charge_requested")
    with pytest.raises(BookingError) as too_much:
        await _run(booking_pool, claims.decide, claim_id, 20_001)
    assert too_much.value.code is ErrorCode.VALIDATION_FAILED
    decided = await _run(booking_pool, claims.decide, claim_id, 7_500, "half the mirror")
    assert (decided["status"], decided["decided_amount"], decided["decided_by"]) == (
        "charging",
        7_500,
        "admin",
    )
    [event] = await _booking_events(booking_pool, booking_id, "booking.claim_decided")
    assert (event.data["outcome"], event.data["amount"]) == ("decided", 7_500)
    request_id = claims.charge_request_id(claim_id)
    [captured] = await _charge_through_payments(booking_pool, payments, booking_id, request_id)
    assert captured.amount == 7_500
    assert (await _claim_view(booking_pool, str(claim_id)))["status"] == "charged"
    customer = (await payments.payment(checkout_payment_id(booking_id)))["customer_id"]
    amounts = [
        i["amount"]
        for i in await _customer_intents(sim, customer)
        if i["metadata"].get("reason") == "deposit_claim"
    ]
    assert amounts == [7_500]


async def test_an_unanswered_claim_waits_for_an_admin_and_late_answers_are_refused(
    booking_pool: asyncpg.Pool, payments: PaymentsHarness
) -> None:
    booking_id = await _ended_booking(booking_pool, payments)
    claim = await _file(booking_pool, booking_id, 1_000)
    claim_id = uuid.UUID(claim["claim_id"])
    respond_by = datetime.fromisoformat(claim["respond_by"])
    late = respond_by + timedelta(seconds=1)
    with pytest.raises(BookingError) as closed:
        await _run(booking_pool, claims.accept, claim_id, claim["guest_id"], now=late)
    assert closed.value.code is ErrorCode.CLAIM_RESPONSE_WINDOW_CLOSED
    job = await booking_pool.fetchrow(
        "SELECT due_at, status FROM booking.scheduled_jobs WHERE kind = $1 AND subject_id = $2",
        claim_timers.CLAIM_RESPONSE_EXPIRY,
        str(claim_id),
    )
    assert (job["due_at"], job["status"]) == (respond_by, "pending")
    async with booking_pool.acquire() as conn, conn.transaction():
        await claim_timers.expire_response(OUTBOX, conn, str(claim_id), {})
    assert (await _claim_view(booking_pool, str(claim_id)))["status"] == "awaiting_admin"
    with pytest.raises(BookingError) as answered:
        await _run(booking_pool, claims.contest, claim_id, claim["guest_id"], "too late")
    assert answered.value.code is ErrorCode.ILLEGAL_TRANSITION
    dismissed = await _run(booking_pool, claims.decide, claim_id, 0, "no evidence of damage")
    assert dismissed["status"] == "dismissed"
    assert not await _booking_events(booking_pool, booking_id, "booking.charge_requested")


async def test_claims_over_the_deposit_outside_the_window_or_concurrent_are_refused(
    booking_pool: asyncpg.Pool, payments: PaymentsHarness
) -> None:
    booking_id = await _ended_booking(booking_pool, payments)

    async def refused(amount: int, **kw: Any) -> ErrorCode:
        with pytest.raises(BookingError) as err:
            await _file(booking_pool, booking_id, amount, **kw)
        return err.value.code

    assert await refused(DEPOSIT + 1) is ErrorCode.CLAIM_EXCEEDS_DEPOSIT
    now = datetime.now(UTC)
    assert await refused(100, now=now - timedelta(hours=2)) is ErrorCode.CLAIM_WINDOW_CLOSED
    assert await refused(100, now=now + timedelta(hours=72)) is ErrorCode.CLAIM_WINDOW_CLOSED
    bad = [claims.Evidence("x.exe", "application/octet-stream", b"MZ")]
    assert await refused(100, evidence=bad) is ErrorCode.EVIDENCE_INVALID
    first = await _file(booking_pool, booking_id, 10_000)
    assert await refused(100) is ErrorCode.CLAIM_OPEN
    # Withdrawn, the next claim may take what is left of the whole deposit again.
    await _run(booking_pool, claims.withdraw, uuid.UUID(first["claim_id"]), "host-dep")
    second = await _file(booking_pool, booking_id, DEPOSIT)
    assert second["status"] == "open"
    # A booking without a deposit has no claims.
    no_deposit = await _ended_booking(booking_pool, payments, deposit=0)
    with pytest.raises(BookingError) as none:
        await _file(booking_pool, no_deposit, 100)
    assert none.value.code is ErrorCode.NO_DEPOSIT


async def test_a_declined_off_session_charge_leaves_the_claim_charge_failed(
    booking_pool: asyncpg.Pool, payments: PaymentsHarness, sim: httpx.AsyncClient
) -> None:
    booking_id = await _ended_booking(booking_pool, payments)
    customer = (await payments.payment(checkout_payment_id(booking_id)))["customer_id"]
    (
        await sim.post(
            f"/_sim/customers/{customer}/fail_next_off_session",
            json={"code": "card_declined", "decline_code": "insufficient_funds", "count": 1},
        )
    ).raise_for_status()
    claim = await _file(booking_pool, booking_id, 4_000)
    await _run(booking_pool, claims.accept, uuid.UUID(claim["claim_id"]), claim["guest_id"])
    request_id = claims.charge_request_id(claim["claim_id"])
    [failed] = await _charge_through_payments(booking_pool, payments, booking_id, request_id)
    assert isinstance(failed, PaymentFailedV1) and failed.purpose == "deposit_claim"
    assert failed.subject_id == claim["claim_id"]
    view = await _claim_view(booking_pool, claim["claim_id"])
    assert view["status"] == "charge_failed"
    assert view["failure_reason"].startswith("card_declined")
    # The window is still open: the deposit is held, and an admin may retry (a new request).
    retried = await _run(booking_pool, claims.retry, uuid.UUID(claim["claim_id"]))
    assert (retried["status"], retried["charge_request_id"]) == ("charging", f"{request_id}_2")
    [captured] = await _charge_through_payments(
        booking_pool, payments, booking_id, f"{request_id}_2"
    )
    assert isinstance(captured, PaymentCapturedV2) and captured.amount == 4_000
    assert (await _claim_view(booking_pool, claim["claim_id"]))["status"] == "charged"


# -- the deposit's release ------------------------------------------------------------------------
async def _released(pool: asyncpg.Pool, booking_id: str) -> list[dict[str, Any]]:
    return [e.data for e in await _booking_events(pool, booking_id, "booking.deposit_released")]


async def _consume_batched(payments: PaymentsHarness, env: Envelope, key: str) -> dict[str, int]:
    """A route without `prepare` (applied in batches) through the consumer's MessageProcessor
    with the harness's inbox: its outcomes."""
    processor = MessageProcessor(
        payments.pool,
        "payments",
        payments.router,
        payments.dead_letters,  # type: ignore[arg-type]
        max_attempts=3,
        backoff_base=0.01,
        inbox_table=payments.inbox,
    )
    value = env.to_bytes()
    payments.offset += 1
    record = ConsumerRecord(
        "booking.events", 0, payments.offset, 0, 0, key.encode(), value, None, 0, len(value), []
    )
    await processor.process([record])
    return {k: v for k, v in processor.outcomes.items() if v}


async def _release_timer(pool: asyncpg.Pool, booking_id: str) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await claim_timers.release_job(OUTBOX, conn, booking_id, {})


async def test_no_claim_releases_the_deposit_once_and_payments_records_it(
    booking_pool: asyncpg.Pool, payments: PaymentsHarness
) -> None:
    booking_id = await _ended_booking(booking_pool, payments)
    # Completion schedules the release at the end of the claim window.
    await booking_pool.execute(
        "UPDATE booking.scheduled_jobs SET due_at = now() WHERE kind = 'booking_completion' "
        "AND subject_id = $1",
        booking_id,
    )
    async with booking_pool.acquire() as conn, conn.transaction():
        await HANDLERS.complete(conn, booking_id, {})
    due = await booking_pool.fetchval(
        "SELECT due_at FROM booking.scheduled_jobs WHERE kind = $1 AND subject_id = $2",
        claim_timers.DEPOSIT_RELEASE,
        booking_id,
    )
    ends_at = await booking_pool.fetchval(
        "SELECT ends_at FROM booking.bookings WHERE booking_id = $1", uuid.UUID(booking_id)
    )
    assert due == ends_at + claim_windows().claim  # the settings' default, as HANDLERS has it
    for _ in range(2):  # a second firing emits nothing
        await _release_timer(booking_pool, booking_id)
    [released] = await _released(booking_pool, booking_id)
    assert (released["reason"], released["amount"], released["charged"]) == (
        "no_claim",
        DEPOSIT,
        0,
    )
    with pytest.raises(BookingError) as after:
        await _file(booking_pool, booking_id, 100)
    assert after.value.code is ErrorCode.DEPOSIT_RELEASED
    [env] = await _booking_events(booking_pool, booking_id, "booking.deposit_released")
    assert await _consume_batched(payments, env, booking_id) == {"handled": 1}
    assert await _consume_batched(payments, env, booking_id) == {"duplicate": 1}
    deposit = await payments.pool.fetchrow(
        "SELECT status, charged, release_reason FROM payments.deposits WHERE booking_id = $1",
        booking_id,
    )
    assert tuple(deposit) == ("released", 0, "no_claim")


async def test_an_open_claim_holds_the_release_until_it_ends(
    booking_pool: asyncpg.Pool, payments: PaymentsHarness
) -> None:
    booking_id = await _ended_booking(booking_pool, payments)
    claim = await _file(booking_pool, booking_id, 9_000)
    await _run(booking_pool, claims.accept, uuid.UUID(claim["claim_id"]), claim["guest_id"])
    await _release_timer(booking_pool, booking_id)  # the window ends while it is charging
    assert not await _released(booking_pool, booking_id)
    await _charge_through_payments(
        booking_pool, payments, booking_id, claims.charge_request_id(claim["claim_id"])
    )
    # Charged before the window's end: still held (another claim could come).
    assert not await _released(booking_pool, booking_id)
    await booking_pool.execute(
        "UPDATE booking.bookings SET ends_at = now() - interval '73 hours', "
        "starts_at = now() - interval '75 hours' WHERE booking_id = $1",
        uuid.UUID(booking_id),
    )
    second = await _file(booking_pool, booking_id, 100, now=datetime.now(UTC) - timedelta(hours=2))
    await _run(booking_pool, claims.withdraw, uuid.UUID(second["claim_id"]), "host-dep")
    [released] = await _released(booking_pool, booking_id)
    assert (released["reason"], released["charged"]) == ("claim_settled", 9_000)
    view = await booking_pool.fetchrow(
        "SELECT deposit_charged, deposit_release_reason FROM booking.bookings "
        "WHERE booking_id = $1",
        uuid.UUID(booking_id),
    )
    assert tuple(view) == (9_000, "claim_settled")
    await _release_timer(booking_pool, booking_id)
    assert len(await _released(booking_pool, booking_id)) == 1


async def test_a_cancelled_booking_releases_its_deposit(
    booking_pool: asyncpg.Pool, payments: PaymentsHarness
) -> None:
    from booking.domain.refunds import Canceller
    from booking.features.cancellations import service as cancellations

    booking_id = await _ended_booking(booking_pool, payments)
    await booking_pool.execute(  # back before its start
        "UPDATE booking.bookings SET starts_at = now() + interval '30 days', "
        "ends_at = now() + interval '30 days 2 hours' WHERE booking_id = $1",
        uuid.UUID(booking_id),
    )
    cmd = cancellations.Cancel(uuid.UUID(booking_id), Canceller.ADMIN, None)
    async with booking_pool.acquire() as conn, conn.transaction():
        await cancellations.cancel(UnitOfWork(conn, OUTBOX), cmd)
    [released] = await _released(booking_pool, booking_id)
    assert (released["reason"], released["charged"]) == ("booking_cancelled", 0)
    assert json.dumps(released)  # a plain event body


async def test_trust_staff_decide_a_contested_claim_over_http_and_guests_and_hosts_may_not(
    booking_pool: asyncpg.Pool, payments: PaymentsHarness
) -> None:
    from types import SimpleNamespace

    from booking.bootstrap import build_app, build_runtime
    from booking.config import BookingSettings
    from eventkit.auth import DEV_JWT_SECRET, issue_token

    booking_id = await _ended_booking(booking_pool, payments)
    claim = await _file(booking_pool, booking_id, 5_000)
    claim_id = uuid.UUID(claim["claim_id"])
    await _run(booking_pool, claims.contest, claim_id, claim["guest_id"], "it was cracked")
    app = build_app(build_runtime(BookingSettings()))
    app.state.runtime = SimpleNamespace(db=booking_pool)  # no lifespan: HTTP + database only
    path, body = f"/v1/claims/{claim_id}/decide", {"amount": 0, "note": "old crack"}

    def bearer(sub: str, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(DEV_JWT_SECRET, sub, role)}"}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as gw:
        for sub, role in ((claim["guest_id"], "guest"), ("host-dep", "host")):
            refused = await gw.post(path, json=body, headers=bearer(sub, role))
            assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
        decided = await gw.post(path, json=body, headers=bearer("tom@example.com", "trust"))
    assert decided.status_code == 200, decided.text
    assert (decided.json()["status"], decided.json()["decided_by"]) == ("dismissed", "trust")
    [event] = await _booking_events(booking_pool, booking_id, "booking.claim_decided")
    assert (event.data["outcome"], event.data["amount"], event.data["decided_by"]) == (
        "decided",
        0,
        "trust",
    )
