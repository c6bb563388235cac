"""The refund saga, payments' and finance's side: `booking.booking_cancelled` with a refund request
→ Stripe (the in-process simulator) → `payments.refund_succeeded` / `refund_failed` → finance's
reversal journal; and a host's cancellation penalty.

Payments runs with its own routing table and handlers against the real test database. Events are
delivered as the consumer delivers them (`prepare` outside any transaction, `apply` in one), and
where retries matter through eventkit's MessageProcessor itself, with a private inbox and a
dead-letter sink that records instead of producing. Events go to a private outbox table, so no
relay ever publishes them. Finance applies events in a transaction that is rolled back (ledger rows
are append-only), after checking its deferred balance constraint.

The Stripe gateway makes no retries of its own here (`max_network_retries=0`), so every injected
failure is one attempt of the refund.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from marketplace_contracts import Envelope, make_envelope
from marketplace_contracts.events.booking import (
    BookingCancelledV1,
    BookingConfirmedV1,
    CheckoutRequestedV1,
    GroupCheckoutRequestedV1,
    RefundLine,
    RefundRequest,
)
from marketplace_contracts.events.payments import (
    PaymentAuthorizedV1,
    PaymentCapturedV2,
    PaymentMethodSavedV1,
    RefundFailedV1,
    RefundSucceededV1,
)
from payments.domain.ids import checkout_payment_id
from payments.service_layer.refunds import RefundNotRetryable
from tests.conftest import service_dsn
from tests.support.finance_harness import balances, finance_applies
from tests.support.payments_harness import (
    STRIPE_AUTH,
    PaymentsHarness,
    captured_group,
    legacy_destination_checkout,
    only,
    payments_harness,
    stripe_get,
)

Payments = PaymentsHarness

pytestmark = [
    pytest.mark.integration,
    # stripe-python's HTTPXClient posts form bodies via `data=`; not our code.
    pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning"),
]

START = datetime(2034, 6, 1, 15, tzinfo=UTC)
HOST = "acct_1RefundHost"
# A single booking: 13 500 paid, 2 025 of platform fee of which 300 is tax.
AMOUNT, FEE, TAX = 13_500, 2_025, 300
# A group: two legs of two hosts.
LEGS = (("acct_1LegHostA", 20_000, 3_000, 400), ("acct_1LegHostB", 16_000, 2_400, 0))
MAX_ATTEMPTS = 4


# -- fixtures --------------------------------------------------------------------------------
@pytest.fixture
async def payments(pg_ready: None, sim: httpx.AsyncClient) -> AsyncIterator[Payments]:
    async with payments_harness(
        str(sim.base_url), refund_max_attempts=MAX_ATTEMPTS, refund_retry_backoff=0.01
    ) as harness:
        yield harness


# -- helpers ---------------------------------------------------------------------------------
def checkout(
    payments: Payments, *, save_for_later: bool = False, amount: int = AMOUNT
) -> CheckoutRequestedV1:
    booking_id = str(uuid.uuid4())
    payments.subjects.append(booking_id)
    return CheckoutRequestedV1(
        booking_id=booking_id,
        guest_id=f"guest-{uuid.uuid4().hex[:8]}",
        listing_id="lst_refund",
        host_id="host-r",
        host_account_id=HOST,
        starts_at=START,
        ends_at=START + timedelta(hours=3),
        amount=amount,
        currency="usd",
        platform_fee=FEE,
        tax=TAX,
        payment_method="pm_card_visa",
        save_for_later=save_for_later,
    )


async def booked(payments: Payments, *, capture: bool = True, **kwargs: Any) -> str:
    """A booking checked out (and, with `capture`, confirmed and captured); its id."""
    request = checkout(payments, **kwargs)
    await payments.deliver(request, request.booking_id)
    if capture:
        confirmed = BookingConfirmedV1(
            booking_id=request.booking_id,
            payment_id=checkout_payment_id(request.booking_id),
            amount=request.amount,
            currency="usd",
        )
        await payments.deliver(confirmed, request.booking_id)
    return request.booking_id


async def group_booked(payments: Payments) -> GroupCheckoutRequestedV1:
    return await captured_group(payments, LEGS, START)


def leg_cancelled(group: GroupCheckoutRequestedV1, leg: Any, **changes: Any) -> BookingCancelledV1:
    """A leg of `group` cancelled with all it paid refunded (its host's, less `changes`)."""
    return cancelled(
        leg.booking_id,
        **{"amount": leg.amount, "platform_fee": leg.platform_fee,
           "host_account_id": leg.host_account_id, "group_id": group.group_id, **changes},
    )  # fmt: skip


def cancelled(
    booking_id: str,
    *,
    amount: int,
    platform_fee: int,
    tax: int = 0,
    host_account_id: str = HOST,
    payment_id: str | None = None,
    group_id: str | None = None,
    refund_id: str | None = None,
    host_penalty: int = 0,
) -> BookingCancelledV1:
    payment_id = payment_id or checkout_payment_id(group_id or booking_id)
    return BookingCancelledV1(
        booking_id=booking_id,
        group_id=group_id,
        cancelled_by="host" if host_penalty else "guest",
        reason="plans_changed",
        policy="flexible@1",
        refund=RefundRequest(
            refund_id=refund_id or f"ref_{uuid.uuid4().hex}",
            payment_id=payment_id,
            amount=amount,
            currency="usd",
            platform_fee=platform_fee,
            host_amount=amount - platform_fee,
            tax=tax,
            host_account_id=host_account_id,
            lines=[RefundLine(code="base", amount=amount - platform_fee)],
        ),
        host_account_id=host_account_id,
        host_penalty=host_penalty,
    )


async def stripe_refunds(sim: httpx.AsyncClient, payment: asyncpg.Record) -> list[dict[str, Any]]:
    """Every refund Stripe made of the payment's intent, oldest first."""
    listed = await stripe_get(
        sim, "/v1/refunds", payment_intent=payment["payment_intent_id"], limit="100"
    )
    return list(reversed(listed["data"]))


async def fail_next_refunds(sim: httpx.AsyncClient, count: int, status: int = 500) -> None:
    spec = {"operation": "refund", "count": count, "status": status}
    (await sim.post("/_sim/fail_next", json=spec)).raise_for_status()


# -- captured single booking: Stripe refunds --------------------------------------------------
async def test_a_full_refund_gives_everything_back_through_stripe(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    booking_id = await booked(payments)
    payment_id = checkout_payment_id(booking_id)
    request = cancelled(booking_id, amount=AMOUNT, platform_fee=FEE, tax=TAX)
    await payments.deliver(request, booking_id)
    assert request.refund is not None

    events = await payments.emitted(payment_id)
    assert [type(e) for e in events] == [PaymentAuthorizedV1, PaymentCapturedV2, RefundSucceededV1]
    succeeded: RefundSucceededV1 = events[-1]  # type: ignore[assignment]
    assert (succeeded.refund_id, succeeded.payment_id, succeeded.booking_id) == (
        request.refund.refund_id,
        payment_id,
        booking_id,
    )
    assert (succeeded.amount, succeeded.platform_fee, succeeded.host_amount, succeeded.tax) == (
        AMOUNT,
        FEE,
        AMOUNT - FEE,
        TAX,
    )
    assert (succeeded.method, succeeded.host_account_id, succeeded.group_id) == (
        "refund",
        HOST,
        None,
    )

    payment = await payments.payment(payment_id)
    [refund] = await stripe_refunds(sim, payment)
    assert (succeeded.stripe_refund_id, refund["amount"], refund["status"]) == (
        refund["id"],
        AMOUNT,
        "succeeded",
    )
    assert refund["metadata"] == {
        "refund_id": request.refund.refund_id,
        "payment_id": payment_id,
        "booking_id": booking_id,
    }
    # A separate charge whose host was not paid yet: the platform gives it all back, nothing
    # is reversed (no transfer, no application fee).
    charge = await stripe_get(sim, f"/v1/charges/{payment['charge_id']}")
    assert charge["refunded"] is True
    assert (charge["transfer"], charge["application_fee"], refund["transfer_reversal"]) == (
        None,
        None,
        None,
    )
    assert (succeeded.cause, payment["transfer_group"]) == ("guest_cancellation", booking_id)
    assert (
        await payments.pool.fetchval(
            "SELECT count(*) FROM payments.transfer_reversals WHERE payment_id = $1", payment_id
        )
        == 0
    )

    assert (payment["status"], payment["captured_amount"], payment["refunded_amount"]) == (
        "captured",
        AMOUNT,
        AMOUNT,
    )
    row = await payments.refund(request.refund.refund_id)
    assert (row["status"], row["method"], row["attempts"], row["stripe_refund_id"]) == (
        "succeeded",
        "refund",
        1,
        refund["id"],
    )
    assert row["lines"] == [{"code": "base", "amount": AMOUNT - FEE}]


async def test_a_partial_refund_gives_back_what_was_asked(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    booking_id = await booked(payments)
    payment_id = checkout_payment_id(booking_id)
    await payments.deliver(
        cancelled(booking_id, amount=6_750, platform_fee=1_000, tax=150), booking_id
    )
    [succeeded] = only(await payments.emitted(payment_id), RefundSucceededV1)
    assert (succeeded.amount, succeeded.method) == (6_750, "refund")
    payment = await payments.payment(payment_id)
    assert [r["amount"] for r in await stripe_refunds(sim, payment)] == [6_750]
    assert payment["refunded_amount"] == 6_750
    charge = await stripe_get(sim, f"/v1/charges/{payment['charge_id']}")
    assert (charge["amount_refunded"], charge["refunded"]) == (6_750, False)


async def test_a_destination_charge_made_before_separate_charges_still_refunds_as_one(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    """Decided from the stored payment (no transfer group), not from configuration: its refund
    reverses Stripe's transfer and application fee itself, as it always did."""
    request = checkout(payments)
    payment_id = await legacy_destination_checkout(payments, request)
    booking_id = request.booking_id
    confirmed = BookingConfirmedV1(
        booking_id=booking_id, payment_id=payment_id, amount=AMOUNT, currency="usd"
    )
    await payments.deliver(confirmed, booking_id)
    [captured] = only(await payments.emitted(payment_id), PaymentCapturedV2)
    assert (captured.transfer_group, captured.purpose) == (None, "checkout")

    await payments.deliver(
        cancelled(booking_id, amount=6_750, platform_fee=1_000, tax=150), booking_id
    )
    [succeeded] = only(await payments.emitted(payment_id), RefundSucceededV1)
    assert (succeeded.amount, succeeded.method) == (6_750, "refund")
    payment = await payments.payment(payment_id)
    charge = await stripe_get(sim, f"/v1/charges/{payment['charge_id']}")
    assert (charge["amount_refunded"], charge["refunded"]) == (6_750, False)
    transfer = await stripe_get(sim, f"/v1/transfers/{charge['transfer']}")
    # Stripe reverses half of the transfer for half of the charge (11 475 / 2, rounded half up),
    # whatever split the request names (5 750 of the host's share here).
    assert transfer["amount_reversed"] == 5_738
    fee = await stripe_get(sim, f"/v1/application_fees/{charge['application_fee']}")
    assert fee["amount_refunded"] > 0
    # Stripe took it back from the host: payments plans no reversal of its own.
    assert (
        await payments.pool.fetchval(
            "SELECT count(*) FROM payments.transfer_reversals WHERE payment_id = $1", payment_id
        )
        == 0
    )


async def test_a_group_payment_is_refunded_leg_by_leg(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    group = await group_booked(payments)
    payment_id = checkout_payment_id(group.group_id)
    first, second = group.legs
    await payments.deliver(leg_cancelled(group, second), second.booking_id)
    await payments.deliver(
        cancelled(
            first.booking_id,
            amount=15_000,
            platform_fee=2_000,
            tax=300,
            host_account_id=first.host_account_id,
            group_id=group.group_id,
        ),
        first.booking_id,
    )
    succeeded = only(await payments.emitted(payment_id), RefundSucceededV1)
    assert [(e.booking_id, e.group_id, e.amount, e.method) for e in succeeded] == [
        (second.booking_id, group.group_id, 16_000, "refund"),
        (first.booking_id, group.group_id, 15_000, "refund"),
    ]
    payment = await payments.payment(payment_id)
    refunds = await stripe_refunds(sim, payment)
    assert [r["amount"] for r in refunds] == [16_000, 15_000]
    # No destination: nothing to reverse, the platform gives it all back.
    assert [r["transfer_reversal"] for r in refunds] == [None, None]
    assert refunds[0]["metadata"]["group_id"] == group.group_id
    assert payment["refunded_amount"] == 31_000 <= payment["captured_amount"] == 36_000

    # The second leg was refunded in full: no more of it can be.
    again = cancelled(
        second.booking_id,
        amount=1_000,
        platform_fee=0,
        host_account_id=second.host_account_id,
        group_id=group.group_id,
    )
    await payments.deliver(again, second.booking_id)
    [failed] = only(await payments.emitted(payment_id), RefundFailedV1)
    assert (failed.code, failed.booking_id, failed.attempts) == (
        "amount_too_large",
        second.booking_id,
        1,
    )
    assert len(await stripe_refunds(sim, payment)) == 2


async def test_two_legs_refunded_at_once_are_both_refunded(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    """Two legs' cancellations are keyed by their own booking ids: other partitions, handled
    concurrently. Each locks the payment while it chooses, neither waits for the other's
    Stripe call."""
    group = await group_booked(payments)
    payment_id = checkout_payment_id(group.group_id)
    requests = [leg_cancelled(group, leg, tax=leg.tax) for leg in group.legs]
    envs = [payments.envelope(r, r.booking_id) for r in requests]
    prepared = await asyncio.gather(*(payments.prepare(env) for env in envs))
    await asyncio.gather(*(payments.apply(env, *p) for env, p in zip(envs, prepared, strict=True)))

    succeeded = only(await payments.emitted(payment_id), RefundSucceededV1)
    assert sorted(e.amount for e in succeeded) == [16_000, 20_000]
    payment = await payments.payment(payment_id)
    assert sorted(r["amount"] for r in await stripe_refunds(sim, payment)) == [16_000, 20_000]
    assert payment["refunded_amount"] == payment["captured_amount"] == 36_000


# -- exactly once ------------------------------------------------------------------------------
async def test_a_redelivered_cancellation_refunds_once(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    booking_id = await booked(payments)
    payment_id = checkout_payment_id(booking_id)
    request = cancelled(booking_id, amount=5_000, platform_fee=750)
    env = payments.envelope(request, booking_id)
    # A crash after the Stripe call, before the commit: the call runs again ...
    first = await payments.prepare(env)
    second = await payments.prepare(env)
    # One outcome per refund of the cancellation; the second try is Stripe's idempotent replay.
    assert [o.stripe_refund_id for o in first[1]] == [o.stripe_refund_id for o in second[1]]
    assert len(first[1]) == 1
    await payments.apply(env, *first)
    await payments.apply(env, *second)
    # ... and booking emitting the same cancellation again (another event id) changes nothing.
    await payments.deliver(request, booking_id)
    assert await payments.consume(request, booking_id) == "handled"

    assert len(only(await payments.emitted(payment_id), RefundSucceededV1)) == 1
    payment = await payments.payment(payment_id)
    assert [r["amount"] for r in await stripe_refunds(sim, payment)] == [5_000]
    assert payment["refunded_amount"] == 5_000


async def test_no_refund_requested_moves_nothing(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    booking_id = await booked(payments)
    payment_id = checkout_payment_id(booking_id)
    nothing = cancelled(booking_id, amount=1, platform_fee=0).model_copy(update={"refund": None})
    env = payments.envelope(nothing, booking_id)
    event, prepared = await payments.prepare(env)
    assert prepared == []
    await payments.apply(env, event, prepared)
    assert [type(e) for e in await payments.emitted(payment_id)] == [
        PaymentAuthorizedV1,
        PaymentCapturedV2,
    ]
    assert await stripe_refunds(sim, await payments.payment(payment_id)) == []


# -- refusals ----------------------------------------------------------------------------------
async def test_more_than_was_captured_is_refused_before_any_stripe_call(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    booking_id = await booked(payments)
    payment_id = checkout_payment_id(booking_id)
    too_much = cancelled(booking_id, amount=AMOUNT + 1, platform_fee=FEE)
    assert await payments.consume(too_much, booking_id) == "handled"  # not dead-lettered
    [failed] = only(await payments.emitted(payment_id), RefundFailedV1)
    assert too_much.refund is not None
    assert (failed.refund_id, failed.code, failed.attempts, failed.amount) == (
        too_much.refund.refund_id,
        "amount_too_large",
        1,
        AMOUNT + 1,
    )
    assert str(AMOUNT + 1) in failed.message
    assert await stripe_refunds(sim, await payments.payment(payment_id)) == []
    row = await payments.refund(too_much.refund.refund_id)
    assert (row["status"], row["failure_code"], row["method"]) == (
        "failed",
        "amount_too_large",
        None,
    )

    # What is left after a refund bounds the next one too.
    await payments.deliver(cancelled(booking_id, amount=10_000, platform_fee=1_500), booking_id)
    await payments.deliver(cancelled(booking_id, amount=3_501, platform_fee=0), booking_id)
    refused = only(await payments.emitted(payment_id), RefundFailedV1)
    assert [f.code for f in refused] == ["amount_too_large", "amount_too_large"]
    assert [r["amount"] for r in await stripe_refunds(sim, await payments.payment(payment_id))] == [
        10_000
    ]
    assert payments.dead_letters.sent == []


async def test_a_refusal_by_stripe_fails_the_refund_at_once(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    """The charge was refunded outside the platform (on the dashboard): Stripe refuses."""
    booking_id = await booked(payments)
    payment_id = checkout_payment_id(booking_id)
    payment = await payments.payment(payment_id)
    outside = await sim.post(
        "/v1/refunds",
        data={"payment_intent": payment["payment_intent_id"]},
        headers=STRIPE_AUTH,
    )
    outside.raise_for_status()
    request = cancelled(booking_id, amount=1_000, platform_fee=150)
    assert await payments.consume(request, booking_id) == "handled"
    [failed] = only(await payments.emitted(payment_id), RefundFailedV1)
    assert (failed.code, failed.attempts) == ("charge_already_refunded", 1)
    assert (await payments.payment(payment_id))["refunded_amount"] == 0


# -- retries -----------------------------------------------------------------------------------
async def test_transient_stripe_failures_are_retried_and_refund_once(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    booking_id = await booked(payments)
    payment_id = checkout_payment_id(booking_id)
    await fail_next_refunds(sim, 2)
    request = cancelled(booking_id, amount=4_000, platform_fee=600)
    assert await payments.consume(request, booking_id) == "handled"

    [succeeded] = only(await payments.emitted(payment_id), RefundSucceededV1)
    payment = await payments.payment(payment_id)
    [refund] = await stripe_refunds(sim, payment)
    assert (refund["id"], refund["amount"]) == (succeeded.stripe_refund_id, 4_000)
    assert request.refund is not None
    row = await payments.refund(request.refund.refund_id)
    assert (row["status"], row["attempts"]) == ("succeeded", 3)
    assert row["last_error"].startswith("stripe_api_error")  # what the failed tries said
    assert payments.dead_letters.sent == []


async def test_exhausted_attempts_fail_the_refund_then_ops_retry_it(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    booking_id = await booked(payments)
    payment_id = checkout_payment_id(booking_id)
    await fail_next_refunds(sim, 10, status=503)
    request = cancelled(booking_id, amount=4_000, platform_fee=600)
    assert request.refund is not None
    refund_id = request.refund.refund_id
    assert await payments.consume(request, booking_id, consumer_attempts=5) == "handled"

    [failed] = only(await payments.emitted(payment_id), RefundFailedV1)
    assert (failed.refund_id, failed.code, failed.attempts) == (
        refund_id,
        "stripe_api_error",
        MAX_ATTEMPTS,
    )
    assert failed.message
    assert payments.dead_letters.sent == []  # recorded failed instead of dead-lettered
    row = await payments.refund(refund_id)
    assert (row["status"], row["attempts"], row["method"]) == ("failed", MAX_ATTEMPTS, "refund")
    payment = await payments.payment(payment_id)
    assert await stripe_refunds(sim, payment) == []

    # Redelivered while failed: decided, nothing happens.
    assert await payments.consume(request, booking_id) == "handled"
    assert len(only(await payments.emitted(payment_id), RefundFailedV1)) == 1

    # Ops retry it once Stripe is back: refunded once (under the reopening's key), succeeded.
    (await sim.delete("/_sim/failures")).raise_for_status()
    final = await payments.handlers.refunds.retry(refund_id)
    assert (final["status"], final["method"], final["attempts"]) == ("succeeded", "refund", 1)
    [succeeded] = only(await payments.emitted(payment_id), RefundSucceededV1)
    [refund] = await stripe_refunds(sim, await payments.payment(payment_id))
    assert (succeeded.refund_id, succeeded.stripe_refund_id, refund["amount"]) == (
        refund_id,
        refund["id"],
        4_000,
    )
    assert (await payments.payment(payment_id))["refunded_amount"] == 4_000
    # Nothing left to retry.
    with pytest.raises(RefundNotRetryable):
        await payments.handlers.refunds.retry(refund_id)
    with pytest.raises(RefundNotRetryable):
        await payments.handlers.refunds.retry("ref_unknown")


async def test_a_refund_refused_during_a_dispute_is_made_by_a_retry_once_it_is_won(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    """Stripe refused the refund (`charge_disputed`: the bank's dispute reached Stripe first)
    and keeps that answer under the call's key for 24 hours: ops' retry after the dispute was
    won calls under a key of its own, and is refunded once."""
    booking_id = await booked(payments)
    payment_id = checkout_payment_id(booking_id)
    charge = (await payments.payment(payment_id))["charge_id"]
    opened = await sim.post(f"/_sim/charges/{charge}/dispute", json={"reason": "fraudulent"})
    opened.raise_for_status()
    request = cancelled(booking_id, amount=4_000, platform_fee=600)
    assert request.refund is not None
    refund_id = request.refund.refund_id
    assert await payments.consume(request, booking_id) == "handled"
    row = await payments.refund(refund_id)
    assert (row["status"], row["failure_code"]) == ("failed", "charge_disputed")
    won = await sim.post(f"/_sim/disputes/{opened.json()['id']}/resolve", json={"won": True})
    won.raise_for_status()

    final = await payments.handlers.refunds.retry(refund_id)
    assert (final["status"], final["reopened"]) == ("succeeded", 1)
    [refund] = await stripe_refunds(sim, await payments.payment(payment_id))
    assert refund["amount"] == 4_000 and refund["metadata"]["refund_id"] == refund_id
    [succeeded] = only(await payments.emitted(payment_id), RefundSucceededV1)
    assert succeeded.stripe_refund_id == refund["id"]


async def test_a_retry_finds_the_refund_stripe_made_after_all(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    """A refund recorded failed that Stripe did make (its answer lost): a retry under a new key
    must not refund twice; it finds the refund by its id and records it."""
    booking_id = await booked(payments)
    payment_id = checkout_payment_id(booking_id)
    await fail_next_refunds(sim, 10, status=503)
    request = cancelled(booking_id, amount=1_000, platform_fee=150)
    assert request.refund is not None
    refund_id = request.refund.refund_id
    await payments.consume(request, booking_id, consumer_attempts=5)
    assert (await payments.refund(refund_id))["status"] == "failed"
    (await sim.delete("/_sim/failures")).raise_for_status()
    intent = (await payments.payment(payment_id))["payment_intent_id"]
    made = await sim.post(  # what a lost answer would have left at Stripe
        "/v1/refunds",
        data={"payment_intent": intent, "amount": "1000", "metadata[refund_id]": refund_id},
        headers={"Authorization": "Bearer sk_test_sim"},
    )
    made.raise_for_status()
    final = await payments.handlers.refunds.retry(refund_id)
    assert (final["status"], final["stripe_refund_id"]) == ("succeeded", made.json()["id"])
    assert len(await stripe_refunds(sim, await payments.payment(payment_id))) == 1


async def test_an_ops_retry_that_fails_again_is_recorded_failed_again(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    booking_id = await booked(payments)
    payment_id = checkout_payment_id(booking_id)
    await fail_next_refunds(sim, MAX_ATTEMPTS * 2)
    request = cancelled(booking_id, amount=1_000, platform_fee=150)
    assert request.refund is not None
    await payments.consume(request, booking_id)
    final = await payments.handlers.refunds.retry(request.refund.refund_id)
    assert (final["status"], final["attempts"], final["failure_code"]) == (
        "failed",
        MAX_ATTEMPTS,
        "stripe_api_error",
    )
    failed = only(await payments.emitted(payment_id), RefundFailedV1)
    assert [f.attempts for f in failed] == [MAX_ATTEMPTS, MAX_ATTEMPTS]
    assert await stripe_refunds(sim, await payments.payment(payment_id)) == []


# -- a payment not captured ----------------------------------------------------------------------
async def test_refunding_a_whole_authorization_voids_it(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    booking_id = await booked(payments, capture=False)
    payment_id = checkout_payment_id(booking_id)
    await payments.deliver(
        cancelled(booking_id, amount=AMOUNT, platform_fee=FEE, tax=TAX), booking_id
    )
    events = await payments.emitted(payment_id)
    assert [type(e) for e in events] == [PaymentAuthorizedV1, RefundSucceededV1]
    assert (events[-1].method, events[-1].stripe_refund_id) == ("void", None)  # type: ignore[attr-defined]
    payment = await payments.payment(payment_id)
    assert (payment["status"], payment["stripe_status"]) == ("voided", "canceled")
    intent = await stripe_get(sim, f"/v1/payment_intents/{payment['payment_intent_id']}")
    assert (intent["status"], intent["amount_received"]) == ("canceled", 0)
    assert await stripe_refunds(sim, payment) == []


async def test_refunding_part_of_an_authorization_captures_the_rest(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    booking_id = await booked(payments, capture=False)
    payment_id = checkout_payment_id(booking_id)
    # Refund 5 000 of 13 500: 750 of the fee (100 of it tax), 4 250 of the host's share.
    request = cancelled(booking_id, amount=5_000, platform_fee=750, tax=100)
    await payments.deliver(request, booking_id)
    await payments.deliver(request, booking_id)  # emitted again: captured once

    events = await payments.emitted(payment_id)
    assert [type(e) for e in events] == [PaymentAuthorizedV1, PaymentCapturedV2, RefundSucceededV1]
    captured: PaymentCapturedV2 = events[1]  # type: ignore[assignment]
    assert (captured.amount, captured.platform_fee) == (8_500, 1_275)
    assert [s.model_dump() for s in captured.splits] == [
        {
            "booking_id": booking_id,
            "host_account_id": HOST,
            "amount": 8_500,
            "platform_fee": 1_275,
            "host_amount": 7_225,
            "tax": 200,
        }
    ]
    assert events[2].method == "partial_capture"  # type: ignore[attr-defined]
    payment = await payments.payment(payment_id)
    assert (payment["status"], payment["captured_amount"], payment["refunded_amount"]) == (
        "captured",
        8_500,
        0,
    )
    intent = await stripe_get(sim, f"/v1/payment_intents/{payment['payment_intent_id']}")
    # A separate charge: no application fee; the platform keeps the capture until finance
    # releases the host's 7 225.
    assert (intent["status"], intent["amount_received"], intent["application_fee_amount"]) == (
        "succeeded",
        8_500,
        None,
    )
    assert await stripe_refunds(sim, payment) == []
    # What was captured can still be refunded, in part, and never beyond it.
    await payments.deliver(cancelled(booking_id, amount=3_000, platform_fee=450), booking_id)
    await payments.deliver(cancelled(booking_id, amount=5_501, platform_fee=0), booking_id)
    later = (await payments.emitted(payment_id))[3:]
    assert [(type(e), e.amount) for e in later] == [  # type: ignore[attr-defined]
        (RefundSucceededV1, 3_000),
        (RefundFailedV1, 5_501),
    ]
    assert (later[0].method, later[1].code) == ("refund", "amount_too_large")  # type: ignore[attr-defined]
    payment = await payments.payment(payment_id)
    assert [r["amount"] for r in await stripe_refunds(sim, payment)] == [3_000]
    assert (payment["captured_amount"], payment["refunded_amount"]) == (8_500, 3_000)


async def test_a_saved_card_never_charged_has_nothing_to_give_back(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    booking_id = await booked(payments, capture=False, save_for_later=True)
    payment_id = checkout_payment_id(booking_id)
    await payments.deliver(cancelled(booking_id, amount=AMOUNT, platform_fee=FEE), booking_id)
    events = await payments.emitted(payment_id)
    assert [type(e) for e in events] == [PaymentMethodSavedV1, RefundSucceededV1]
    assert (events[-1].method, events[-1].amount) == ("none", AMOUNT)  # type: ignore[attr-defined]
    # The cancelled booking's card will never be charged.
    assert (await payments.payment(payment_id))["status"] == "cancelled"
    intents = await stripe_get(sim, "/v1/events", type="payment_intent.created", limit="100")
    assert intents["data"] == []


async def test_a_refund_for_an_unknown_payment_fails(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    booking_id = str(uuid.uuid4())
    payments.subjects.append(booking_id)
    request = cancelled(booking_id, amount=1_000, platform_fee=100)
    await payments.deliver(request, booking_id)
    [failed] = await payments.emitted(checkout_payment_id(booking_id))
    assert isinstance(failed, RefundFailedV1)
    assert (failed.code, failed.booking_id) == ("payment_not_found", booking_id)


# -- finance -------------------------------------------------------------------------------------
async def test_finance_reverses_a_refund_and_splits_tax_out_of_fees(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    booking_id = await booked(payments)
    payment_id = checkout_payment_id(booking_id)
    await payments.deliver(
        cancelled(booking_id, amount=6_750, platform_fee=1_000, tax=150), booking_id
    )
    _, captured, refunded = await payments.envelopes(payment_id)
    assert (captured.type, refunded.type) == (
        "payments.payment_captured",
        "payments.refund_succeeded",
    )
    postings = await finance_applies([captured, refunded])
    payable = f"liability:host_payable:{HOST}"
    assert balances(postings, "guest_payment_captured") == {
        "asset:stripe_balance:pending": AMOUNT,
        "revenue:platform_fees": -(FEE - TAX),
        "liability:tax_payable": -TAX,
        payable: -(AMOUNT - FEE),
    }
    assert balances(postings, "guest_refund") == {
        "asset:stripe_balance:pending": -6_750,
        "revenue:platform_fees": 1_000 - 150,
        "liability:tax_payable": 150,
        payable: 5_750,
    }
    assert {p["booking_id"] for p in postings} == {booking_id}
    # each journal names the Stripe object it books: the charge, the refund
    assert {p["stripe_object_id"] for p in postings} == {
        captured.data["charge_id"],
        refunded.data["stripe_refund_id"],
    }
    assert all(p["stripe_object_id"] for p in postings)
    assert balances(postings) == {
        "asset:stripe_balance:pending": AMOUNT - 6_750,
        "revenue:platform_fees": -(FEE - TAX) + 850,
        "liability:tax_payable": -TAX + 150,
        payable: -(AMOUNT - FEE) + 5_750,
    }


async def test_finance_posts_nothing_for_a_void_and_books_a_smaller_capture(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    voided = await booked(payments, capture=False)
    await payments.deliver(cancelled(voided, amount=AMOUNT, platform_fee=FEE), voided)
    _, void_refund = await payments.envelopes(checkout_payment_id(voided))
    assert await finance_applies([void_refund]) == []

    partly = await booked(payments, capture=False)
    await payments.deliver(cancelled(partly, amount=5_000, platform_fee=750, tax=100), partly)
    _, captured, refund = await payments.envelopes(checkout_payment_id(partly))
    postings = await finance_applies([captured, refund])
    assert {p["kind"] for p in postings} == {"guest_payment_captured"}
    assert balances(postings) == {
        "asset:stripe_balance:pending": 8_500,
        "revenue:platform_fees": -(1_275 - 200),
        "liability:tax_payable": -200,
        f"liability:host_payable:{HOST}": -7_225,
    }


async def test_finance_books_a_host_penalty_as_what_the_host_owes(
    payments: Payments, sim: httpx.AsyncClient
) -> None:
    booking_id = str(uuid.uuid4())
    penalty = cancelled(booking_id, amount=AMOUNT, platform_fee=FEE, host_penalty=2_500)
    env = Envelope.from_bytes(
        make_envelope(
            penalty, key=booking_id, producer="booking", correlation_id=uuid.uuid4()
        ).to_bytes()
    )
    postings = await finance_applies([env])
    assert [(p["kind"], p["account"], p["amount"]) for p in postings] == [
        ("host_penalty", f"asset:host_receivable:{HOST}", 2_500),
        ("host_penalty", "revenue:host_penalties", -2_500),
    ]
    # Without a refund to take the currency from, the booking's posted payment gives it.
    booking_id = await booked(payments)
    _, captured = await payments.envelopes(checkout_payment_id(booking_id))
    no_refund = cancelled(booking_id, amount=1, platform_fee=0, host_penalty=1_000).model_copy(
        update={"refund": None}
    )
    env = payments.envelope(no_refund, booking_id)
    postings = await finance_applies([captured, env])
    assert balances(postings, "host_penalty") == {
        f"asset:host_receivable:{HOST}": 1_000,
        "revenue:host_penalties": -1_000,
    }
    # A guest's cancellation charges no host.
    guest = cancelled(booking_id, amount=AMOUNT, platform_fee=FEE)
    env = Envelope.from_bytes(
        make_envelope(
            guest, key=booking_id, producer="booking", correlation_id=uuid.uuid4()
        ).to_bytes()
    )
    assert await finance_applies([env]) == []


def test_the_retry_refund_command_says_when_there_is_nothing_to_retry(pg_ready: None) -> None:
    env = {**os.environ, "PAYMENTS_DATABASE_URL": service_dsn("payments")}
    done = subprocess.run(
        [sys.executable, "-m", "payments", "retry-refund", f"ref_missing_{uuid.uuid4().hex}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "does not exist" in done.stderr
