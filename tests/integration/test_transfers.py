"""Connect transfers per leg: finance releases a host's share (`finance.payout_released`) →
payments transfers it through Stripe (the in-process simulator) → `payments.transfer_created` /
`transfer_failed` → finance's `host_transfer` journal; a refund of a share already transferred
is taken back by a transfer reversal (`payments.transfer_reversed`).

Payments runs with its own routing table and handlers (the shared harness: private outbox and
inbox, real test database). Finance runs its routing table and its release in one transaction
per test that is rolled back at the end (ledger rows are append-only), after checking its
deferred balance constraint; every finance fact is applied twice (one effect per fact).
"""

from __future__ import annotations

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

from eventkit.db import connect
from eventkit.outbox import Outbox
from finance.domain.payouts import PayoutRefused
from finance.entrypoints.consumers import build_router as finance_router
from finance.service_layer.handlers import FinanceHandlers
from finance.service_layer.payouts import Payouts
from marketplace_contracts import Envelope, EventModel, make_envelope
from marketplace_contracts.events.booking import (
    BookingCancelledV1,
    BookingConfirmedV1,
    CheckoutRequestedV1,
    GroupCheckoutRequestedV1,
    GroupLeg,
    RefundLine,
    RefundRequest,
)
from marketplace_contracts.events.finance import PayoutReleasedV1
from marketplace_contracts.events.payments import (
    FundsClearedV1,
    PaymentCapturedV2,
    PaymentReturnedV1,
    PaymentSplit,
    RefundSucceededV1,
    TransferCreatedV1,
    TransferFailedV1,
    TransferReversalFailedV1,
    TransferReversedV1,
)
from payments.domain.ids import checkout_payment_id
from tests.conftest import service_dsn
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

START = datetime(2034, 7, 1, 15, tzinfo=UTC)
# Two legs of two hosts: host amounts 17 000 and 14 000.
LEGS = (("acct_1TransferHostA", 20_000, 3_000, 400), ("acct_1TransferHostB", 16_000, 2_000, 0))
STRIPE_BALANCE = "asset:stripe_balance:pending"


def payable(account: str) -> str:
    return f"liability:host_payable:{account}"


# -- fixtures --------------------------------------------------------------------------------
@pytest.fixture
async def payments(pg_ready: None, sim: httpx.AsyncClient) -> AsyncIterator[Payments]:
    async with payments_harness(str(sim.base_url)) as harness:
        yield harness
        payment_ids = [checkout_payment_id(s) for s in harness.subjects]
        for table in ("transfer_reversals", "transfers"):
            await harness.pool.execute(
                f"DELETE FROM payments.{table} WHERE payment_id = ANY($1::text[])", payment_ids
            )


class Finance:
    """Finance's routing table and release on one connection, inside a transaction."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        handlers = FinanceHandlers(Outbox("finance", "finance"))
        self.payouts = Payouts(handlers.outbox)
        self.router = finance_router(handlers, self.payouts)
        self.applied: list[Envelope] = []

    async def apply(self, *envs: Envelope) -> None:
        """Each fact twice, as a redelivery would bring it (the inbox left out)."""
        for env in [*envs, *envs]:
            route = self.router.route_for(env)
            assert route is not None, env.type
            await route.apply(self.conn, env, route.model.model_validate(env.data), None)
        self.applied.extend(envs)

    async def release(self, booking_id: str, **kwargs: Any) -> list[PayoutReleasedV1]:
        return await self.payouts.release(self.conn, booking_id, **kwargs)

    async def payable(self, payment_id: str, booking_id: str) -> asyncpg.Record:
        row = await self.conn.fetchrow(
            "SELECT * FROM finance.payables WHERE payment_id = $1 AND booking_id = $2",
            payment_id,
            booking_id,
        )
        assert row is not None
        return row

    async def postings(self) -> list[dict[str, Any]]:
        await self.conn.execute("SET CONSTRAINTS ALL IMMEDIATE")  # every journal balances
        # a journal keyed by what it books (a return: by its payment) names its booking
        rows = await self.conn.fetch(
            "SELECT j.kind, j.booking_id, p.account, p.amount FROM finance.postings p "
            "JOIN finance.journals j USING (journal_id) WHERE j.source_event_id = ANY($1::uuid[]) "
            "OR (j.kind = 'payment_returned' AND j.booking_id = ANY($2::text[])) "
            "ORDER BY p.posting_id",
            [env.event_id for env in self.applied],
            [env.data.get("booking_id") for env in self.applied],
        )
        await self.conn.execute("SET CONSTRAINTS ALL DEFERRED")  # later journals: at the end
        return [dict(r) for r in rows]


@pytest.fixture
async def finance(pg_ready: None) -> AsyncIterator[Finance]:
    conn = await connect(service_dsn("finance"))
    transaction = conn.transaction()
    await transaction.start()
    try:
        yield Finance(conn)
    finally:
        await transaction.rollback()
        await conn.close()


# -- helpers ---------------------------------------------------------------------------------
def envelope(event: EventModel, key: str, producer: str = "payments") -> Envelope:
    env = make_envelope(event, key=key, producer=producer, correlation_id=uuid.uuid4())
    return Envelope.from_bytes(env.to_bytes())


async def group_captured(payments: Payments) -> GroupCheckoutRequestedV1:
    return await captured_group(
        payments, LEGS, START, listing_prefix="lst_tr_", host_prefix="host-tr-"
    )


async def captured_envelope(payments: Payments, payment_id: str) -> Envelope:
    [env] = [e for e in await payments.envelopes(payment_id) if e.type == PaymentCapturedV2.TYPE]
    return env


async def emitted_envelopes(payments: Payments, payment_id: str, kind: type) -> list[Envelope]:
    return [e for e in await payments.envelopes(payment_id) if e.type == kind.TYPE]


def host_amount(leg: GroupLeg) -> int:
    return leg.amount - leg.platform_fee


async def transfers_of(sim: httpx.AsyncClient, group_id: str) -> list[dict[str, Any]]:
    listed = await stripe_get(sim, "/v1/transfers", transfer_group=group_id, limit="100")
    return list(listed["data"])


def cancellation(
    group: GroupCheckoutRequestedV1, leg: GroupLeg, *, amount: int, platform_fee: int
) -> BookingCancelledV1:
    return BookingCancelledV1(
        booking_id=leg.booking_id,
        group_id=group.group_id,
        cancelled_by="guest",
        reason="plans_changed",
        policy="flexible@1",
        refund=RefundRequest(
            refund_id=f"ref_{uuid.uuid4().hex}",
            payment_id=checkout_payment_id(group.group_id),
            amount=amount,
            currency="usd",
            platform_fee=platform_fee,
            host_amount=amount - platform_fee,
            tax=0,
            host_account_id=leg.host_account_id,
            lines=[RefundLine(code="base", amount=amount - platform_fee)],
        ),
        host_account_id=leg.host_account_id,
    )


async def released_and_transferred(
    payments: Payments, finance: Finance, group: GroupCheckoutRequestedV1, leg: GroupLeg
) -> TransferCreatedV1:
    """Finance releases the leg; payments transfers it; finance books the transfer."""
    payment_id = checkout_payment_id(group.group_id)
    [release] = await finance.release(leg.booking_id)
    await payments.deliver(release, release.release_id, envelope(release, release.release_id))
    [created] = [
        e
        for e in only(await payments.emitted(payment_id), TransferCreatedV1)
        if e.release_id == release.release_id
    ]
    [env] = [
        e
        for e in await emitted_envelopes(payments, payment_id, TransferCreatedV1)
        if e.data["release_id"] == release.release_id
    ]
    await finance.apply(env)
    return created


def balances(postings: list[dict[str, Any]], kind: str | None = None) -> dict[str, int]:
    totals: dict[str, int] = {}
    for p in postings:
        if kind is None or p["kind"] == kind:
            totals[p["account"]] = totals.get(p["account"], 0) + p["amount"]
    return {a: v for a, v in totals.items() if v}


# -- release → one transfer per leg ----------------------------------------------------------
async def test_releasing_a_leg_transfers_its_host_share_once(
    payments: Payments, finance: Finance, sim: httpx.AsyncClient
) -> None:
    group = await group_captured(payments)
    payment_id = checkout_payment_id(group.group_id)
    first, second = group.legs
    await finance.apply(await captured_envelope(payments, payment_id))

    [release] = await finance.release(first.booking_id)
    assert release.release_id == f"rel_{payment_id}_{first.booking_id}_1"
    assert (release.payment_id, release.booking_id, release.group_id) == (
        payment_id,
        first.booking_id,
        group.group_id,
    )
    assert (release.host_account_id, release.amount, release.currency) == (
        first.host_account_id,
        host_amount(first),
        "usd",
    )
    released_row = await finance.payable(payment_id, first.booking_id)
    assert released_row["released"] == host_amount(first)
    # What finance wrote to its outbox, in the release's transaction, is that release.
    outboxed = await finance.conn.fetchval(
        "SELECT count(*) FROM finance.outbox WHERE key = $1 AND event_type = $2",
        release.release_id,
        PayoutReleasedV1.TYPE,
    )
    assert outboxed == 1

    env = envelope(release, release.release_id, producer="finance")
    # A crash after the Stripe call, before the commit: the call runs again, replayed.
    first_try = await payments.prepare(env)
    second_try = await payments.prepare(env)
    assert first_try[1].transfer_id == second_try[1].transfer_id is not None
    await payments.apply(env, *first_try)
    await payments.apply(env, *second_try)
    await payments.deliver(release, release.release_id)  # the release emitted again

    [transfer] = await transfers_of(sim, group.group_id)
    payment = await payments.payment(payment_id)
    assert (transfer["amount"], transfer["currency"], transfer["destination"]) == (
        host_amount(first),
        "usd",
        first.host_account_id,
    )
    assert (transfer["transfer_group"], transfer["source_transaction"]) == (
        group.group_id,
        payment["charge_id"],
    )
    assert transfer["metadata"] == {
        "payment_id": payment_id,
        "booking_id": first.booking_id,
        "release_id": release.release_id,
    }
    [created] = only(await payments.emitted(payment_id), TransferCreatedV1)
    assert (created.transfer_id, created.release_id, created.amount) == (
        transfer["id"],
        release.release_id,
        host_amount(first),
    )
    assert (created.booking_id, created.group_id, created.transfer_group) == (
        first.booking_id,
        group.group_id,
        group.group_id,
    )
    row = await payments.pool.fetchrow(
        "SELECT * FROM payments.transfers WHERE release_id = $1", release.release_id
    )
    assert (row["status"], row["transfer_id"], row["amount"]) == (
        "created",
        transfer["id"],
        host_amount(first),
    )

    # Finance books it: the host is paid out of the Stripe balance, once.
    [created_env] = await emitted_envelopes(payments, payment_id, TransferCreatedV1)
    await finance.apply(created_env)
    postings = await finance.postings()
    assert balances(postings, "host_transfer") == {
        payable(first.host_account_id): host_amount(first),
        STRIPE_BALANCE: -host_amount(first),
    }
    assert balances(postings) == {
        STRIPE_BALANCE: group.amount - host_amount(first),
        "revenue:platform_fees": -(group.platform_fee - 400),
        "liability:tax_payable": -400,
        payable(second.host_account_id): -host_amount(second),  # still owed
    }
    decided = await finance.conn.fetchrow(
        "SELECT * FROM finance.payout_releases WHERE release_id = $1", release.release_id
    )
    assert (decided["status"], decided["transfer_id"]) == ("transferred", transfer["id"])

    # Nothing is left of that leg; the other leg is released on its own.
    with pytest.raises(PayoutRefused) as refused:
        await finance.release(first.booking_id)
    assert refused.value.code == "nothing_to_release"
    await released_and_transferred(payments, finance, group, second)
    transfers = await transfers_of(sim, group.group_id)
    assert sorted((t["destination"], t["amount"]) for t in transfers) == [
        (first.host_account_id, host_amount(first)),
        (second.host_account_id, host_amount(second)),
    ]
    # Every host paid: what remains at Stripe is the platform's fees.
    assert balances(await finance.postings()) == {
        STRIPE_BALANCE: group.platform_fee,
        "revenue:platform_fees": -(group.platform_fee - 400),
        "liability:tax_payable": -400,
    }


async def test_a_transient_stripe_failure_is_retried_and_transfers_once(
    payments: Payments, finance: Finance, sim: httpx.AsyncClient
) -> None:
    group = await group_captured(payments)
    await finance.apply(await captured_envelope(payments, checkout_payment_id(group.group_id)))
    [release] = await finance.release(group.legs[0].booking_id)
    spec = {"path": "/v1/transfers", "count": 2, "status": 500, "method": "POST"}
    (await sim.post("/_sim/failures", json=spec)).raise_for_status()

    outcome = await payments.consume(envelope(release, release.release_id), release.release_id)
    assert outcome == "handled"
    assert len(await transfers_of(sim, group.group_id)) == 1
    [created] = only(await payments.emitted(checkout_payment_id(group.group_id)), TransferCreatedV1)
    assert created.release_id == release.release_id


# -- refusals --------------------------------------------------------------------------------
async def test_more_than_is_owed_is_refused_and_announced_without_a_transfer(
    payments: Payments, finance: Finance, sim: httpx.AsyncClient
) -> None:
    group = await group_captured(payments)
    payment_id = checkout_payment_id(group.group_id)
    first = group.legs[0]
    await finance.apply(await captured_envelope(payments, payment_id))

    # Finance refuses to release more than it owes ...
    with pytest.raises(PayoutRefused) as refused:
        await finance.release(first.booking_id, amount=host_amount(first) + 1)
    assert refused.value.code == "amount_exceeds_available"

    # ... and so does payments, whatever asks it: recorded, announced, no Stripe call.
    too_much = PayoutReleasedV1(
        release_id=f"rel_{payment_id}_{first.booking_id}_x",
        payment_id=payment_id,
        booking_id=first.booking_id,
        group_id=group.group_id,
        host_account_id=first.host_account_id,
        amount=host_amount(first) + 1,
        currency="usd",
    )
    env = envelope(too_much, too_much.release_id, producer="finance")
    await payments.deliver(too_much, too_much.release_id, env)
    await payments.deliver(too_much, too_much.release_id, env)  # redelivered: nothing more
    wrong_host = too_much.model_copy(
        update={"release_id": "rel_wrong_host", "amount": 1, "host_account_id": "acct_1Other"}
    )
    await payments.deliver(wrong_host, wrong_host.release_id)
    no_leg = too_much.model_copy(
        update={"release_id": "rel_no_leg", "amount": 1, "booking_id": "not-a-leg"}
    )
    await payments.deliver(no_leg, no_leg.release_id)
    failed = only(await payments.emitted(payment_id), TransferFailedV1)
    assert [(f.release_id, f.code) for f in failed] == [
        (too_much.release_id, "amount_exceeds_available"),
        ("rel_wrong_host", "host_account_mismatch"),
        ("rel_no_leg", "booking_not_in_payment"),
    ]
    assert await transfers_of(sim, group.group_id) == []

    # A release that failed is owed again: finance may release it anew.
    [release] = await finance.release(first.booking_id, amount=5_000)
    failed_release = TransferFailedV1(
        release_id=release.release_id,
        payment_id=payment_id,
        booking_id=first.booking_id,
        host_account_id=first.host_account_id,
        amount=5_000,
        currency="usd",
        code="account_invalid",
    )
    await finance.apply(envelope(failed_release, payment_id))
    row = await finance.payable(payment_id, first.booking_id)
    assert row["released"] == 0
    [again] = await finance.release(first.booking_id)
    assert (again.release_id[-2:], again.amount) == ("_2", host_amount(first))


async def test_a_stripe_refusal_is_recorded_failed(
    payments: Payments, finance: Finance, sim: httpx.AsyncClient
) -> None:
    group = await group_captured(payments)
    await finance.apply(await captured_envelope(payments, checkout_payment_id(group.group_id)))
    [release] = await finance.release(group.legs[1].booking_id)
    spec = {"path": "/v1/transfers", "count": 1, "status": 400, "method": "POST"}
    (await sim.post("/_sim/failures", json=spec)).raise_for_status()
    await payments.deliver(release, release.release_id)
    [failed] = only(await payments.emitted(checkout_payment_id(group.group_id)), TransferFailedV1)
    assert failed.release_id == release.release_id and failed.code
    row = await payments.pool.fetchrow(
        "SELECT * FROM payments.transfers WHERE release_id = $1", release.release_id
    )
    assert (row["status"], row["transfer_id"]) == ("failed", None)


# -- refunds and reversals -------------------------------------------------------------------
async def test_a_refund_of_a_transferred_leg_reverses_the_hosts_refunded_share(
    payments: Payments, finance: Finance, sim: httpx.AsyncClient
) -> None:
    group = await group_captured(payments)
    payment_id = checkout_payment_id(group.group_id)
    first = group.legs[0]
    await finance.apply(await captured_envelope(payments, payment_id))
    created = await released_and_transferred(payments, finance, group, first)

    # The guest cancels the leg: 12 000 back, of which 10 500 was the host's.
    cancel = cancellation(group, first, amount=12_000, platform_fee=1_500)
    assert cancel.refund is not None
    await payments.deliver(cancel, first.booking_id)
    [refunded] = only(await payments.emitted(payment_id), RefundSucceededV1)
    assert (refunded.method, refunded.host_amount) == ("refund", 10_500)

    handlers = payments.handlers
    assert await handlers.reversals.reverse_pending() == 1
    assert await handlers.reversals.reverse_pending() == 0  # made once
    transfer = await stripe_get(sim, f"/v1/transfers/{created.transfer_id}")
    assert transfer["amount_reversed"] == 10_500
    [reversal] = transfer["reversals"]["data"]
    assert reversal["metadata"]["refund_id"] == cancel.refund.refund_id
    [reversed_event] = only(await payments.emitted(payment_id), TransferReversedV1)
    assert (reversed_event.reversal_id, reversed_event.transfer_id) == (
        reversal["id"],
        created.transfer_id,
    )
    assert (reversed_event.refund_id, reversed_event.amount) == (cancel.refund.refund_id, 10_500)
    row = await payments.pool.fetchrow(
        "SELECT amount_reversed FROM payments.transfers WHERE release_id = $1", created.release_id
    )
    assert row["amount_reversed"] == 10_500

    # Finance: the refund and the reversal leave the host owed nothing and paid the rest.
    await finance.apply(
        *await emitted_envelopes(payments, payment_id, RefundSucceededV1),
        *await emitted_envelopes(payments, payment_id, TransferReversedV1),
    )
    postings = await finance.postings()
    assert balances(postings, "host_transfer_reversed") == {
        STRIPE_BALANCE: 10_500,
        payable(first.host_account_id): -10_500,
    }
    assert payable(first.host_account_id) not in balances(postings)
    left = await finance.payable(payment_id, first.booking_id)
    assert (left["refunded"], left["released"], left["reversed"]) == (10_500, 17_000, 10_500)
    with pytest.raises(PayoutRefused) as refused:
        await finance.release(first.booking_id)
    assert refused.value.code == "nothing_to_release"


async def test_a_refund_before_the_release_only_lowers_what_is_released(
    payments: Payments, finance: Finance, sim: httpx.AsyncClient
) -> None:
    group = await group_captured(payments)
    payment_id = checkout_payment_id(group.group_id)
    second = group.legs[1]
    await finance.apply(await captured_envelope(payments, payment_id))
    await payments.deliver(
        cancellation(group, second, amount=6_000, platform_fee=1_000), second.booking_id
    )
    await finance.apply(*await emitted_envelopes(payments, payment_id, RefundSucceededV1))
    assert await payments.handlers.reversals.reverse_pending() == 0

    created = await released_and_transferred(payments, finance, group, second)
    assert created.amount == host_amount(second) - 5_000
    [transfer] = await transfers_of(sim, group.group_id)
    assert transfer["amount"] == host_amount(second) - 5_000
    assert payable(second.host_account_id) not in balances(await finance.postings())
    # Payments refuses anything beyond it, whatever finance thinks.
    extra = PayoutReleasedV1(
        release_id="rel_extra",
        payment_id=payment_id,
        booking_id=second.booking_id,
        host_account_id=second.host_account_id,
        amount=1,
        currency="usd",
    )
    await payments.deliver(extra, extra.release_id)
    [failed] = only(await payments.emitted(payment_id), TransferFailedV1)
    assert failed.code == "amount_exceeds_available"


# -- single bookings: separate charges and transfers ------------------------------------------
SINGLE_HOST = "acct_1TransferSingle"


async def single_captured(payments: Payments, *, legacy: bool = False) -> tuple[str, str]:
    """A single booking of 10 000 (1 000 platform fee) checked out and captured: its booking
    and payment ids. `legacy`: paid as a destination charge, as before separate charges."""
    booking_id = str(uuid.uuid4())
    payments.subjects.append(booking_id)
    request = CheckoutRequestedV1(
        booking_id=booking_id,
        guest_id=f"guest-{uuid.uuid4().hex[:8]}",
        listing_id="lst_tr_single",
        host_id="host-tr-single",
        host_account_id=SINGLE_HOST,
        starts_at=START,
        ends_at=START + timedelta(hours=2),
        amount=10_000,
        currency="usd",
        platform_fee=1_000,
        payment_method="pm_card_visa",
    )
    payment_id = checkout_payment_id(booking_id)
    if legacy:
        await legacy_destination_checkout(payments, request)
    else:
        await payments.deliver(request, booking_id)
    confirmed = BookingConfirmedV1(
        booking_id=booking_id, payment_id=payment_id, amount=10_000, currency="usd"
    )
    await payments.deliver(confirmed, booking_id)
    return booking_id, payment_id


def single_cancellation(booking_id: str, *, amount: int, platform_fee: int) -> BookingCancelledV1:
    return BookingCancelledV1(
        booking_id=booking_id,
        cancelled_by="guest",
        reason="plans_changed",
        policy="flexible@1",
        refund=RefundRequest(
            refund_id=f"ref_{uuid.uuid4().hex}",
            payment_id=checkout_payment_id(booking_id),
            amount=amount,
            currency="usd",
            platform_fee=platform_fee,
            host_amount=amount - platform_fee,
            host_account_id=SINGLE_HOST,
        ),
        host_account_id=SINGLE_HOST,
    )


async def single_released(payments: Payments, finance: Finance, booking_id: str) -> Any:
    """Finance releases the booking's payable; payments transfers it; finance books it."""
    payment_id = checkout_payment_id(booking_id)
    await finance.apply(await captured_envelope(payments, payment_id))
    [release] = await finance.release(booking_id)
    await payments.deliver(release, release.release_id, envelope(release, release.release_id))
    [created] = only(await payments.emitted(payment_id), TransferCreatedV1)
    await finance.apply(*await emitted_envelopes(payments, payment_id, TransferCreatedV1))
    return created


async def test_a_single_bookings_host_is_paid_by_the_transfer_finance_releases(
    payments: Payments, finance: Finance, sim: httpx.AsyncClient
) -> None:
    booking_id, payment_id = await single_captured(payments)
    [captured] = only(await payments.emitted(payment_id), PaymentCapturedV2)
    assert (captured.transfer_group, captured.purpose) == (booking_id, "checkout")
    payment = await payments.payment(payment_id)
    intent = await stripe_get(sim, f"/v1/payment_intents/{payment['payment_intent_id']}")
    # A separate charge: the platform keeps the funds until finance releases the host's share.
    assert (intent["transfer_group"], intent.get("transfer_data")) == (booking_id, None)
    assert intent.get("application_fee_amount") is None
    charge = await stripe_get(sim, f"/v1/charges/{payment['charge_id']}")
    assert charge["transfer"] is None

    created = await single_released(payments, finance, booking_id)
    transfer = await stripe_get(sim, f"/v1/transfers/{created.transfer_id}")
    assert (transfer["amount"], transfer["destination"], transfer["transfer_group"]) == (
        9_000,
        SINGLE_HOST,
        booking_id,
    )
    assert transfer["source_transaction"] == payment["charge_id"]
    assert (created.booking_id, created.group_id, created.transfer_group) == (
        booking_id,
        None,
        booking_id,
    )

    # The guest cancels after the host was paid: 5 000 back, 4 500 of it the host's share.
    cancel = single_cancellation(booking_id, amount=5_000, platform_fee=500)
    await payments.deliver(cancel, booking_id)
    [refunded] = only(await payments.emitted(payment_id), RefundSucceededV1)
    assert (refunded.method, refunded.cause, refunded.host_amount) == (
        "refund",
        "guest_cancellation",
        4_500,
    )
    [stripe_refund] = (
        await stripe_get(sim, "/v1/refunds", payment_intent=payment["payment_intent_id"])
    )["data"]
    assert stripe_refund["transfer_reversal"] is None  # a plain refund; the reversal follows
    assert await payments.handlers.reversals.reverse_pending() == 1
    transfer = await stripe_get(sim, f"/v1/transfers/{created.transfer_id}")
    assert transfer["amount_reversed"] == 4_500
    [reversed_event] = only(await payments.emitted(payment_id), TransferReversedV1)
    assert cancel.refund is not None
    assert (reversed_event.amount, reversed_event.refund_id) == (4_500, cancel.refund.refund_id)

    await finance.apply(
        *await emitted_envelopes(payments, payment_id, RefundSucceededV1),
        *await emitted_envelopes(payments, payment_id, TransferReversedV1),
    )
    assert payable(SINGLE_HOST) not in balances(await finance.postings())


async def test_a_reversal_stripe_refuses_is_announced_once_for_finance_to_collect(
    payments: Payments, finance: Finance, sim: httpx.AsyncClient
) -> None:
    booking_id, payment_id = await single_captured(payments)
    created = await single_released(payments, finance, booking_id)
    # The whole transfer was taken back outside the platform: nothing is left to reverse.
    taken = await sim.post(
        f"/v1/transfers/{created.transfer_id}/reversals",
        data={"amount": "9000"},
        headers=STRIPE_AUTH,
    )
    taken.raise_for_status()

    cancel = single_cancellation(booking_id, amount=5_000, platform_fee=500)
    await payments.deliver(cancel, booking_id)
    assert await payments.handlers.reversals.reverse_pending() == 0
    assert await payments.handlers.reversals.reverse_pending() == 0  # failed: not tried again
    assert only(await payments.emitted(payment_id), TransferReversedV1) == []
    [failed] = only(await payments.emitted(payment_id), TransferReversalFailedV1)
    assert cancel.refund is not None
    assert (failed.reversal_request_id, failed.refund_id, failed.transfer_id) == (
        cancel.refund.refund_id,
        cancel.refund.refund_id,
        created.transfer_id,
    )
    assert (failed.payment_id, failed.booking_id, failed.host_account_id) == (
        payment_id,
        booking_id,
        SINGLE_HOST,
    )
    assert (failed.amount, failed.currency) == (4_500, "usd")
    assert failed.code and failed.message
    row = await payments.pool.fetchrow(
        "SELECT status, failure_code FROM payments.transfer_reversals WHERE refund_id = $1",
        cancel.refund.refund_id,
    )
    assert (row["status"], row["failure_code"]) == ("failed", failed.code)


async def test_a_destination_charge_names_the_transfer_stripe_made_at_capture(
    payments: Payments, finance: Finance, sim: httpx.AsyncClient
) -> None:
    """A single booking paid before separate charges replaced destination charges: decided
    from its stored payment (no transfer group), Stripe paid its host at capture."""
    booking_id, payment_id = await single_captured(payments, legacy=True)
    await finance.apply(await captured_envelope(payments, payment_id))

    with pytest.raises(PayoutRefused) as refused:
        await finance.release(booking_id)
    assert refused.value.code == "destination_charge"

    payment = await payments.payment(payment_id)
    charge = await stripe_get(sim, f"/v1/charges/{payment['charge_id']}")
    release = PayoutReleasedV1(
        release_id=f"rel_{payment_id}_{booking_id}_1",
        payment_id=payment_id,
        booking_id=booking_id,
        host_account_id=SINGLE_HOST,
        amount=9_000,
        currency="usd",
    )
    await payments.deliver(release, release.release_id)
    [created] = only(await payments.emitted(payment_id), TransferCreatedV1)
    assert created.transfer_id == charge["transfer"] is not None
    listed = await stripe_get(sim, "/v1/transfers", destination=SINGLE_HOST, limit="100")
    assert charge["transfer"] in [t["id"] for t in listed["data"]]
    mine = [t for t in listed["data"] if t["transfer_group"] == booking_id]
    assert mine == []  # no second transfer


# -- holds (bank debits) ---------------------------------------------------------------------
def bank_debit_captured(
    booking_id: str, hold_until: datetime
) -> tuple[PaymentCapturedV2, PaymentSplit]:
    split = PaymentSplit(
        booking_id=booking_id,
        host_account_id="acct_1TransferAch",
        amount=10_000,
        platform_fee=1_500,
        host_amount=8_500,
        tax=200,
    )
    payment_id = f"pay_{uuid.uuid4().hex}"
    return (
        PaymentCapturedV2(
            payment_id=payment_id,
            booking_id=booking_id,
            payment_intent_id=f"pi_{payment_id}",
            charge_id=f"py_{payment_id}",  # Stripe's ids are one per charge
            amount=10_000,
            currency="usd",
            platform_fee=1_500,
            splits=[split],
            transfer_group=booking_id,
            payment_method_type="us_bank_account",
            funds_hold_until=hold_until,
        ),
        split,
    )


async def test_a_held_bank_debit_is_released_only_once_its_funds_cleared(
    finance: Finance,
) -> None:
    booking_id = str(uuid.uuid4())
    until = datetime.now(UTC) + timedelta(days=4)
    captured, split = bank_debit_captured(booking_id, until)
    await finance.apply(envelope(captured, captured.payment_id))

    with pytest.raises(PayoutRefused) as refused:
        await finance.release(booking_id)
    assert refused.value.code == "funds_on_hold"
    assert until.isoformat() in refused.value.message
    # Past the hold date it may be released even before payments reports it cleared.
    [later] = await finance.payouts.release(
        finance.conn, booking_id, amount=100, now=until + timedelta(seconds=1)
    )
    assert later.amount == 100

    cleared = FundsClearedV1(
        payment_id=captured.payment_id,
        booking_id=booking_id,
        amount=10_000,
        currency="usd",
        cleared_at=datetime.now(UTC),
    )
    await finance.apply(envelope(cleared, captured.payment_id))
    [release] = await finance.release(booking_id)
    assert (release.amount, release.host_account_id) == (8_400, split.host_account_id)
    assert release.release_id.endswith("_2")


async def test_a_returned_bank_debit_is_never_released_and_its_capture_is_reversed(
    finance: Finance,
) -> None:
    booking_id = str(uuid.uuid4())
    captured, split = bank_debit_captured(booking_id, datetime.now(UTC) + timedelta(days=4))
    returned = PaymentReturnedV1(
        payment_id=captured.payment_id,
        booking_id=booking_id,
        amount=10_000,
        currency="usd",
        code="account_closed",
        after_capture=True,
        host_account_id=split.host_account_id,
        platform_fee=1_500,
        tax=200,
    )
    await finance.apply(
        envelope(captured, captured.payment_id), envelope(returned, captured.payment_id)
    )
    with pytest.raises(PayoutRefused) as refused:
        await finance.release(booking_id)
    assert refused.value.code == "payment_returned"
    postings = await finance.postings()
    assert balances(postings, "payment_returned") == {
        STRIPE_BALANCE: -10_000,
        "revenue:platform_fees": 1_300,
        "liability:tax_payable": 200,
        payable(split.host_account_id): 8_500,
    }
    assert balances(postings) == {}  # the capture and its return cancel out


# -- the command -----------------------------------------------------------------------------
def release_command(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FINANCE_DATABASE_URL": service_dsn("finance")}
    return subprocess.run(
        [sys.executable, "-m", "finance", "release-payout", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_the_release_command_refuses_with_exit_code_2(pg_ready: None) -> None:
    unknown = release_command(f"bk_missing_{uuid.uuid4().hex}")
    assert unknown.returncode == 2, unknown.stderr
    assert "no_payable" in unknown.stderr

    booking_id = str(uuid.uuid4())
    until = datetime.now(UTC) + timedelta(days=3)
    captured, _ = bank_debit_captured(booking_id, until)
    env = envelope(captured, captured.payment_id)
    conn = await connect(service_dsn("finance"))
    try:
        async with conn.transaction():
            # Payables only (no journal, which could not be deleted afterwards).
            await Payouts(Outbox("finance", "finance")).on_payment_captured_v2(
                conn, env, captured, None
            )
        held = release_command(booking_id)
        assert held.returncode == 2, held.stderr
        assert "funds_on_hold" in held.stderr and until.isoformat() in held.stderr
        too_much = release_command(booking_id, "--payment-id", "pay_other", "--amount", "1")
        assert too_much.returncode == 2 and "no_payable" in too_much.stderr
    finally:
        await conn.execute("DELETE FROM finance.payables WHERE booking_id = $1", booking_id)
        await conn.execute(
            "DELETE FROM finance.payout_facts WHERE source_event_id = $1", env.event_id
        )
        await conn.close()
