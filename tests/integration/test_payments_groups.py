"""Payments for Linked Booking Groups: payments' own routing table and handlers against the real
test database and the Stripe simulator (in-process, on a free 127.0.0.1 port).

Each event is delivered as the consumer does it: decoded from its envelope's bytes, `prepare`
(the Stripe call) outside any transaction, then `apply` in one. The inbox, which drops an
event id it has seen, is left out on purpose: a redelivery here is the handlers' own idempotency
(the same request emitted again, or a crash between the Stripe call and the commit). Events go
to a private outbox table, so no relay ever publishes them.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from disputes.entrypoints.consumers import build_router as disputes_router
from eventkit.db import connect
from eventkit.outbox import Outbox
from eventkit.routing import EventRouter, PermanentError
from finance.entrypoints.consumers import build_router as finance_router
from finance.service_layer.handlers import FinanceHandlers
from marketplace_contracts import Envelope, make_envelope
from marketplace_contracts.events.booking import (
    BookingConfirmedV1,
    BookingFailedV1,
    CheckoutRequestedV1,
    GroupCaptureRequestedV1,
    GroupCheckoutRequestedV1,
    GroupFailedV1,
    GroupLeg,
)
from marketplace_contracts.events.payments import (
    PaymentAuthorizedV1,
    PaymentCapturedV1,
    PaymentCapturedV2,
    PaymentFailedV1,
    PaymentMethodSavedV1,
    PaymentVoidedV1,
)
from payments.domain.ids import checkout_payment_id
from tests.conftest import service_dsn
from tests.support.payments_harness import (
    PaymentsHarness,
    payments_harness,
    stripe_get,
)

Payments = PaymentsHarness

pytestmark = [
    pytest.mark.integration,
    # stripe-python's HTTPXClient posts form bodies via `data=`; not our code.
    pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning"),
]

START = datetime(2034, 5, 1, 15, tzinfo=UTC)
# Three legs, two hosts (the first host has two legs): 48 000 in all, 7 200 of fees.
LEGS = (
    ("acct_1GroupHostA", 20_000, 3_000),
    ("acct_1GroupHostB", 16_000, 2_400),
    ("acct_1GroupHostA", 12_000, 1_800),
)
TOTAL, FEES = 48_000, 7_200


# -- fixtures --------------------------------------------------------------------------------
@pytest.fixture
async def payments(pg_ready: None, sim: httpx.AsyncClient) -> AsyncIterator[Payments]:
    async with payments_harness(str(sim.base_url), max_network_retries=2) as harness:
        yield harness


# -- helpers ---------------------------------------------------------------------------------
def group_checkout(
    payments: Payments, payment_method: str = "pm_card_visa", save_for_later: bool = False
) -> GroupCheckoutRequestedV1:
    group_id = str(uuid.uuid4())
    payments.subjects.append(group_id)
    legs = [
        GroupLeg(
            booking_id=str(uuid.uuid4()),
            listing_id=f"lst_{i}",
            host_id=f"host-{account[-1]}",
            host_account_id=account,
            starts_at=START + timedelta(days=i),
            ends_at=START + timedelta(days=i, hours=3),
            amount=amount,
            platform_fee=fee,
        )
        for i, (account, amount, fee) in enumerate(LEGS)
    ]
    return GroupCheckoutRequestedV1(
        group_id=group_id,
        guest_id=f"guest-{uuid.uuid4().hex[:8]}",
        amount=TOTAL,
        currency="usd",
        platform_fee=FEES,
        payment_method=payment_method,
        save_for_later=save_for_later,
        legs=legs,
    )


def capture_request(checkout: GroupCheckoutRequestedV1) -> GroupCaptureRequestedV1:
    return GroupCaptureRequestedV1(
        group_id=checkout.group_id,
        payment_id=checkout_payment_id(checkout.group_id),
        amount=checkout.amount,
        currency=checkout.currency,
    )


def group_failed(
    checkout: GroupCheckoutRequestedV1, *, with_payment_id: bool = True
) -> GroupFailedV1:
    return GroupFailedV1(
        group_id=checkout.group_id,
        payment_id=checkout_payment_id(checkout.group_id) if with_payment_id else None,
        reason="host_declined",
        failed_booking_id=checkout.legs[1].booking_id,
        booking_ids=[leg.booking_id for leg in checkout.legs],
    )


async def stripe_events(sim: httpx.AsyncClient, type_: str, group_id: str) -> list[dict[str, Any]]:
    """The simulator's events of one type whose object belongs to the group (its metadata)."""
    data = (await stripe_get(sim, "/v1/events", type=type_, limit="100"))["data"]
    return [e for e in data if e["data"]["object"]["metadata"].get("group_id") == group_id]


async def checked_out(payments: Payments, **kwargs: Any) -> GroupCheckoutRequestedV1:
    checkout = group_checkout(payments, **kwargs)
    await payments.deliver(checkout, checkout.group_id)
    return checkout


# -- authorization ---------------------------------------------------------------------------
async def test_a_group_is_authorized_as_one_charge_of_its_transfer_group_without_destination(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    checkout = await checked_out(payments)
    group_id, payment_id = checkout.group_id, checkout_payment_id(checkout.group_id)

    [authorized] = await payments.emitted(payment_id)
    assert isinstance(authorized, PaymentAuthorizedV1)
    assert (authorized.payment_id, authorized.booking_id, authorized.group_id) == (
        payment_id,
        group_id,
        group_id,
    )
    assert (authorized.amount, authorized.currency, authorized.card_last4) == (TOTAL, "usd", "4242")

    intent = await stripe_get(
        sim, f"/v1/payment_intents/{authorized.payment_intent_id}", **{"expand[]": "latest_charge"}
    )
    assert (intent["status"], intent["amount"], intent["capture_method"]) == (
        "requires_capture",
        TOTAL,
        "manual",
    )
    assert intent["transfer_data"] is None and intent["application_fee_amount"] is None
    assert intent["transfer_group"] == group_id
    assert intent["metadata"] == {"group_id": group_id, "payment_id": payment_id}
    charge = intent["latest_charge"]
    assert (charge["transfer_group"], charge["transfer_data"]) == (group_id, None)

    row = await payments.payment(payment_id)
    assert (row["status"], row["booking_id"], row["group_id"], row["transfer_group"]) == (
        "authorized",
        group_id,
        group_id,
        group_id,
    )
    assert row["host_account_id"] is None
    assert (row["amount"], row["platform_fee"]) == (TOTAL, FEES)
    assert row["splits"] == [
        {
            "booking_id": leg.booking_id,
            "host_account_id": leg.host_account_id,
            "amount": leg.amount,
            "platform_fee": leg.platform_fee,
            "tax": leg.tax,
        }
        for leg in checkout.legs
    ]
    # The card is saved to the guest's customer with the authorization, for the legs' extra
    # charges (amendments, overtime) later.
    assert intent["setup_future_usage"] == "off_session"
    assert intent["customer"] is not None and row["customer_id"] == intent["customer"]
    assert row["saved_payment_method"] == intent["payment_method"]
    saved = await stripe_get(sim, f"/v1/payment_methods/{row['saved_payment_method']}")
    assert saved["customer"] == row["customer_id"]


async def test_a_redelivered_group_checkout_takes_no_second_payment(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    checkout = group_checkout(payments)
    env = payments.envelope(checkout, checkout.group_id)
    # A crash after the Stripe call, before the commit: the call runs again ...
    first = await payments.prepare(env)
    second = await payments.prepare(env)
    # ... and Stripe answers it from its idempotency cache: one and the same intent.
    assert first[1].result == second[1].result
    await payments.apply(env, *first)
    await payments.apply(env, *second)
    # The request emitted again (another event id) finds the payment recorded.
    await payments.deliver(checkout, checkout.group_id)

    payment_id = checkout_payment_id(checkout.group_id)
    assert [type(e) for e in await payments.emitted(payment_id)] == [PaymentAuthorizedV1]
    assert len(await stripe_events(sim, "payment_intent.created", checkout.group_id)) == 1
    count = await payments.pool.fetchval(
        "SELECT count(*) FROM payments.payments WHERE booking_id = $1", checkout.group_id
    )
    assert count == 1


async def test_a_declined_card_fails_the_group_payment(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    checkout = await checked_out(payments, payment_method="pm_card_chargeDeclined")
    payment_id = checkout_payment_id(checkout.group_id)
    [failed] = await payments.emitted(payment_id)
    assert isinstance(failed, PaymentFailedV1)
    assert (failed.booking_id, failed.group_id) == (checkout.group_id, checkout.group_id)
    assert (failed.code, failed.decline_code) == ("card_declined", "generic_decline")
    assert failed.purpose == "group_checkout"
    assert (await payments.payment(payment_id))["status"] == "failed"

    # Booking then fails the group: nothing is held, nothing to void.
    await payments.deliver(group_failed(checkout), checkout.group_id)
    assert len(await payments.emitted(payment_id)) == 1
    assert await stripe_events(sim, "payment_intent.canceled", checkout.group_id) == []


async def test_legs_that_do_not_add_up_are_refused_before_any_stripe_call(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    checkout = group_checkout(payments)
    wrong = checkout.model_copy(update={"amount": TOTAL + 1})
    with pytest.raises(PermanentError):
        await payments.deliver(wrong, wrong.group_id)
    wrong_fees = checkout.model_copy(update={"platform_fee": FEES - 1})
    with pytest.raises(PermanentError):
        await payments.deliver(wrong_fees, wrong_fees.group_id)
    assert (await stripe_get(sim, "/v1/events", limit="100"))["data"] == []
    assert await payments.emitted(checkout_payment_id(checkout.group_id)) == []


# -- capture ---------------------------------------------------------------------------------
async def test_capture_takes_the_total_and_splits_it_per_leg(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    checkout = await checked_out(payments)
    payment_id = checkout_payment_id(checkout.group_id)
    await payments.deliver(capture_request(checkout), checkout.group_id)

    authorized, captured = await payments.emitted(payment_id)
    assert isinstance(authorized, PaymentAuthorizedV1) and isinstance(captured, PaymentCapturedV2)
    assert (captured.payment_id, captured.booking_id, captured.group_id) == (
        payment_id,
        checkout.group_id,
        checkout.group_id,
    )
    assert (captured.amount, captured.currency, captured.platform_fee) == (TOTAL, "usd", FEES)
    assert (captured.transfer_group, captured.purpose) == (checkout.group_id, "group_checkout")
    assert captured.payment_intent_id == authorized.payment_intent_id
    assert captured.charge_id is not None and captured.charge_id.startswith("ch_")
    assert [
        (s.booking_id, s.host_account_id, s.amount, s.platform_fee, s.host_amount)
        for s in captured.splits
    ] == [
        (leg.booking_id, leg.host_account_id, leg.amount, leg.platform_fee, leg.amount - fee)
        for leg, fee in zip(checkout.legs, (f for _, _, f in LEGS), strict=True)
    ]
    assert sum(s.amount for s in captured.splits) == captured.amount
    assert sum(s.platform_fee for s in captured.splits) == captured.platform_fee

    intent = await stripe_get(sim, f"/v1/payment_intents/{captured.payment_intent_id}")
    assert (intent["status"], intent["amount_received"]) == ("succeeded", TOTAL)
    row = await payments.payment(payment_id)
    assert (row["status"], row["captured_amount"], row["charge_id"]) == (
        "captured",
        TOTAL,
        captured.charge_id,
    )


async def test_a_redelivered_capture_request_captures_and_emits_once(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    checkout = await checked_out(payments)
    payment_id = checkout_payment_id(checkout.group_id)
    env = payments.envelope(capture_request(checkout), checkout.group_id)
    first = await payments.prepare(env)
    second = await payments.prepare(env)  # a crash before the commit: captured again, replayed
    await payments.apply(env, *first)
    await payments.apply(env, *second)
    await payments.deliver(capture_request(checkout), checkout.group_id)  # emitted again

    assert [type(e) for e in await payments.emitted(payment_id)] == [
        PaymentAuthorizedV1,
        PaymentCapturedV2,
    ]
    assert len(await stripe_events(sim, "charge.captured", checkout.group_id)) == 1


async def test_legs_confirmed_with_the_group_payment_move_no_money(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    checkout = await checked_out(payments)
    payment_id = checkout_payment_id(checkout.group_id)
    await payments.deliver(capture_request(checkout), checkout.group_id)
    before = await stripe_get(sim, "/v1/events", limit="100")

    for leg in checkout.legs:
        confirmed = BookingConfirmedV1(
            booking_id=leg.booking_id, payment_id=payment_id, amount=leg.amount, currency="usd"
        )
        env = payments.envelope(confirmed, leg.booking_id)
        event, prepared = await payments.prepare(env)
        assert prepared is None
        await payments.apply(env, event, prepared)
        # A leg's booking_failed carries no payment id, and even with one it is not a void.
        for payment in (None, payment_id):
            failed = BookingFailedV1(
                booking_id=leg.booking_id, payment_id=payment, reason="booking_not_pending"
            )
            await payments.deliver(failed, leg.booking_id)

    assert [type(e) for e in await payments.emitted(payment_id)] == [
        PaymentAuthorizedV1,
        PaymentCapturedV2,
    ]
    assert await stripe_get(sim, "/v1/events", limit="100") == before
    assert (await payments.payment(payment_id))["status"] == "captured"


async def test_leg_events_before_the_group_capture_neither_capture_nor_void(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    checkout = await checked_out(payments)
    payment_id = checkout_payment_id(checkout.group_id)
    leg = checkout.legs[0]
    for event in (
        BookingConfirmedV1(
            booking_id=leg.booking_id, payment_id=payment_id, amount=leg.amount, currency="usd"
        ),
        BookingFailedV1(booking_id=leg.booking_id, payment_id=payment_id, reason="hold_expired"),
    ):
        await payments.deliver(event, leg.booking_id)
    assert (await payments.payment(payment_id))["status"] == "authorized"
    assert [type(e) for e in await payments.emitted(payment_id)] == [PaymentAuthorizedV1]
    assert await stripe_events(sim, "charge.captured", checkout.group_id) == []
    assert await stripe_events(sim, "payment_intent.canceled", checkout.group_id) == []


async def test_a_lapsed_authorization_fails_the_group_at_capture(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    checkout = await checked_out(payments)
    payment_id = checkout_payment_id(checkout.group_id)
    advance = {"seconds": 8 * 24 * 3600}
    (await sim.post("/_sim/clock/advance", json=advance)).raise_for_status()
    await payments.deliver(capture_request(checkout), checkout.group_id)
    await payments.deliver(capture_request(checkout), checkout.group_id)  # once only

    authorized, failed = await payments.emitted(payment_id)
    assert isinstance(authorized, PaymentAuthorizedV1) and isinstance(failed, PaymentFailedV1)
    assert (failed.booking_id, failed.group_id) == (checkout.group_id, checkout.group_id)
    assert failed.code == "payment_intent_unexpected_state"
    assert (await payments.payment(payment_id))["status"] == "failed"


# -- group failed: void ----------------------------------------------------------------------
@pytest.mark.parametrize("with_payment_id", [True, False], ids=["payment_id", "computed_id"])
async def test_a_failed_group_voids_its_authorization(
    payments: Payments, sim: httpx.AsyncClient, with_payment_id: bool
) -> None:
    checkout = await checked_out(payments)
    payment_id = checkout_payment_id(checkout.group_id)
    failed = group_failed(checkout, with_payment_id=with_payment_id)
    await payments.deliver(failed, checkout.group_id)
    await payments.deliver(failed, checkout.group_id)  # emitted again: voided once

    authorized, voided = await payments.emitted(payment_id)
    assert isinstance(authorized, PaymentAuthorizedV1) and isinstance(voided, PaymentVoidedV1)
    assert (voided.payment_id, voided.booking_id, voided.group_id, voided.reason) == (
        payment_id,
        checkout.group_id,
        checkout.group_id,
        "host_declined",
    )
    intent = await stripe_get(sim, f"/v1/payment_intents/{authorized.payment_intent_id}")
    assert (intent["status"], intent["amount_capturable"]) == ("canceled", 0)
    assert len(await stripe_events(sim, "payment_intent.canceled", checkout.group_id)) == 1
    assert (await payments.payment(payment_id))["status"] == "voided"


async def test_a_group_that_failed_before_paying_changes_nothing(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    checkout = group_checkout(payments)  # never checked out
    env = payments.envelope(group_failed(checkout, with_payment_id=False), checkout.group_id)
    event, prepared = await payments.prepare(env)
    assert prepared is None
    await payments.apply(env, event, prepared)
    assert await payments.emitted(checkout_payment_id(checkout.group_id)) == []


async def test_a_captured_group_payment_is_never_voided(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    checkout = await checked_out(payments)
    await payments.deliver(capture_request(checkout), checkout.group_id)
    with pytest.raises(PermanentError):
        await payments.deliver(group_failed(checkout), checkout.group_id)
    payment_id = checkout_payment_id(checkout.group_id)
    assert (await payments.payment(payment_id))["status"] == "captured"
    assert [type(e) for e in await payments.emitted(payment_id)] == [
        PaymentAuthorizedV1,
        PaymentCapturedV2,
    ]


# -- saved card: charged off-session at the commit point -------------------------------------
async def test_a_saved_card_group_is_charged_off_session_at_capture(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    checkout = await checked_out(payments, save_for_later=True)
    payment_id = checkout_payment_id(checkout.group_id)
    [saved] = await payments.emitted(payment_id)
    assert isinstance(saved, PaymentMethodSavedV1)
    assert (saved.booking_id, saved.group_id) == (checkout.group_id, checkout.group_id)
    assert saved.setup_intent_id.startswith("seti_")
    assert await stripe_events(sim, "payment_intent.created", checkout.group_id) == []

    await payments.deliver(capture_request(checkout), checkout.group_id)
    await payments.deliver(capture_request(checkout), checkout.group_id)  # charged once
    _, captured = await payments.emitted(payment_id)
    assert isinstance(captured, PaymentCapturedV2)
    assert (captured.amount, captured.group_id, captured.transfer_group) == (
        TOTAL,
        checkout.group_id,
        checkout.group_id,
    )
    assert sum(s.amount for s in captured.splits) == TOTAL and len(captured.splits) == 3

    [created] = await stripe_events(sim, "payment_intent.created", checkout.group_id)
    intent = await stripe_get(sim, f"/v1/payment_intents/{created['data']['object']['id']}")
    assert (intent["status"], intent["amount_received"]) == ("succeeded", TOTAL)
    assert (intent["transfer_group"], intent["transfer_data"]) == (checkout.group_id, None)
    assert intent["application_fee_amount"] is None
    assert len(await payments.emitted(payment_id)) == 2


async def test_a_declined_off_session_charge_fails_the_group(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    checkout = await checked_out(payments, save_for_later=True)
    payment_id = checkout_payment_id(checkout.group_id)
    customer = (await payments.payment(payment_id))["customer_id"]
    spec = {"code": "card_declined", "decline_code": "insufficient_funds"}
    response = await sim.post(f"/_sim/customers/{customer}/fail_next_off_session", json=spec)
    response.raise_for_status()

    await payments.deliver(capture_request(checkout), checkout.group_id)
    await payments.deliver(capture_request(checkout), checkout.group_id)
    saved, failed = await payments.emitted(payment_id)
    assert isinstance(saved, PaymentMethodSavedV1) and isinstance(failed, PaymentFailedV1)
    assert (failed.booking_id, failed.group_id) == (checkout.group_id, checkout.group_id)
    assert (failed.code, failed.decline_code) == ("card_declined", "insufficient_funds")
    assert failed.purpose == "group_checkout"  # its saved card's charge, at the capture
    # A group has no payment-due flow: its payment failed for good.
    assert (await payments.payment(payment_id))["status"] == "failed"


async def test_a_failed_group_with_a_saved_card_is_cancelled_silently(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    checkout = await checked_out(payments, save_for_later=True)
    payment_id = checkout_payment_id(checkout.group_id)
    await payments.deliver(group_failed(checkout, with_payment_id=False), checkout.group_id)
    assert (await payments.payment(payment_id))["status"] == "cancelled"
    assert [type(e) for e in await payments.emitted(payment_id)] == [PaymentMethodSavedV1]
    # It can no longer be charged.
    with pytest.raises(PermanentError):
        await payments.deliver(capture_request(checkout), checkout.group_id)
    assert await stripe_events(sim, "payment_intent.created", checkout.group_id) == []


# -- single bookings are captured as v2 too --------------------------------------------------
async def test_a_single_booking_capture_is_v2_with_one_split(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    booking_id = str(uuid.uuid4())
    payments.subjects.append(booking_id)  # cleaned up with the groups
    checkout = CheckoutRequestedV1(
        booking_id=booking_id,
        guest_id=f"guest-{uuid.uuid4().hex[:8]}",
        listing_id="lst_single",
        host_id="host-s",
        host_account_id="acct_1SingleHost",
        starts_at=START,
        ends_at=START + timedelta(hours=2),
        amount=13_500,
        currency="usd",
        platform_fee=2_025,
        payment_method="pm_card_visa",
    )
    await payments.deliver(checkout, booking_id)
    payment_id = checkout_payment_id(booking_id)
    confirmed = BookingConfirmedV1(
        booking_id=booking_id, payment_id=payment_id, amount=13_500, currency="usd"
    )
    await payments.deliver(confirmed, booking_id)

    authorized, captured = await payments.emitted(payment_id)
    assert isinstance(authorized, PaymentAuthorizedV1) and authorized.group_id is None
    assert isinstance(captured, PaymentCapturedV2)
    assert (captured.group_id, captured.transfer_group, captured.platform_fee) == (
        None,
        booking_id,
        2_025,
    )
    assert captured.purpose == "checkout"
    assert [s.model_dump() for s in captured.splits] == [
        {
            "booking_id": booking_id,
            "host_account_id": "acct_1SingleHost",
            "amount": 13_500,
            "platform_fee": 2_025,
            "host_amount": 11_475,
            "tax": 0,
        }
    ]
    intent = await stripe_get(sim, f"/v1/payment_intents/{captured.payment_intent_id}")
    # A separate charge: finance releases the host's share as a transfer.
    assert intent.get("transfer_data") is None
    assert (intent["application_fee_amount"], intent["transfer_group"]) == (None, booking_id)
    assert intent["metadata"] == {"booking_id": booking_id, "payment_id": payment_id}


# -- the capture, as finance and disputes take it --------------------------------------------
async def _consumed(
    service: str, router: EventRouter, env: Envelope, query: str, *args: Any
) -> list[dict[str, Any]]:
    """Apply `env` with the service's own routing table in a transaction that is rolled back
    (ledger rows are append-only), checking deferred constraints first; returns `query`'s rows
    as seen inside it."""
    route = router.route_for(env)
    assert route is not None, (service, env.type, env.version)
    conn = await connect(service_dsn(service))
    try:
        transaction = conn.transaction()
        await transaction.start()
        try:
            await route.apply(conn, env, route.model.model_validate(env.data), None)
            await conn.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the balance check, now
            return [dict(r) for r in await conn.fetch(query, *args)]
        finally:
            await transaction.rollback()
    finally:
        await conn.close()


CHARGE = "SELECT * FROM disputes.charges WHERE payment_id = $1"
POSTINGS = (
    "SELECT p.account, p.amount, j.booking_id FROM finance.postings p "
    "JOIN finance.journals j USING (journal_id) WHERE j.source_event_id = $1 ORDER BY p.posting_id"
)


async def test_finance_and_disputes_take_a_group_capture(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    checkout = await checked_out(payments)
    payment_id = checkout_payment_id(checkout.group_id)
    await payments.deliver(capture_request(checkout), checkout.group_id)
    _, env = await payments.envelopes(payment_id)
    assert (env.type, env.version) == ("payments.payment_captured", 2)

    postings = await _consumed(
        "finance",
        finance_router(FinanceHandlers(Outbox("finance", "finance"))),
        env,
        POSTINGS,
        env.event_id,
    )
    assert {(p["account"], p["amount"]) for p in postings} == {
        ("asset:stripe_balance:pending", TOTAL),
        ("revenue:platform_fees", -FEES),
        ("liability:host_payable:acct_1GroupHostA", -(17_000 + 10_200)),
        ("liability:host_payable:acct_1GroupHostB", -13_600),
    }
    assert {p["booking_id"] for p in postings} == {checkout.group_id}

    [charge] = await _consumed(
        "disputes",
        disputes_router(),
        env,
        CHARGE,
        payment_id,
    )
    assert (charge["booking_id"], charge["group_id"], charge["transfer_group"]) == (
        checkout.group_id,
        checkout.group_id,
        checkout.group_id,
    )
    assert (charge["amount"], charge["host_account_id"]) == (TOTAL, None)
    assert [s["booking_id"] for s in charge["splits"]] == [leg.booking_id for leg in checkout.legs]


async def test_finance_and_disputes_still_take_v1_captures(pg_ready: None) -> None:
    charge = uuid.uuid4().hex
    v1 = PaymentCapturedV1(
        payment_id=f"pay_v1_{uuid.uuid4().hex}",
        booking_id=str(uuid.uuid4()),
        payment_intent_id=f"pi_{charge}",
        charge_id=f"ch_{charge}",
        amount=13_500,
        currency="usd",
        platform_fee=2_025,
        host_amount=11_475,
        host_account_id="acct_1SingleHost",
    )
    env = Envelope.from_bytes(
        make_envelope(
            v1, key=v1.payment_id, producer="payments", correlation_id=uuid.uuid4()
        ).to_bytes()
    )
    postings = await _consumed(
        "finance",
        finance_router(FinanceHandlers(Outbox("finance", "finance"))),
        env,
        POSTINGS,
        env.event_id,
    )
    assert {(p["account"], p["amount"]) for p in postings} == {
        ("asset:stripe_balance:pending", 13_500),
        ("revenue:platform_fees", -2_025),
        ("liability:host_payable:acct_1SingleHost", -11_475),
    }
    [charge] = await _consumed(
        "disputes",
        disputes_router(),
        env,
        CHARGE,
        v1.payment_id,
    )
    assert charge["host_account_id"] == "acct_1SingleHost"
    assert charge["splits"][0]["host_amount"] == 11_475
