"""What the queue pays: a group's legs each on their own start, less what was refunded before
the payout, nothing for a payable refunded in full, deposit claims at once, and entries below
the minimum payout together once they reach it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest

from eventkit.routing import PermanentError
from finance.adapters import close_repository as close_db
from finance.service_layer.payout_queue import QueueSettings
from marketplace_contracts.events.booking import (
    AmendmentDecidedV1,
    AmendmentProposedV1,
    GroupCheckoutRequestedV1,
    GroupLeg,
)
from marketplace_contracts.events.disputes import PayoutHoldChangedV1
from marketplace_contracts.events.payments import (
    PaymentCapturedV2,
    PaymentReturnedV1,
    PaymentSplit,
    RefundSucceededV1,
    TransferFailedV1,
)
from tests.support.finance_queue import DAY, START, QueueHarness, entry_id, finance_pool

pytestmark = pytest.mark.integration


Make = Callable[..., QueueHarness]


@pytest.fixture
async def make(pg_ready: None) -> AsyncIterator[Make]:
    """Harnesses on one pool; each has its pending timers cancelled at the end."""
    async with finance_pool() as pool:
        made: list[QueueHarness] = []

        def harness(settings: QueueSettings | None = None) -> QueueHarness:
            made.append(QueueHarness(pool, settings))
            return made[-1]

        yield harness
        for each in made:
            await each.close()


def refund(captured: PaymentCapturedV2, host_amount: int, fee: int = 0) -> RefundSucceededV1:
    return RefundSucceededV1(
        refund_id=f"ref_{captured.payment_id}_{host_amount}",
        payment_id=captured.payment_id,
        booking_id=captured.booking_id,
        amount=host_amount + fee,
        currency="usd",
        platform_fee=fee,
        host_amount=host_amount,
        host_account_id=captured.splits[0].host_account_id,
        method="refund",
        stripe_refund_id=f"re_{captured.payment_id}",
        cause="guest_cancellation",
    )


async def test_each_leg_of_a_group_is_due_a_day_after_its_own_start(make: Make) -> None:
    q = make()
    group = f"grp_{q.host}"
    legs = [
        GroupLeg(
            booking_id=f"{group}_{n}",
            listing_id="lst",
            host_id="h",
            host_account_id=q.host,
            starts_at=START + n * DAY,
            ends_at=START + n * DAY + timedelta(hours=2),
            amount=6_000,
            platform_fee=1_000,
        )
        for n in range(2)
    ]
    checkout = GroupCheckoutRequestedV1(
        group_id=group,
        guest_id="g",
        amount=12_000,
        currency="usd",
        platform_fee=2_000,
        payment_method="pm_card_visa",
        legs=legs,
    )
    captured = PaymentCapturedV2(
        payment_id=f"pay_{group}",
        booking_id=group,
        group_id=group,
        payment_intent_id=f"pi_{group}",
        charge_id=f"ch_{group}",  # one charge per group, as Stripe's ids are
        amount=12_000,
        currency="usd",
        platform_fee=2_000,
        transfer_group=group,
        purpose="group_checkout",
        splits=[
            PaymentSplit(
                booking_id=leg.booking_id,
                host_account_id=q.host,
                amount=6_000,
                platform_fee=1_000,
                host_amount=5_000,
            )
            for leg in legs
        ],
    )
    await q.deliver(checkout, captured)
    ids = [f"{captured.payment_id}:{leg.booking_id}" for leg in legs]
    assert [(await q.entry(i))["due_at"] for i in ids] == [START + DAY, START + 2 * DAY]
    q.clock.at = START + DAY
    await q.run_due()
    assert [(await q.entry(i))["state"] for i in ids] == ["released", "scheduled"]


async def test_a_refund_before_the_payout_lowers_it_and_a_full_one_leaves_nothing(
    make: Make,
) -> None:
    q = make()
    part_checkout, part = q.booking()
    full_checkout, full = q.booking()
    await q.deliver(part_checkout, part, full_checkout, full)
    await q.deliver(refund(part, 3_000, 500), refund(full, 8_500, 1_500))
    q.clock.at = START + DAY
    await q.run_due()
    paid = await q.entry(entry_id(part))
    assert (paid["state"], paid["amount"]) == ("released", 5_500)
    assert (await q.entry(entry_id(full)))["state"] == "reversed"


async def test_a_refund_no_capture_can_take_is_dead_lettered_and_moves_nothing(
    make: Make,
) -> None:
    """Payments never reports such a refund: one that takes more of the host's share than the
    capture left, or one of a payment never captured here, is refused before the ledger or
    the payables move (the consumer dead-letters it with the reason)."""
    q = make()
    checkout, captured = q.booking()
    await q.deliver(checkout, captured)
    payable = f"liability:host_payable:{q.host}"
    before = await q.balance(payable)
    await q.deliver(refund(captured, 3_000, 500))  # a part: 5,500 of the share is left
    taken = await q.balance(payable)
    assert taken != before
    with pytest.raises(PermanentError, match="of which 5500 is left"):
        await q.deliver(refund(captured, 90_000, 9_999))
    unknown = refund(captured, 100).model_copy(update={"payment_id": "pay_never_captured"})
    with pytest.raises(PermanentError, match="no capture of that payment"):
        await q.deliver(unknown)
    assert await q.balance(payable) == taken
    await q.deliver(refund(captured, 5_500, 1_000))  # the rest: still all of it to take
    q.clock.at = START + DAY
    await q.run_due()
    assert (await q.entry(entry_id(captured)))["state"] == "reversed"


@pytest.mark.parametrize("order", ["held, lifted, held again", "lifted, then held"])
async def test_a_disputes_hold_told_after_its_lifting_holds_nothing(make: Make, order: str) -> None:
    """A dispute does not open again once closed: its hold told again later (a replayed dead
    letter, a stale or reordered fact, under an event id of its own) would hold the payout
    for good, as nothing would lift it."""
    q = make()
    checkout, captured = q.booking()
    await q.deliver(checkout, captured)
    dispute = f"dp_{uuid.uuid4().hex[:12]}"

    def hold(held: bool) -> PayoutHoldChangedV1:
        return PayoutHoldChangedV1(dispute_id=dispute, payment_id=captured.payment_id, held=held)

    told = (
        [hold(True), hold(False), hold(True)]
        if order.startswith("held")
        else [hold(False), hold(True)]
    )
    for fact in told:
        await q.deliver(fact)
    entry = await q.entry(entry_id(captured))
    assert (entry["state"], list(entry["holds"])) == ("scheduled", [])
    q.clock.at = START + DAY
    await q.run_due()
    assert (await q.entry(entry_id(captured)))["state"] == "released"
    # only that dispute's lifting counts: another dispute still holds another payout
    checkout, captured = q.booking()
    await q.deliver(checkout, captured)
    other = PayoutHoldChangedV1(dispute_id=f"{dispute}x", payment_id=captured.payment_id, held=True)
    await q.deliver(other)
    assert (await q.entry(entry_id(captured)))["state"] == "held"


async def test_a_deposit_claim_is_paid_at_once(make: Make) -> None:
    q = make()
    checkout, captured = q.booking()
    claim = captured.model_copy(update={"purpose": "deposit_claim"})
    await q.deliver(checkout, claim)
    assert (await q.entry(entry_id(claim)))["due_at"] == q.clock.now()
    await q.run_due()
    assert (await q.entry(entry_id(claim)))["state"] == "released"


async def test_payouts_below_the_minimum_wait_and_go_together_once_they_reach_it(
    make: Make,
) -> None:
    q = make(QueueSettings(delay=DAY, minimum=10_000, max_retries=0, retry_seconds=1))
    first_checkout, first = q.booking(amount=5_000, fee=1_000)  # 4 000 to the host
    await q.deliver(first_checkout, first)
    q.clock.at = START + DAY
    await q.run_due()
    assert (await q.entry(entry_id(first)))["state"] == "releasable"

    second_checkout, second = q.booking(amount=8_000, fee=1_000, starts_at=START + DAY)
    await q.deliver(second_checkout, second)
    q.clock.at = START + 2 * DAY
    await q.run_due()
    entries = [await q.entry(entry_id(c)) for c in (first, second)]
    assert [(e["state"], e["amount"]) for e in entries] == [
        ("released", 4_000),
        ("released", 7_000),
    ]


async def test_an_applied_amendment_that_moves_the_booking_moves_its_payout(make: Make) -> None:
    q = make()
    checkout, captured = q.booking()
    await q.deliver(checkout, captured)
    later = START + 3 * DAY
    proposed = AmendmentProposedV1(
        amendment_id=f"amd_{captured.booking_id}",
        booking_id=captured.booking_id,
        kind="change",
        proposed_by="guest",
        starts_at=later,
        ends_at=later + timedelta(hours=3),
        guests=2,
        delta=0,
        currency="usd",
    )
    await q.deliver(proposed)
    assert (await q.entry(entry_id(captured)))["due_at"] == START + DAY  # only proposed
    await q.deliver(
        AmendmentDecidedV1(
            amendment_id=proposed.amendment_id,
            booking_id=captured.booking_id,
            outcome="applied",
            delta=0,
            currency="usd",
        )
    )
    assert (await q.entry(entry_id(captured)))["due_at"] == later + DAY
    q.clock.at = START + DAY
    await q.run_due()
    assert (await q.entry(entry_id(captured)))["state"] == "scheduled"
    q.clock.at = later + DAY
    await q.run_due()
    assert (await q.entry(entry_id(captured)))["state"] == "released"


async def test_a_dispute_holds_a_failed_transfers_automatic_retry(make: Make) -> None:
    q = make()
    checkout, captured = q.booking()
    dispute = f"dp_{uuid.uuid4().hex[:12]}"
    await q.deliver(checkout, captured)
    q.clock.at = START + DAY
    await q.run_due()
    entry = await q.entry(entry_id(captured))
    await q.deliver(
        TransferFailedV1(
            release_id=entry["release_id"],
            payment_id=captured.payment_id,
            booking_id=captured.booking_id,
            host_account_id=q.host,
            amount=8_500,
            currency="usd",
            code="account_invalid",
        ),
        PayoutHoldChangedV1(dispute_id=dispute, payment_id=captured.payment_id, held=True),
    )
    q.clock.advance(DAY)  # past the retry's time
    await q.run_due()
    entry = await q.entry(entry_id(captured))
    assert (entry["state"], list(entry["holds"])) == ("held", [f"dispute:{dispute}"])
    await q.deliver(
        PayoutHoldChangedV1(dispute_id=dispute, payment_id=captured.payment_id, held=False)
    )
    await q.run_due()
    assert (await q.entry(entry_id(captured)))["state"] == "released"


@pytest.mark.parametrize("dispute_id", [None, "du_1QReturn"])
async def test_a_returned_bank_debit_is_never_paid_and_its_journal_names_the_dispute(
    make: Make, dispute_id: str | None
) -> None:
    """Stripe takes a debit returned after success back by a dispute: the journal names it
    (its balance transaction's source), or the charge on an older fact that has none. The
    close's host-payables tie-out owes the host nothing for it."""
    q = make()
    checkout, captured = q.booking()
    debit = captured.model_copy(
        update={"funds_hold_until": START + 4 * DAY, "payment_method_type": "us_bank_account"}
    )
    await q.deliver(checkout, debit)
    await q.deliver(
        PaymentReturnedV1(
            payment_id=debit.payment_id,
            booking_id=debit.booking_id,
            amount=10_000,
            currency="usd",
            code="insufficient_funds",
            after_capture=True,
            host_account_id=q.host,
            platform_fee=1_500,
            dispute_id=dispute_id,
        )
    )
    assert (await q.entry(entry_id(debit)))["state"] == "reversed"
    q.clock.at = START + 5 * DAY
    await q.run_due()
    assert (await q.entry(entry_id(debit)))["state"] == "reversed"
    named = await q.pool.fetchval(
        "SELECT stripe_object_id FROM finance.journals WHERE kind = 'payment_returned' "
        "AND booking_id = $1",
        debit.booking_id,
    )
    assert named == (dispute_id or debit.charge_id)
    async with q.pool.acquire() as conn:
        owed = await close_db.queue_owed(conn, "usd", q.host)
    assert owed == -(await q.balance(f"liability:host_payable:{q.host}")) == 0
