"""Renewing an authorization that nears its limit: the sweeper reports it, booking asks for a
renewal (policy `reauthorize`), payments authorizes again off-session on the saved card
(the in-process Stripe simulator), swaps the payment to the new intent, and cancels the old one
after the grace period; a decline is announced and booking releases. A capture afterwards takes
the new authorization, exactly once.

Payments runs with its routing table and handlers on the test database, writing to a private
outbox (see `tests/support/payments_harness.py`).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from booking.features.checkout.service import PlaceBooking, place_booking
from booking.service_layer.handlers import BookingHandlers
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.outbox import Outbox
from marketplace_contracts import make_envelope
from marketplace_contracts.events.booking import (
    BookingConfirmedV1,
    BookingFailedV1,
    CheckoutRequestedV1,
    ReauthorizationRequestedV1,
)
from marketplace_contracts.events.payments import (
    AuthorizationExpiringV1,
    PaymentCapturedV2,
    PaymentReauthorizedV1,
    PaymentVoidedV1,
    ReauthorizationFailedV1,
)
from payments.domain.ids import checkout_payment_id
from payments.service_layer.authorization_expiry import sweep
from payments.service_layer.reauthorization import cancel_replaced
from tests.support.payments_harness import (
    PaymentsHarness,
    only,
    payments_harness,
    reset_simulator,
    stripe_get,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning"),
]

BOOKING = Outbox("booking", producer="booking")
DAY = timedelta(days=1)
HOST = "acct_1ReauthHost"
AMOUNT, FEE = 12_000, 1_800


def _checkout(booking_id: str, payment_method: str = "pm_card_visa") -> CheckoutRequestedV1:
    start = datetime(2035, 3, 1, 10, tzinfo=UTC)
    return CheckoutRequestedV1(
        booking_id=booking_id,
        guest_id=f"guest-{booking_id[-6:]}",
        listing_id="lst_reauth",
        host_id="host-reauth",
        host_account_id=HOST,
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        amount=AMOUNT,
        currency="usd",
        platform_fee=FEE,
        payment_method=payment_method,
    )


async def _authorized(payments: PaymentsHarness, payment_method: str = "pm_card_visa") -> str:
    booking_id = str(uuid.uuid4())
    payments.subjects.append(booking_id)
    await payments.deliver(_checkout(booking_id, payment_method), booking_id)
    payment_id = checkout_payment_id(booking_id)
    assert (await payments.payment(payment_id))["status"] == "authorized"
    # Authorized 6 days and a bit ago: the sweeper reports it (7-day limit, 1-day margin).
    await payments.pool.execute(
        "UPDATE payments.payments SET created_at = now() - interval '6 days 1 hour' "
        "WHERE payment_id = $1",
        payment_id,
    )
    return payment_id


async def _expiring(payments: PaymentsHarness, payment_id: str) -> AuthorizationExpiringV1:
    outbox = Outbox("payments", "payments", payments.outbox)
    async with payments.pool.acquire() as conn:
        await sweep(conn, outbox, lifetime=7 * DAY, margin=DAY)
    [event] = only(await payments.emitted(payment_id), AuthorizationExpiringV1)
    return event


def _renewal(event: AuthorizationExpiringV1) -> ReauthorizationRequestedV1:
    assert event.payment_intent_id is not None
    return ReauthorizationRequestedV1(
        booking_id=event.booking_id,
        payment_id=event.payment_id,
        expiring_payment_intent_id=event.payment_intent_id,
    )


async def test_a_renewed_authorization_replaces_the_old_one_and_is_the_one_captured(
    sim_base: str,
) -> None:
    async with reset_simulator(sim_base) as sim, payments_harness(sim_base) as payments:
        payment_id = await _authorized(payments)
        old = (await payments.payment(payment_id))["payment_intent_id"]
        expiring = await _expiring(payments, payment_id)
        assert expiring.payment_intent_id == old

        request = _renewal(expiring)
        env = payments.envelope(request, request.booking_id)
        await payments.deliver(request, request.booking_id, env)
        await payments.deliver(request, request.booking_id, env)  # redelivered: nothing new

        payment = await payments.payment(payment_id)
        new = payment["payment_intent_id"]
        assert new != old and payment["status"] == "authorized"
        assert payment["renewals"] == 1 and payment["expiry_notified_at"] is None
        [renewed] = only(await payments.emitted(payment_id), PaymentReauthorizedV1)
        assert (renewed.previous_payment_intent_id, renewed.payment_intent_id) == (old, new)
        assert renewed.amount == AMOUNT
        intent = await stripe_get(sim, f"/v1/payment_intents/{new}")
        assert (intent["status"], intent["amount"], intent["capture_method"]) == (
            "requires_capture",
            AMOUNT,
            "manual",
        )
        # Renewed as it was made: a separate charge of the booking's transfer group.
        assert (intent.get("transfer_data"), intent["application_fee_amount"]) == (None, None)
        assert intent["transfer_group"] == payment["booking_id"]
        # The old authorization is held until the grace period has passed, then cancelled.
        assert await cancel_replaced(payments.pool, payments.handlers.stripe, DAY) == 0
        assert (await stripe_get(sim, f"/v1/payment_intents/{old}"))["status"] == (
            "requires_capture"
        )
        assert await cancel_replaced(payments.pool, payments.handlers.stripe, timedelta(0)) >= 1
        assert (await stripe_get(sim, f"/v1/payment_intents/{old}"))["status"] == "canceled"

        # The renewed one is reported again only once it nears its own limit.
        async with payments.pool.acquire() as conn:
            outbox = Outbox("payments", "payments", payments.outbox)
            await sweep(conn, outbox, lifetime=7 * DAY, margin=DAY)
        assert len(only(await payments.emitted(payment_id), AuthorizationExpiringV1)) == 1

        # The host accepts: the capture takes the renewed authorization, once.
        confirmed = BookingConfirmedV1(
            booking_id=request.booking_id, payment_id=payment_id, amount=AMOUNT, currency="usd"
        )
        env = payments.envelope(confirmed, request.booking_id)
        await payments.deliver(confirmed, request.booking_id, env)
        await payments.deliver(confirmed, request.booking_id, env)
        [captured] = only(await payments.emitted(payment_id), PaymentCapturedV2)
        assert captured.payment_intent_id == new and captured.amount == AMOUNT
        assert (await stripe_get(sim, f"/v1/payment_intents/{new}"))["status"] == "succeeded"
        assert (await stripe_get(sim, f"/v1/payment_intents/{old}"))["status"] == "canceled"


async def test_a_declined_renewal_is_announced_and_the_old_authorization_stays_to_be_voided(
    sim_base: str,
) -> None:
    async with reset_simulator(sim_base) as sim, payments_harness(sim_base) as payments:
        payment_id = await _authorized(payments)
        old = (await payments.payment(payment_id))["payment_intent_id"]
        customer = (await payments.payment(payment_id))["customer_id"]
        (
            await sim.post(
                f"/_sim/customers/{customer}/fail_next_off_session",
                json={"code": "card_declined", "decline_code": "insufficient_funds"},
            )
        ).raise_for_status()
        request = _renewal(await _expiring(payments, payment_id))
        await payments.deliver(request, request.booking_id)

        [failed] = only(await payments.emitted(payment_id), ReauthorizationFailedV1)
        assert (failed.code, failed.decline_code) == ("card_declined", "insufficient_funds")
        payment = await payments.payment(payment_id)
        assert (payment["payment_intent_id"], payment["renewals"]) == (old, 0)
        assert not only(await payments.emitted(payment_id), PaymentReauthorizedV1)

        # Booking releases the request (booking_failed): payments voids the old authorization.
        released = BookingFailedV1(
            booking_id=request.booking_id, payment_id=payment_id, reason="reauthorization_failed"
        )
        await payments.deliver(released, request.booking_id)
        assert (await payments.payment(payment_id))["status"] == "voided"
        assert len(only(await payments.emitted(payment_id), PaymentVoidedV1)) == 1
        assert (await stripe_get(sim, f"/v1/payment_intents/{old}"))["status"] == "canceled"


async def test_a_renewal_that_comes_after_the_capture_is_cancelled_not_kept(
    sim_base: str,
) -> None:
    async with reset_simulator(sim_base) as sim, payments_harness(sim_base) as payments:
        payment_id = await _authorized(payments)
        request = _renewal(await _expiring(payments, payment_id))
        # The capture wins the race: the renewal's prepare sees the payment still authorized
        # and authorizes, but by its apply the payment is captured.
        env = payments.envelope(request, request.booking_id)
        event, prepared = await payments.prepare(env)
        confirmed = BookingConfirmedV1(
            booking_id=request.booking_id, payment_id=payment_id, amount=AMOUNT, currency="usd"
        )
        await payments.deliver(confirmed, request.booking_id)
        await payments.apply(env, event, prepared)

        assert prepared is not None and prepared.result is not None
        spare = prepared.result.id
        payment = await payments.payment(payment_id)
        assert payment["status"] == "captured" and payment["payment_intent_id"] == (
            request.expiring_payment_intent_id
        )
        assert not only(await payments.emitted(payment_id), PaymentReauthorizedV1)
        await cancel_replaced(payments.pool, payments.handlers.stripe, timedelta(0))
        assert (await stripe_get(sim, f"/v1/payment_intents/{spare}"))["status"] == "canceled"


async def test_a_payment_without_a_saved_card_cannot_be_renewed(sim_base: str) -> None:
    async with reset_simulator(sim_base), payments_harness(sim_base) as payments:
        payment_id = await _authorized(payments)
        await payments.pool.execute(
            "UPDATE payments.payments SET saved_payment_method = NULL WHERE payment_id = $1",
            payment_id,
        )
        request = _renewal(await _expiring(payments, payment_id))
        await payments.deliver(request, request.booking_id)
        [failed] = only(await payments.emitted(payment_id), ReauthorizationFailedV1)
        assert failed.code == "no_saved_payment_method"


# -- booking's side ----------------------------------------------------------------------------


async def _listing(pool: asyncpg.Pool) -> str:
    listing_id = f"lst_ra_{uuid.uuid4().hex[:8]}"
    await pool.execute(
        "INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, hourly_rate,"
        " currency, platform_fee_bps, cancellation_policy, instant_book, response_window_hours) "
        "VALUES ($1, 'host-ra', 'acct_ra', 'Ra', 1000, 'usd', 1000, 'flexible', false, 240)",
        listing_id,
    )
    return listing_id


async def _awaiting_host(pool: asyncpg.Pool) -> tuple[str, str]:
    start = datetime(2036, 2, 1, 9, tzinfo=UTC) + timedelta(hours=uuid.uuid4().int % 5000)
    cmd = PlaceBooking(
        "guest-ra", await _listing(pool), start, start + timedelta(hours=1), "pm_card_visa"
    )
    async with pool.acquire() as conn, conn.transaction():
        booking_id = (await place_booking(UnitOfWork(conn, BOOKING), cmd))["booking_id"]
    payment_id = f"pay_ra_{uuid.uuid4().hex[:8]}"
    await pool.execute(
        "UPDATE booking.bookings SET status = 'awaiting_host', payment_status = 'authorized', "
        "payment_id = $2 WHERE booking_id = $1",
        uuid.UUID(booking_id),
        payment_id,
    )
    return booking_id, payment_id


async def _deliver(pool: asyncpg.Pool, handler: Any, event: Any) -> None:
    env = make_envelope(
        event, key=event.payment_id, producer="payments", correlation_id=uuid.uuid4()
    )
    async with pool.acquire() as conn, conn.transaction():
        await handler(UnitOfWork(conn, BOOKING), env, event)


async def _events(pool: asyncpg.Pool, key: str, event_type: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT payload FROM booking.outbox WHERE key = $1 AND event_type = $2 ORDER BY id",
        key,
        event_type,
    )
    return [json.loads(bytes(r["payload"]))["data"] for r in rows]


def _expiring_event(booking_id: str, payment_id: str) -> AuthorizationExpiringV1:
    now = datetime.now(UTC)
    return AuthorizationExpiringV1(
        payment_id=payment_id,
        booking_id=booking_id,
        amount=1000,
        currency="usd",
        authorized_at=now - 6 * DAY,
        expires_at=now + DAY,
        payment_intent_id="pi_ra_old",
    )


async def _booking(pool: asyncpg.Pool, booking_id: str) -> asyncpg.Record:
    row = await pool.fetchrow(
        "SELECT status, failure_reason, authorization_renewed_at, authorization_renewals "
        "FROM booking.bookings WHERE booking_id = $1",
        uuid.UUID(booking_id),
    )
    assert row is not None
    return row


async def test_booking_asks_for_a_renewal_and_keeps_the_request_open(
    booking_pool: asyncpg.Pool,
) -> None:
    handlers = BookingHandlers(BOOKING)  # policy: reauthorize (the default)
    booking_id, payment_id = await _awaiting_host(booking_pool)
    await _deliver(
        booking_pool, handlers.on_authorization_expiring, _expiring_event(booking_id, payment_id)
    )
    [asked] = await _events(booking_pool, booking_id, "booking.reauthorization_requested")
    assert (asked["payment_id"], asked["expiring_payment_intent_id"]) == (payment_id, "pi_ra_old")
    assert (await _booking(booking_pool, booking_id))["status"] == "awaiting_host"
    assert not await _events(booking_pool, booking_id, "booking.booking_failed")

    renewed_at = datetime.now(UTC)
    renewed = PaymentReauthorizedV1(
        payment_id=payment_id,
        booking_id=booking_id,
        payment_intent_id="pi_ra_new",
        previous_payment_intent_id="pi_ra_old",
        amount=1000,
        currency="usd",
        authorized_at=renewed_at,
    )
    for _ in range(2):  # a redelivery counts once
        await _deliver(booking_pool, handlers.on_payment_reauthorized, renewed)
    row = await _booking(booking_pool, booking_id)
    assert row["status"] == "awaiting_host"
    assert (row["authorization_renewed_at"], row["authorization_renewals"]) == (renewed_at, 1)


async def test_a_failed_renewal_releases_the_request(booking_pool: asyncpg.Pool) -> None:
    handlers = BookingHandlers(BOOKING)
    booking_id, payment_id = await _awaiting_host(booking_pool)
    failed = ReauthorizationFailedV1(
        payment_id=payment_id,
        booking_id=booking_id,
        code="card_declined",
        decline_code="insufficient_funds",
    )
    await _deliver(booking_pool, handlers.on_reauthorization_failed, failed)
    await _deliver(booking_pool, handlers.on_reauthorization_failed, failed)
    row = await _booking(booking_pool, booking_id)
    assert (row["status"], row["failure_reason"]) == ("expired", "reauthorization_failed")
    [released] = await _events(booking_pool, booking_id, "booking.booking_failed")
    assert (released["payment_id"], released["reason"]) == (payment_id, "reauthorization_failed")


async def test_the_release_policy_releases_at_once(booking_pool: asyncpg.Pool) -> None:
    handlers = BookingHandlers(BOOKING, expiring_authorization_policy="release")
    booking_id, payment_id = await _awaiting_host(booking_pool)
    await _deliver(
        booking_pool, handlers.on_authorization_expiring, _expiring_event(booking_id, payment_id)
    )
    assert not await _events(booking_pool, booking_id, "booking.reauthorization_requested")
    row = await _booking(booking_pool, booking_id)
    assert (row["status"], row["failure_reason"]) == ("expired", "authorization_expiring")
