"""A bank debit returned after its host was paid, on the real database through finance's routing
table: every fact is applied twice (redelivery), some are emitted again under a new event id.
The host's share is taken back by one transfer reversal (cause `debit_returned`), or owed and
netted from its next payout when the reversal fails; the host payable ends at zero, the
Stripe balance accounts move as Stripe's did, and the close's host-payables tie-out holds."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from eventkit.routing import PermanentError
from finance.adapters import close_repository as close_db
from finance.service_layer import queue_admin
from marketplace_contracts.events.payments import (
    FundsClearedV1,
    PaymentCapturedV2,
    PaymentReturnedV1,
    TransferCreatedV1,
    TransferReversalFailedV1,
    TransferReversedV1,
)
from tests.support.finance_queue import (
    DAY,
    START,
    QueueHarness,
    entry_id,
    host_penalty,
    refund_of,
)

pytestmark = pytest.mark.integration
HOST_SHARE = 8_500  # of 10 000, a 1 500 fee


async def debit(q: QueueHarness, starts_at: datetime = START) -> PaymentCapturedV2:
    """A bank debit captured, its funds cleared (its return window passed)."""
    checkout, captured = q.booking(starts_at=starts_at)
    captured = captured.model_copy(
        update={"funds_hold_until": START - DAY, "payment_method_type": "us_bank_account"}
    )
    cleared = FundsClearedV1(
        payment_id=captured.payment_id,
        booking_id=captured.booking_id,
        amount=captured.amount,
        currency="usd",
        cleared_at=START - DAY,
    )
    await q.deliver(checkout, captured, cleared)
    return captured


def returned(captured: PaymentCapturedV2) -> PaymentReturnedV1:
    return PaymentReturnedV1(
        payment_id=captured.payment_id,
        booking_id=captured.booking_id,
        amount=captured.amount,
        currency="usd",
        code="debit_not_authorized",
        after_capture=True,
        host_account_id=captured.splits[0].host_account_id,
        platform_fee=captured.platform_fee,
        dispute_id=f"du_{uuid.uuid4().hex[:12]}",
    )


def transfer(q: QueueHarness, captured: PaymentCapturedV2, release_id: str) -> TransferCreatedV1:
    return TransferCreatedV1(
        release_id=release_id,
        transfer_id=f"tr_{uuid.uuid4().hex[:12]}",
        payment_id=captured.payment_id,
        booking_id=captured.booking_id,
        host_account_id=q.host,
        amount=HOST_SHARE,
        currency="usd",
    )


async def released(q: QueueHarness, captured: PaymentCapturedV2) -> str:
    """Run the queue until the payout is released; its release id."""
    q.clock.at = START + DAY
    await q.run_due()
    entry = await q.entry(entry_id(captured))
    assert entry["state"] == "released"
    release_id: str = entry["release_id"]
    return release_id


async def tied(q: QueueHarness) -> None:
    """The close's host-payables tie-out holds for the host, and the host payable is empty."""
    async with q.pool.acquire() as conn:
        owed = await close_db.queue_owed(conn, "usd", q.host)
    assert owed == -(await q.balance(f"liability:host_payable:{q.host}")) == 0


async def stripe_net(q: QueueHarness, captured: PaymentCapturedV2) -> int:
    """What the booking's journals did to the Stripe balance (pending; Stripe's fees aside)."""
    total: int = await q.pool.fetchval(
        "SELECT coalesce(sum(p.amount), 0)::bigint FROM finance.journals j "
        "JOIN finance.postings p USING (journal_id) WHERE j.booking_id = $1 "
        "AND p.account = 'asset:stripe_balance:pending'",
        captured.booking_id,
    )
    return total


async def requests(q: QueueHarness, captured: PaymentCapturedV2) -> list[dict[str, object]]:
    return await q.events("finance.transfer_reversal_requested", f"{entry_id(captured)}:%")


async def test_a_debit_returned_after_its_host_was_paid_is_reversed_once(q: QueueHarness) -> None:
    captured = await debit(q)
    paid = transfer(q, captured, await released(q, captured))
    await q.deliver(paid)
    back = returned(captured)
    await q.deliver(back)
    await q.deliver(back.model_copy())  # emitted again under a new event id: nothing more
    [request] = await requests(q, captured)
    assert (request["transfer_id"], request["amount"], request["cause"]) == (
        paid.transfer_id,
        HOST_SHARE,
        "debit_returned",
    )
    recovery = f"asset:dispute_recovery:{q.host}"
    assert await q.balance(recovery) == HOST_SHARE
    await tied(q)  # the share left the payable while its reversal is under way
    # Stripe: +10 000 captured, -8 500 transferred, -10 000 returned (by a dispute)
    assert await stripe_net(q, captured) == -HOST_SHARE

    reversal = TransferReversedV1(
        reversal_id=f"trr_{uuid.uuid4().hex[:12]}",
        transfer_id=paid.transfer_id,
        payment_id=captured.payment_id,
        booking_id=captured.booking_id,
        host_account_id=q.host,
        amount=HOST_SHARE,
        currency="usd",
        request_id=str(request["request_id"]),
        cause="debit_returned",
    )
    await q.deliver(reversal, reversal.model_copy())
    assert await q.balance(recovery) == 0
    assert await stripe_net(q, captured) == 0
    assert await q.balance(f"asset:host_receivable:{q.host}") == 0
    assert (await q.entry(entry_id(captured)))["state"] == "reversed"
    await tied(q)
    shown = await queue_admin.show(q.pool, entry_id(captured))
    assert shown is not None
    [note] = [h["note"] for h in shown["history"] if h["trigger"] == "debit_returned"]
    assert note.endswith(f"{HOST_SHARE} reversal of {paid.transfer_id} requested")
    assert await q.events("finance.negative_balance_recorded", q.host) == []


async def test_a_debit_refunded_in_full_then_returned_reverses_nothing_more(
    q: QueueHarness,
) -> None:
    """Stripe's dispute of a debit refunded in full takes nothing back: payments says so
    (`amount` 0), and finance books no second reversal of the capture."""
    captured = await debit(q)
    refund = refund_of(captured)
    await q.deliver(refund)
    back = returned(captured).model_copy(update={"amount": 0, "platform_fee": 0, "tax": 0})
    await q.deliver(back)
    assert await stripe_net(q, captured) == 0  # captured, then refunded; the return took 0
    kinds = await q.pool.fetch(
        "SELECT kind FROM finance.journals WHERE booking_id = $1", captured.booking_id
    )
    assert "payment_returned" not in {k["kind"] for k in kinds}
    assert await requests(q, captured) == []


async def test_a_debit_returned_while_its_payout_was_in_flight_is_taken_back_when_it_lands(
    q: QueueHarness,
) -> None:
    """The reversal follows the transfer; it fails (the host's balance is too low), so the
    host owes the share and its next payout nets it."""
    captured = await debit(q)
    paid = transfer(q, captured, await released(q, captured))
    back = returned(captured)
    await q.deliver(back)
    assert (await q.entry(entry_id(captured)))["state"] == "released"
    assert await requests(q, captured) == []  # nothing paid yet: nothing to take back
    await tied(q)

    await q.deliver(paid)
    await q.deliver(back.model_copy())  # the return again, after the transfer: nothing more
    [request] = await requests(q, captured)
    assert (request["transfer_id"], request["amount"]) == (paid.transfer_id, HOST_SHARE)
    await tied(q)

    failed = TransferReversalFailedV1(
        reversal_request_id=str(request["request_id"]),
        transfer_id=paid.transfer_id,
        payment_id=captured.payment_id,
        booking_id=captured.booking_id,
        host_account_id=q.host,
        amount=HOST_SHARE,
        currency="usd",
        code="insufficient_funds",
        request_id=str(request["request_id"]),
        cause="debit_returned",
    )
    await q.deliver(failed, failed.model_copy())
    assert await q.balance(f"asset:dispute_recovery:{q.host}") == 0
    assert await q.balance(f"asset:host_receivable:{q.host}") == HOST_SHARE
    recorded = await q.events("finance.negative_balance_recorded", q.host)
    assert [(r["cause"], r["amount"]) for r in recorded] == [
        ("debit_return_reversal_failed", HOST_SHARE)
    ]
    assert (await q.entry(entry_id(captured)))["state"] == "transferred"  # the host kept it
    await tied(q)
    # Stripe: +10 000 captured, -8 500 the host kept, -10 000 the bank took back
    assert await stripe_net(q, captured) == -HOST_SHARE

    # the host's next payout (10 000 paid, 8 500 its share) recovers it in full
    checkout, following = q.booking(starts_at=START + DAY)
    await q.deliver(checkout, following)
    q.clock.at = START + 2 * DAY
    await q.run_due()
    entry = await q.entry(entry_id(following))
    assert (entry["state"], entry["netted"], entry["amount"]) == ("transferred", HOST_SHARE, 0)
    assert await q.balance(f"asset:host_receivable:{q.host}") == 0


async def test_what_the_payout_netted_of_a_debt_is_owed_again_the_rest_reversed(
    q: QueueHarness,
) -> None:
    """The host owed a 3 000 penalty: its payout sent 5 500 and netted 3 000. The return takes
    the 5 500 back by a reversal and makes the 3 000 owed again."""
    await q.deliver(host_penalty(q.host, 3_000))
    captured = await debit(q)
    release_id = await released(q, captured)
    entry = await q.entry(entry_id(captured))
    assert (entry["amount"], entry["netted"]) == (5_500, 3_000)
    paid = transfer(q, captured, release_id).model_copy(update={"amount": 5_500})
    await q.deliver(paid, returned(captured))
    [request] = await requests(q, captured)
    assert (request["transfer_id"], request["amount"]) == (paid.transfer_id, 5_500)
    assert await q.balance(f"asset:host_receivable:{q.host}") == 3_000
    assert await q.balance(f"asset:dispute_recovery:{q.host}") == 5_500
    recorded = await q.events("finance.negative_balance_recorded", q.host)
    assert [(r["cause"], r["amount"]) for r in recorded][-1] == ("debit_return_recovery", 3_000)
    await tied(q)


async def test_a_reversal_outcome_finance_never_asked_for_is_refused(q: QueueHarness) -> None:
    captured = await debit(q)
    stray = TransferReversedV1(
        reversal_id=f"trr_{uuid.uuid4().hex[:12]}",
        transfer_id="tr_unknown",
        payment_id=captured.payment_id,
        booking_id=captured.booking_id,
        host_account_id=q.host,
        amount=100,
        currency="usd",
        request_id=f"{entry_id(captured)}:debit_returned",
        cause="debit_returned",
    )
    with pytest.raises(PermanentError, match="never asked for it"):
        await q.deliver(stray)


@pytest.mark.parametrize(("owed", "sent"), [(HOST_SHARE, 0), (3_000, HOST_SHARE - 3_000)])
async def test_a_refund_after_a_netted_payout_makes_the_netted_part_owed_again(
    q: QueueHarness, owed: int, sent: int
) -> None:
    """The host owed `owed`: its payout netted it and transferred the rest (`sent`). A full
    refund after it takes the transfer back by a reversal (payments) and makes what was
    netted owed again: nothing can reverse a netting."""
    await q.deliver(host_penalty(q.host, owed))
    checkout, captured = q.booking()
    await q.deliver(checkout, captured)
    q.clock.at = START + DAY
    await q.run_due()  # released (a transfer to make), or transferred (all of it netted)
    entry = await q.entry(entry_id(captured))
    assert (entry["amount"], entry["netted"]) == (sent, owed)
    transfer_id = None
    if sent:
        paid = transfer(q, captured, entry["release_id"]).model_copy(update={"amount": sent})
        await q.deliver(paid)
        transfer_id = paid.transfer_id
    assert await q.balance(f"asset:host_receivable:{q.host}") == 0
    refund = refund_of(captured)
    await q.deliver(refund, refund)  # told twice: owed once
    assert await q.balance(f"asset:host_receivable:{q.host}") == owed
    recorded = await q.events("finance.negative_balance_recorded", q.host)
    assert [(r["cause"], r["amount"]) for r in recorded][-1] == ("refund_after_netting", owed)
    if transfer_id is not None:  # payments takes the transfer back
        await q.deliver(
            TransferReversedV1(
                reversal_id=f"trr_{uuid.uuid4().hex[:12]}",
                transfer_id=transfer_id,
                refund_id=refund.refund_id,
                payment_id=captured.payment_id,
                booking_id=captured.booking_id,
                host_account_id=q.host,
                amount=sent,
                currency="usd",
            )
        )
    await tied(q)


async def test_partial_refunds_after_a_partly_netted_payout_make_the_netted_part_owed_once(
    q: QueueHarness,
) -> None:
    """8 500 owed to the host: 3 000 netted, 5 500 sent. A first refund of 2 000 of its share
    leaves the host owed 6 500, more than was sent: the 2 000 is netted money, owed again. The
    second (the other 6 500) takes the 5 500 back by a reversal and makes 1 000 more owed."""
    await q.deliver(host_penalty(q.host, 3_000))
    checkout, captured = q.booking()
    await q.deliver(checkout, captured)
    release_id = await released(q, captured)
    paid = transfer(q, captured, release_id).model_copy(update={"amount": 5_500})
    await q.deliver(paid)
    receivable = f"asset:host_receivable:{q.host}"
    await q.deliver(refund_of(captured, amount=2_353, platform_fee=353))
    assert await q.balance(receivable) == 2_000
    await q.deliver(refund_of(captured, amount=7_647, platform_fee=1_147))
    assert await q.balance(receivable) == 3_000  # never more than was netted
