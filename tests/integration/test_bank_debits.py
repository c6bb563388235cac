"""ACH Direct Debit (`us_bank_account`) on the real database.

Payments: the debit against the in-process Stripe simulator (processing, then settled or
returned by the simulator's controls), its webhooks stored and applied by the webhook worker's
`apply_pending` (duplicated and replayed), the funds-cleared sweeper, and a returned debit paid
by card. Booking: the checkout's rules, confirmed-pending-funds, a return before the start
(payment_due, then paid by card or released), the gateway's view and the receipt. Payments'
facts are delivered to booking's handlers directly; the Kafka path is the e2e suite's.
"""

from __future__ import annotations

import json
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
from booking.domain.errors import BookingError, ErrorCode
from booking.domain.refunds import Canceller
from booking.entrypoints.auth import Role, issue_token
from booking.features.bank_debits import domain as rules
from booking.features.bank_debits import timers as bank_debit_timers
from booking.features.cancellations import service as cancellations
from booking.features.checkout.service import PlaceBooking, place_booking
from booking.features.receipts import service as receipts
from booking.features.receipts.views import receipt_html
from booking.service_layer import payment_due
from booking.service_layer.handlers import BookingHandlers
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.outbox import Outbox
from marketplace_contracts import Envelope, EventModel, decode_data, make_envelope
from marketplace_contracts.events.booking import (
    BookingConfirmedV1,
    CheckoutRequestedV1,
    PaymentRetryRequestedV1,
)
from marketplace_contracts.events.payments import (
    FundsClearedV1,
    PaymentCapturedV2,
    PaymentFailedV1,
    PaymentProcessingV1,
    PaymentReturnedV1,
    PaymentSplit,
)
from payments.domain.ids import checkout_payment_id
from payments.service_layer import bank_debits, webhooks
from tests.integration.test_refunds import cancelled
from tests.support.payments_harness import (
    PaymentsHarness,
    payments_harness,
    stripe_get,
)

pytestmark = pytest.mark.integration
WINDOW = timedelta(days=5)
SECRET = "bank-debit-tests-secret-long-enough"
OUTBOX = Outbox("booking", producer="booking")


# -- payments ---------------------------------------------------------------------------------


@pytest.fixture
async def harness(sim_base: str, pg_ready: None) -> AsyncIterator[PaymentsHarness]:
    async with payments_harness(sim_base) as h:
        yield h


def _checkout(
    booking_id: str, payment_method: str = "pm_usBankAccount_success", **kw: Any
) -> CheckoutRequestedV1:
    start = datetime.now(UTC) + timedelta(days=10)
    fields: dict[str, Any] = {
        "booking_id": booking_id,
        "guest_id": f"guest-ach-{booking_id[:8]}",
        "listing_id": "lst_ach",
        "host_id": "host-ach",
        "host_account_id": "acct_ach_host",
        "starts_at": start,
        "ends_at": start + timedelta(hours=3),
        "amount": 30_000,
        "currency": "usd",
        "platform_fee": 3_000,
        "tax": 500,
        "payment_method": payment_method,
        "payment_method_type": "us_bank_account",
        "mandate_ip_address": "203.0.113.7",
        "mandate_user_agent": "pytest-ach/1.0",
    }
    return CheckoutRequestedV1(**{**fields, **kw})


async def _webhook_events(
    sim: httpx.AsyncClient, event_type: str, object_id: str, field: str = "id"
) -> list[dict[str, Any]]:
    listed = await stripe_get(sim, "/v1/events", type=event_type, limit="100")
    return [e for e in listed["data"] if e["data"]["object"].get(field) == object_id]


async def _deliver_webhooks(pool: asyncpg.Pool, events: list[dict[str, Any]]) -> None:
    """What the webhook endpoint and the worker do: store each event once, apply the new."""
    async with pool.acquire() as conn:
        for event in events:
            await webhooks.store_event(conn, event)
        while await webhooks.apply_pending(conn, bank_debit_return_window=WINDOW):
            pass


async def _published(pool: asyncpg.Pool, payment_id: str) -> list[EventModel]:
    """What the webhook worker and the sweeper wrote to payments' own outbox."""
    rows = await pool.fetch(
        "SELECT payload FROM payments.outbox WHERE key = $1 ORDER BY id", payment_id
    )
    return [decode_data(Envelope.from_bytes(r["payload"])) for r in rows]


def _of(events: list[EventModel], kind: type[EventModel]) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


async def _start_debit(
    harness: PaymentsHarness, payment_method: str = "pm_usBankAccount_success"
) -> tuple[str, str]:
    booking_id = str(uuid.uuid4())
    harness.subjects.append(booking_id)
    assert await harness.consume(_checkout(booking_id, payment_method), booking_id) == "handled"
    return booking_id, checkout_payment_id(booking_id)


async def test_a_debit_processes_then_settles_once_and_clears_after_the_window(
    harness: PaymentsHarness, sim: httpx.AsyncClient
) -> None:
    booking_id, payment_id = await _start_debit(harness)
    payment = await harness.payment(payment_id)
    assert (payment["status"], payment["payment_method_type"]) == ("processing", "us_bank_account")
    assert (payment["bank_name"], payment["bank_last4"]) == ("STRIPE TEST BANK", "6789")
    [processing] = _of(await harness.emitted(payment_id), PaymentProcessingV1)
    assert (processing.bank_name, processing.bank_last4) == ("STRIPE TEST BANK", "6789")
    intent_id = payment["payment_intent_id"]
    intent = await stripe_get(sim, f"/v1/payment_intents/{intent_id}")
    # Automatic capture, no destination or fee: the platform holds the funds for the payout.
    assert intent["status"] == payment["stripe_status"] == "processing"
    assert intent["capture_method"] == "automatic"
    assert intent["transfer_data"] is None and intent["application_fee_amount"] is None
    assert intent["transfer_group"] == booking_id
    assert intent["payment_method_types"] == ["us_bank_account"]
    charge = await stripe_get(sim, f"/v1/charges/{intent['latest_charge']}")
    mandate = await stripe_get(
        sim, f"/v1/mandates/{charge['payment_method_details']['us_bank_account']['mandate']}"
    )
    online = mandate["customer_acceptance"]["online"]
    assert (online["ip_address"], online["user_agent"]) == ("203.0.113.7", "pytest-ach/1.0")

    # booking confirms at once: payments must not capture (nor try to) a processing debit.
    confirmed = BookingConfirmedV1(
        booking_id=booking_id, payment_id=payment_id, amount=30_000, currency="usd"
    )
    assert await harness.consume(confirmed, booking_id) == "handled"
    assert (await harness.payment(payment_id))["status"] == "processing"

    settled = await sim.post(f"/_sim/intents/{intent_id}/ach", json={"outcome": "succeed"})
    assert settled.status_code == 200
    [succeeded] = await _webhook_events(sim, "payment_intent.succeeded", intent_id)
    duplicate = {**succeeded, "id": f"{succeeded['id']}_dup"}  # Stripe sends it again
    processing_event = await _webhook_events(sim, "payment_intent.processing", intent_id)
    await _deliver_webhooks(harness.pool, [succeeded, duplicate, *processing_event])
    async with harness.pool.acquire() as conn:  # ops replay it as well
        assert await webhooks.replay(conn, succeeded["id"])
    await _deliver_webhooks(harness.pool, [])

    payment = await harness.payment(payment_id)
    intent = await stripe_get(sim, f"/v1/payment_intents/{intent_id}")
    assert payment["status"] == "captured" and payment["stripe_status"] == intent["status"]
    assert payment["captured_amount"] == intent["amount_received"] == 30_000
    assert payment["charge_id"] == intent["latest_charge"]
    [captured] = _of(await _published(harness.pool, payment_id), PaymentCapturedV2)
    succeeded_at = datetime.fromtimestamp(succeeded["created"], UTC)
    assert captured.payment_method_type == "us_bank_account"
    assert captured.funds_hold_until == succeeded_at + WINDOW
    assert (captured.transfer_group, captured.charge_id) == (booking_id, intent["latest_charge"])
    assert [(s.amount, s.platform_fee, s.tax) for s in captured.splits] == [(30_000, 3_000, 500)]

    async with harness.pool.acquire() as conn:
        early = succeeded_at + WINDOW - timedelta(seconds=1)
        assert await bank_debits.sweep_cleared(conn, OUTBOX_P, now=early) == 0
        late = succeeded_at + WINDOW + timedelta(seconds=1)
        await bank_debits.sweep_cleared(conn, OUTBOX_P, now=late)
        await bank_debits.sweep_cleared(conn, OUTBOX_P, now=late + timedelta(days=1))
    [cleared] = _of(await _published(harness.pool, payment_id), FundsClearedV1)
    assert (cleared.payment_id, cleared.amount) == (payment_id, 30_000)


OUTBOX_P = Outbox("payments", producer="payments")


async def test_a_debit_the_bank_refuses_is_returned_before_capture_once(
    harness: PaymentsHarness, sim: httpx.AsyncClient
) -> None:
    _booking_id, payment_id = await _start_debit(harness)
    intent_id = (await harness.payment(payment_id))["payment_intent_id"]
    failed = await sim.post(
        f"/_sim/intents/{intent_id}/ach",
        json={"outcome": "fail", "failure_code": "insufficient_funds"},
    )
    assert failed.status_code == 200
    events = await _webhook_events(sim, "payment_intent.payment_failed", intent_id)
    await _deliver_webhooks(harness.pool, [*events, {**events[0], "id": events[0]["id"] + "_2"}])
    payment = await harness.payment(payment_id)
    intent = await stripe_get(sim, f"/v1/payment_intents/{intent_id}")
    assert payment["status"] == "returned" and payment["return_code"] == "insufficient_funds"
    assert payment["stripe_status"] == intent["status"] == "requires_payment_method"
    published = await _published(harness.pool, payment_id)
    [returned] = _of(published, PaymentReturnedV1)
    assert (returned.after_capture, returned.code, returned.amount) == (
        False,
        "insufficient_funds",
        30_000,
    )
    assert (returned.host_account_id, returned.platform_fee, returned.tax) == (
        "acct_ach_host",
        3_000,
        500,
    )
    assert not _of(published, PaymentCapturedV2)
    async with harness.pool.acquire() as conn:  # a returned debit never clears
        far = datetime.now(UTC) + timedelta(days=60)
        await bank_debits.sweep_cleared(conn, OUTBOX_P, now=far)
    assert not _of(await _published(harness.pool, payment_id), FundsClearedV1)


async def _succeeded_debit(
    harness: PaymentsHarness, sim: httpx.AsyncClient
) -> tuple[str, list[dict[str, Any]]]:
    """A bank debit the bank settles at the simulator: its payment id and the settlement's
    webhook events (not delivered yet)."""
    _booking_id, payment_id = await _start_debit(harness)
    intent_id = (await harness.payment(payment_id))["payment_intent_id"]
    await sim.post(f"/_sim/intents/{intent_id}/ach", json={"outcome": "succeed"})
    return payment_id, await _webhook_events(sim, "payment_intent.succeeded", intent_id)


async def test_a_return_after_success_is_a_dispute_reported_after_capture(
    harness: PaymentsHarness, sim: httpx.AsyncClient
) -> None:
    payment_id, settled = await _succeeded_debit(harness, sim)
    await _deliver_webhooks(harness.pool, settled)
    charge_id = (await harness.payment(payment_id))["charge_id"]
    answer = await sim.post(f"/_sim/charges/{charge_id}/ach_return", json={})
    assert answer.status_code == 200
    disputes = await _webhook_events(sim, "charge.dispute.created", charge_id, field="charge")
    assert len(disputes) == 1
    await _deliver_webhooks(harness.pool, disputes * 2)  # the same event delivered twice
    payment = await harness.payment(payment_id)
    assert payment["status"] == "returned" and payment["return_code"] == "debit_not_authorized"
    published = await _published(harness.pool, payment_id)
    [returned] = _of(published, PaymentReturnedV1)
    assert returned.after_capture and returned.amount == 30_000
    # the dispute is the object of Stripe's balance transaction finance matches the return to
    assert returned.dispute_id == disputes[0]["data"]["object"]["id"]
    assert len(_of(published, PaymentCapturedV2)) == 1
    # A bank debit's dispute is a return: none of the card dispute facts (no double count).
    closed = await _webhook_events(sim, "charge.dispute.closed", charge_id, field="charge")
    await _deliver_webhooks(harness.pool, closed)
    published = await _published(harness.pool, payment_id)
    assert not [e for e in published if e.TYPE.startswith("payments.dispute_")]
    assert len(_of(published, PaymentReturnedV1)) == 1
    async with harness.pool.acquire() as conn:
        await bank_debits.sweep_cleared(conn, OUTBOX_P, now=datetime.now(UTC) + timedelta(days=30))
    assert not _of(await _published(harness.pool, payment_id), FundsClearedV1)


@pytest.mark.parametrize(
    ("refunded", "returned"),
    [
        # (amount, fee, tax) refunded before the return -> what the return took back
        ((30_000, 3_000, 500), (0, 0, 0)),
        ((10_000, 1_000, 100), (20_000, 2_000, 400)),
    ],
)
async def test_a_return_after_a_refund_takes_back_only_what_was_left(
    harness: PaymentsHarness,
    sim: httpx.AsyncClient,
    refunded: tuple[int, int, int],
    returned: tuple[int, int, int],
) -> None:
    """Stripe's dispute of a returned debit takes what the refunds left of it: the return fact
    says so, so finance reverses no more than Stripe took back."""
    payment_id, settled = await _succeeded_debit(harness, sim)
    await _deliver_webhooks(harness.pool, settled)
    booking_id = (await harness.payment(payment_id))["booking_id"]
    amount, fee, tax = refunded
    refund = cancelled(
        booking_id, amount=amount, platform_fee=fee, tax=tax, host_account_id="acct_ach_host"
    )
    assert await harness.consume(refund, booking_id) == "handled"
    charge_id = (await harness.payment(payment_id))["charge_id"]
    assert (await sim.post(f"/_sim/charges/{charge_id}/ach_return", json={})).status_code == 200
    disputes = await _webhook_events(sim, "charge.dispute.created", charge_id, field="charge")
    assert disputes[0]["data"]["object"]["amount"] == returned[0]  # Stripe's own figure
    await _deliver_webhooks(harness.pool, disputes)
    [fact] = _of(await _published(harness.pool, payment_id), PaymentReturnedV1)
    assert fact.after_capture and (fact.amount, fact.platform_fee, fact.tax) == returned


async def test_a_return_delivered_before_the_settlement_waits_for_it(
    harness: PaymentsHarness, sim: httpx.AsyncClient
) -> None:
    # Stripe does not order its events: the dispute (the return) may come first.
    payment_id, settled = await _succeeded_debit(harness, sim)
    charge = settled[0]["data"]["object"]["latest_charge"]
    charge_id = charge["id"] if isinstance(charge, dict) else charge
    assert (await sim.post(f"/_sim/charges/{charge_id}/ach_return", json={})).status_code == 200
    disputes = await _webhook_events(sim, "charge.dispute.created", charge_id, field="charge")
    await _deliver_webhooks(harness.pool, disputes)  # alone: it waits, stored and not failed
    assert (await harness.payment(payment_id))["status"] == "processing"
    waiting = await harness.pool.fetchrow(
        "SELECT processed_at, attempts, failed_at FROM payments.stripe_webhook_events "
        "WHERE stripe_event_id = $1",
        disputes[0]["id"],
    )
    assert tuple(waiting) == (None, 0, None)
    await _deliver_webhooks(harness.pool, settled)  # then the settlement, and the return after
    payment = await harness.payment(payment_id)
    assert payment["status"] == "returned" and payment["return_code"] == "debit_not_authorized"
    published = await _published(harness.pool, payment_id)
    assert len(_of(published, PaymentCapturedV2)) == 1
    [returned] = _of(published, PaymentReturnedV1)
    assert returned.after_capture and returned.dispute_id == disputes[0]["data"]["object"]["id"]


async def test_a_returned_debit_is_paid_by_a_new_card_payment(
    harness: PaymentsHarness, sim: httpx.AsyncClient
) -> None:
    booking_id, payment_id = await _start_debit(harness)
    ach_intent = (await harness.payment(payment_id))["payment_intent_id"]
    await sim.post(f"/_sim/intents/{ach_intent}/ach", json={"outcome": "fail"})
    await _deliver_webhooks(
        harness.pool, await _webhook_events(sim, "payment_intent.payment_failed", ach_intent)
    )
    declined = PaymentRetryRequestedV1(
        booking_id=booking_id,
        payment_id=payment_id,
        payment_method="pm_card_chargeDeclined",
        attempt=1,
    )
    assert await harness.consume(declined, booking_id) == "handled"
    repay_id = bank_debits.repay_payment_id(payment_id)
    [failed] = _of(await harness.emitted(repay_id), PaymentFailedV1)
    assert failed.booking_id == booking_id and failed.code == "card_declined"
    paid = PaymentRetryRequestedV1(
        booking_id=booking_id, payment_id=payment_id, payment_method="pm_card_visa", attempt=2
    )
    env = harness.envelope(paid, booking_id)
    assert await harness.consume(env, booking_id) == "handled"
    assert await harness.consume(env, booking_id) == "duplicate"
    again = PaymentRetryRequestedV1(  # a third click after it was paid: nothing more
        booking_id=booking_id, payment_id=payment_id, payment_method="pm_card_visa", attempt=3
    )
    assert await harness.consume(again, booking_id) == "handled"

    repay = await harness.payment(repay_id)
    assert (repay["status"], repay["payment_method_type"], repay["purpose"]) == (
        "captured",
        "card",
        "repay",
    )
    assert repay["replaces_payment_id"] == payment_id
    [captured] = _of(await harness.emitted(repay_id), PaymentCapturedV2)
    assert captured.payment_method_type == "card" and captured.funds_hold_until is None
    assert (captured.booking_id, captured.amount) == (booking_id, 30_000)
    card_intent = await stripe_get(sim, f"/v1/payment_intents/{repay['payment_intent_id']}")
    assert card_intent["status"] == "succeeded" and card_intent["amount_received"] == 30_000
    # A card payment now, still a separate charge of the booking's transfer group.
    assert (card_intent.get("transfer_data"), card_intent["transfer_group"]) == (None, booking_id)
    assert (repay["transfer_group"], captured.transfer_group, captured.purpose) == (
        booking_id,
        booking_id,
        "checkout",
    )
    listed = await stripe_get(sim, "/v1/events", type="payment_intent.succeeded", limit="100")
    succeeded = [
        e for e in listed["data"] if e["data"]["object"]["metadata"].get("payment_id") == repay_id
    ]
    assert len(succeeded) == 1  # captured once, whatever was redelivered
    # The returned debit stays as the bank left it.
    assert (await harness.payment(payment_id))["status"] == "returned"
    ach = await stripe_get(sim, f"/v1/payment_intents/{ach_intent}")
    assert ach["status"] == "requires_payment_method"


async def test_a_debit_without_a_mandate_is_refused_as_a_failed_payment(
    harness: PaymentsHarness, sim: httpx.AsyncClient
) -> None:
    booking_id = str(uuid.uuid4())
    harness.subjects.append(booking_id)
    request = _checkout(booking_id, mandate_ip_address=None)
    assert await harness.consume(request, booking_id) == "handled"
    payment_id = checkout_payment_id(booking_id)
    assert (await harness.payment(payment_id))["status"] == "failed"
    [failed] = _of(await harness.emitted(payment_id), PaymentFailedV1)
    assert failed.code == "mandate_missing"
    created = await stripe_get(sim, "/v1/events", type="payment_intent.created", limit="10")
    assert created["data"] == []  # refused before Stripe was asked


# -- booking ----------------------------------------------------------------------------------


async def _listing(pool: asyncpg.Pool, **columns: Any) -> str:
    listing_id = f"lst_ach_{uuid.uuid4().hex[:8]}"
    await pool.execute(
        "INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, hourly_rate,"
        " currency, platform_fee_bps, cancellation_policy) "
        "VALUES ($1, 'host-ach', 'acct_ach', 'ACH', 10000, 'usd', 1000, 'flexible')",
        listing_id,
    )
    for column, value in columns.items():
        await pool.execute(
            f"UPDATE booking.listings SET {column} = $2 WHERE listing_id = $1", listing_id, value
        )
    return listing_id


def _slot(ahead: timedelta) -> datetime:
    """A start `ahead` from now, on a 15-minute slot."""
    return (datetime.now(UTC) + ahead).replace(minute=0, second=0, microsecond=0)


def _place(listing_id: str, start: datetime, **kw: Any) -> PlaceBooking:
    return PlaceBooking(
        "guest-ach",
        listing_id,
        start,
        start + timedelta(hours=2),
        "pm_usBankAccount_success",
        payment_method_type="us_bank_account",
        mandate_ip_address="198.51.100.4",
        mandate_user_agent="Mozilla/5.0 (ach test)",
        **kw,
    )


async def _book(pool: asyncpg.Pool, cmd: PlaceBooking) -> dict[str, Any]:
    async with pool.acquire() as conn, conn.transaction():
        return await place_booking(UnitOfWork(conn, OUTBOX), cmd)


async def _handle(pool: asyncpg.Pool, handler: Any, event: EventModel, key: str) -> Envelope:
    env = make_envelope(event, key=key, producer="payments", correlation_id=uuid.uuid4())
    async with pool.acquire() as conn, conn.transaction():
        await handler(UnitOfWork(conn, OUTBOX), env, event)
    return env


async def _row(pool: asyncpg.Pool, booking_id: str) -> asyncpg.Record:
    row = await pool.fetchrow(
        "SELECT * FROM booking.bookings WHERE booking_id = $1", uuid.UUID(booking_id)
    )
    assert row is not None
    return row


async def _events(pool: asyncpg.Pool, key: str, event_type: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT payload FROM booking.outbox WHERE key = $1 AND event_type = $2 ORDER BY id",
        key,
        event_type,
    )
    return [json.loads(bytes(r["payload"]))["data"] for r in rows]


def _processing(booking_id: str, payment_id: str, amount: int) -> PaymentProcessingV1:
    return PaymentProcessingV1(
        payment_id=payment_id,
        booking_id=booking_id,
        payment_intent_id="pi_ach_test",
        amount=amount,
        currency="usd",
        payment_method_type="us_bank_account",
        bank_name="STRIPE TEST BANK",
        bank_last4="6789",
    )


def _captured(booking_id: str, payment_id: str, amount: int, method: str) -> PaymentCapturedV2:
    return PaymentCapturedV2(
        payment_id=payment_id,
        booking_id=booking_id,
        payment_intent_id=f"pi_{payment_id}",
        charge_id=f"ch_{payment_id}",
        amount=amount,
        currency="usd",
        platform_fee=amount // 10,
        splits=[
            PaymentSplit(
                booking_id=booking_id,
                host_account_id="acct_ach",
                amount=amount,
                platform_fee=amount // 10,
                host_amount=amount - amount // 10,
            )
        ],
        transfer_group=booking_id if method == "us_bank_account" else None,
        payment_method_type=method,
        funds_hold_until=datetime.now(UTC) + WINDOW if method == "us_bank_account" else None,
    )


def _returned(booking_id: str, payment_id: str, amount: int, after: bool) -> PaymentReturnedV1:
    return PaymentReturnedV1(
        payment_id=payment_id,
        booking_id=booking_id,
        amount=amount,
        currency="usd",
        code="insufficient_funds",
        message="The customer's account has insufficient funds to cover this payment.",
        after_capture=after,
        host_account_id="acct_ach",
        platform_fee=amount // 10,
    )


async def _confirmed_pending(pool: asyncpg.Pool, handlers: BookingHandlers) -> tuple[str, str]:
    listing_id = await _listing(pool)
    booking = await _book(pool, _place(listing_id, _slot(timedelta(days=8))))
    booking_id, payment_id = booking["booking_id"], f"pay_ach_{uuid.uuid4().hex[:8]}"
    processing = _processing(booking_id, payment_id, booking["amount"])
    await _handle(pool, handlers.bank_debits.on_payment_processing, processing, booking_id)
    return booking_id, payment_id


async def test_checkout_refuses_a_bank_debit_that_must_be_a_card(
    booking_pool: asyncpg.Pool,
) -> None:
    soon = _slot(timedelta(days=8))
    cases = {
        "Instant Book": {"instant_book": False},
        "does not accept": {"accepts_bank_debit": False},
        "security deposit": {"deposit_amount": 5_000},
        "usd only": {"currency": "eur"},
    }
    for reason, columns in cases.items():
        listing_id = await _listing(booking_pool, **columns)
        with pytest.raises(BookingError) as refused:
            await _book(booking_pool, _place(listing_id, soon))
        assert refused.value.code is ErrorCode.BANK_DEBIT_NOT_ALLOWED
        assert reason in refused.value.message
    listing_id = await _listing(booking_pool)
    with pytest.raises(BookingError) as too_soon:  # 4 days: the debit may not settle in time
        await _book(booking_pool, _place(listing_id, _slot(timedelta(days=4))))
    assert too_soon.value.code is ErrorCode.BANK_DEBIT_NOT_ALLOWED
    assert "at least 5 days" in too_soon.value.message
    with pytest.raises(BookingError) as grouped:  # a Linked Booking Group pays by card
        rules.check_allowed(
            await booking_pool.fetchrow(
                "SELECT * FROM booking.listings WHERE listing_id = $1", listing_id
            ),
            starts_at=soon,
            currency="usd",
            grouped=True,
            min_lead=timedelta(days=5),
        )
    assert grouped.value.code is ErrorCode.BANK_DEBIT_NOT_ALLOWED
    # The same listing by card, or by bank debit far enough ahead, is fine.
    booking = await _book(booking_pool, _place(listing_id, soon))
    [request] = await _events(booking_pool, booking["booking_id"], "booking.checkout_requested")
    assert request["payment_method_type"] == "us_bank_account"
    assert request["mandate_ip_address"] == "198.51.100.4"
    assert request["mandate_user_agent"] == "Mozilla/5.0 (ach test)"


@pytest.fixture
async def gateway(booking_pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(build_runtime(BookingSettings(jwt_secret=SECRET)))
    app.state.runtime = SimpleNamespace(db=booking_pool)  # HTTP and database only
    transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 5555))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


async def test_the_gateway_records_the_mandate_and_answers_refusals_with_their_code(
    booking_pool: asyncpg.Pool, gateway: httpx.AsyncClient
) -> None:
    token = issue_token(SECRET, "guest-ach-http", Role.GUEST)
    headers = {"Authorization": f"Bearer {token}", "User-Agent": "GuestApp/2.1"}
    listing_id = await _listing(booking_pool)
    start = _slot(timedelta(days=9))
    body = {
        "listing_id": listing_id,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
        "payment_method": "pm_usBankAccount_success",
        "payment_method_type": "us_bank_account",
    }
    answer = await gateway.post("/v1/bookings", json=body, headers=headers)
    assert answer.status_code == 202, answer.text
    booking = answer.json()
    assert (booking["payment_method_type"], booking["funds_status"]) == ("us_bank_account", None)
    [request] = await _events(booking_pool, booking["booking_id"], "booking.checkout_requested")
    assert (request["mandate_ip_address"], request["mandate_user_agent"]) == (
        "192.0.2.10",
        "GuestApp/2.1",
    )
    later = start + timedelta(days=1)
    too_soon = {
        **body,
        "starts_at": _slot(timedelta(days=2)).isoformat(),
        "ends_at": _slot(timedelta(days=2, hours=2)).isoformat(),
    }
    refused = await gateway.post("/v1/bookings", json=too_soon, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "bank_debit_not_allowed"
    by_card = {**body, "starts_at": later.isoformat(), "ends_at": (later + timedelta(hours=2))}
    by_card["ends_at"] = (later + timedelta(hours=2)).isoformat()
    by_card.pop("payment_method_type")
    by_card["payment_method"] = "pm_card_visa"
    card = await gateway.post("/v1/bookings", json=by_card, headers=headers)
    assert card.status_code == 202 and card.json()["payment_method_type"] == "card"
    [card_request] = await _events(
        booking_pool, card.json()["booking_id"], "booking.checkout_requested"
    )
    assert card_request["mandate_ip_address"] is None  # no mandate for a card


async def test_processing_confirms_with_funds_pending_then_received_then_cleared(
    booking_pool: asyncpg.Pool,
) -> None:
    handlers = BookingHandlers(OUTBOX)
    booking_id, payment_id = await _confirmed_pending(booking_pool, handlers)
    row = await _row(booking_pool, booking_id)
    assert (row["status"], row["payment_status"], row["funds_status"]) == (
        "confirmed",
        "processing",
        "pending",
    )
    assert (row["bank_name"], row["bank_last4"], row["payment_id"]) == (
        "STRIPE TEST BANK",
        "6789",
        payment_id,
    )
    [confirmed] = await _events(booking_pool, booking_id, "booking.booking_confirmed")
    assert confirmed["payment_id"] == payment_id
    # A booking whose debit is still processing cannot be cancelled (nothing to refund yet).
    cancel = cancellations.Cancel(uuid.UUID(booking_id), Canceller.GUEST, "guest-ach")
    with pytest.raises(BookingError) as pending:
        async with booking_pool.acquire() as conn, conn.transaction():
            await cancellations.cancel(UnitOfWork(conn, OUTBOX), cancel)
    assert pending.value.code is ErrorCode.FUNDS_PENDING

    captured = _captured(booking_id, payment_id, row["amount"], "us_bank_account")
    await _handle(booking_pool, handlers.on_payment_captured, captured, payment_id)
    row = await _row(booking_pool, booking_id)
    assert (row["status"], row["payment_status"], row["funds_status"]) == (
        "confirmed",
        "captured",
        "received",
    )
    async with booking_pool.acquire() as conn:
        receipt = await receipts.get_for(conn, f"rcpt_{payment_id}", "guest-ach")
    assert receipt["payment_method"] == {
        "type": "us_bank_account",
        "bank_name": "STRIPE TEST BANK",
        "last4": "6789",
    }
    assert "STRIPE TEST BANK account ending 6789" in receipt_html(receipt)
    assert receipt["amount"] == row["amount"]
    cleared = FundsClearedV1(
        payment_id=payment_id,
        booking_id=booking_id,
        amount=row["amount"],
        currency="usd",
        cleared_at=datetime.now(UTC),
    )
    await _handle(booking_pool, handlers.bank_debits.on_funds_cleared, cleared, payment_id)
    assert (await _row(booking_pool, booking_id))["funds_status"] == "cleared"
    # Settled: now it can be cancelled, and the refund comes from the debit's payment.
    async with booking_pool.acquire() as conn, conn.transaction():
        view = await cancellations.cancel(UnitOfWork(conn, OUTBOX), cancel)
    assert view["status"] == "cancelled"
    [cancelled] = await _events(booking_pool, booking_id, "booking.booking_cancelled")
    assert cancelled["refund"]["payment_id"] == payment_id


async def test_a_return_before_the_start_asks_for_a_card_and_paying_confirms_again(
    booking_pool: asyncpg.Pool,
) -> None:
    handlers = BookingHandlers(OUTBOX)
    booking_id, payment_id = await _confirmed_pending(booking_pool, handlers)
    amount = (await _row(booking_pool, booking_id))["amount"]
    returned = _returned(booking_id, payment_id, amount, after=False)
    before = datetime.now(UTC)
    await _handle(booking_pool, handlers.bank_debits.on_payment_returned, returned, payment_id)
    await _handle(booking_pool, handlers.bank_debits.on_payment_returned, returned, payment_id)
    row = await _row(booking_pool, booking_id)
    assert (row["status"], row["funds_status"], row["failure_reason"]) == (
        "payment_due",
        "returned",
        "payment_returned",
    )
    assert before + timedelta(hours=48) <= row["pay_by"] <= datetime.now(UTC) + timedelta(hours=48)
    [requested] = await _events(booking_pool, booking_id, "booking.payment_requested")
    assert requested["reason"] == "payment_returned" and requested["payment_id"] == payment_id
    job = await booking_pool.fetchrow(
        "SELECT due_at FROM booking.scheduled_jobs WHERE kind = $1 AND subject_id = $2",
        rules.RETURNED_DEBIT_WINDOW,
        booking_id,
    )
    assert job is not None and job["due_at"] == row["pay_by"]

    async with booking_pool.acquire() as conn, conn.transaction():
        await payment_due.pay(
            UnitOfWork(conn, OUTBOX), uuid.UUID(booking_id), "guest-ach", "pm_card_visa"
        )
    [retry] = await _events(booking_pool, booking_id, "booking.payment_retry_requested")
    assert retry["payment_id"] == payment_id  # payments finds the returned debit by it
    card_payment = f"pay_card_{uuid.uuid4().hex[:8]}"
    captured = _captured(booking_id, card_payment, amount, "card")
    await _handle(booking_pool, handlers.on_payment_captured, captured, card_payment)
    row = await _row(booking_pool, booking_id)
    assert (row["status"], row["payment_status"], row["payment_id"]) == (
        "confirmed",
        "captured",
        card_payment,
    )
    assert (row["payment_method_type"], row["funds_status"], row["pay_by"]) == ("card", None, None)
    confirmations = await _events(booking_pool, booking_id, "booking.booking_confirmed")
    assert [c["payment_id"] for c in confirmations] == [payment_id, card_payment]
    assert not await booking_pool.fetchval(
        "SELECT count(*) FROM booking.scheduled_jobs WHERE kind = $1 AND subject_id = $2 "
        "AND status = 'pending'",
        rules.RETURNED_DEBIT_WINDOW,
        booking_id,
    )


async def test_a_returned_debit_not_paid_in_time_releases_the_slot(
    booking_pool: asyncpg.Pool,
) -> None:
    handlers = BookingHandlers(OUTBOX)
    booking_id, payment_id = await _confirmed_pending(booking_pool, handlers)
    row = await _row(booking_pool, booking_id)
    captured = _captured(booking_id, payment_id, row["amount"], "us_bank_account")
    await _handle(booking_pool, handlers.on_payment_captured, captured, payment_id)
    returned = _returned(booking_id, payment_id, row["amount"], after=True)
    await _handle(booking_pool, handlers.bank_debits.on_payment_returned, returned, payment_id)
    assert (await _row(booking_pool, booking_id))["status"] == "payment_due"
    async with booking_pool.acquire() as conn, conn.transaction():
        await bank_debit_timers.close_window(OUTBOX, conn, booking_id, {})
        await bank_debit_timers.close_window(OUTBOX, conn, booking_id, {})  # fires once in effect
    row = await _row(booking_pool, booking_id)
    assert (row["status"], row["failure_reason"]) == ("released", "payment_returned")
    [failed] = await _events(booking_pool, booking_id, "booking.booking_failed")
    assert failed["reason"] == "payment_returned"
    # The slot is free: someone else books the same time by card.
    again = PlaceBooking(
        "guest-other", row["listing_id"], row["starts_at"], row["ends_at"], "pm_card_visa"
    )
    assert (await _book(booking_pool, again))["status"] == "pending_payment"


async def test_a_return_after_the_start_keeps_the_booking_for_ops(
    booking_pool: asyncpg.Pool,
) -> None:
    handlers = BookingHandlers(OUTBOX)
    booking_id, payment_id = await _confirmed_pending(booking_pool, handlers)
    await booking_pool.execute(  # the stay has begun
        "UPDATE booking.bookings SET starts_at = now() - interval '1 hour', "
        "ends_at = now() + interval '1 hour' WHERE booking_id = $1",
        uuid.UUID(booking_id),
    )
    amount = (await _row(booking_pool, booking_id))["amount"]
    returned = _returned(booking_id, payment_id, amount, after=True)
    await _handle(booking_pool, handlers.bank_debits.on_payment_returned, returned, payment_id)
    row = await _row(booking_pool, booking_id)
    assert (row["status"], row["funds_status"]) == ("confirmed", "returned")
    assert row["failure_detail"].startswith("payment_returned: insufficient_funds")
    assert not await _events(booking_pool, booking_id, "booking.payment_requested")


async def test_the_pay_window_never_runs_past_the_start(booking_pool: asyncpg.Pool) -> None:
    handlers = BookingHandlers(OUTBOX)
    booking_id, payment_id = await _confirmed_pending(booking_pool, handlers)
    start = datetime.now(UTC) + timedelta(hours=10)
    await booking_pool.execute(
        "UPDATE booking.bookings SET starts_at = $2::timestamptz, "
        "ends_at = $2::timestamptz + interval '2 hours' "
        "WHERE booking_id = $1",
        uuid.UUID(booking_id),
        start,
    )
    amount = (await _row(booking_pool, booking_id))["amount"]
    returned = _returned(booking_id, payment_id, amount, after=False)
    await _handle(booking_pool, handlers.bank_debits.on_payment_returned, returned, payment_id)
    row = await _row(booking_pool, booking_id)
    assert row["status"] == "payment_due" and row["pay_by"] == start
