"""The payout queue on the real database: every host payable is queued, held while a reason
stands, released by the durable scheduler once due (net of what the host owes), once, even
across a restart in the middle of a batch."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from finance.adapters import close_repository as close_db
from finance.adapters import reserves_repository as reserves_db
from finance.domain.reserves import ReserveKind, ReservePolicy, Scope
from marketplace_contracts import Envelope, make_envelope
from marketplace_contracts.events.disputes import PayoutHoldChangedV1
from marketplace_contracts.events.payments import (
    FundsClearedV1,
    HostAccountUpdatedV1,
    RefundSucceededV1,
    TransferCreatedV1,
    TransferFailedV1,
    TransferReversalFailedV1,
)
from tests.support.finance_queue import (
    DAY,
    START,
    QueueHarness,
    entry_id,
    finance_pool,
    host_penalty,
    refund_of,
)
from tests.support.poll import eventually

pytestmark = pytest.mark.integration


@pytest.fixture
async def pool(pg_ready: None) -> AsyncIterator[asyncpg.Pool]:
    async with finance_pool() as pool:
        yield pool


@pytest.fixture
async def q(pool: asyncpg.Pool) -> AsyncIterator[QueueHarness]:
    harness = QueueHarness(pool)
    yield harness
    await harness.close()


async def test_a_payable_is_paid_a_day_after_the_stay_starts_and_only_then(q: QueueHarness) -> None:
    checkout, captured = q.booking()
    await q.deliver(checkout, captured)
    entry = await q.entry(entry_id(captured))
    assert (entry["state"], entry["due_at"], entry["gross"]) == ("scheduled", START + DAY, 8_500)
    [scheduled] = await q.events("finance.payout_scheduled", entry_id(captured))
    assert scheduled["due_at"].startswith("2034-07-02T15:00")

    q.clock.at = START + DAY - timedelta(seconds=1)
    await q.run_due()
    assert (await q.entry(entry_id(captured)))["state"] == "scheduled"

    q.clock.at = START + DAY
    await q.run_due()
    entry = await q.entry(entry_id(captured))
    assert (entry["state"], entry["amount"]) == ("released", 8_500)
    [released] = await q.events("finance.payout_released", f"rel_{captured.payment_id}_%")
    assert (released["release_id"], released["amount"]) == (entry["release_id"], 8_500)

    transfer_id = f"tr_1Q{uuid.uuid4().hex[:12]}"  # Stripe's ids are unique
    await q.deliver(
        TransferCreatedV1(
            release_id=entry["release_id"],
            transfer_id=transfer_id,
            payment_id=captured.payment_id,
            booking_id=captured.booking_id,
            host_account_id=q.host,
            amount=8_500,
            currency="usd",
        )
    )
    entry = await q.entry(entry_id(captured))
    assert (entry["state"], entry["transfer_id"]) == ("transferred", transfer_id)
    assert await q.balance(f"liability:host_payable:{q.host}") == 0
    history = await q.pool.fetch(
        "SELECT trigger, to_state, actor FROM finance.payout_entry_history WHERE entry_id = $1 "
        "ORDER BY id",
        entry_id(captured),
    )
    assert [(h["trigger"], h["to_state"]) for h in history] == [
        ("enqueue", "scheduled"),
        ("release", "released"),
        ("transferred", "transferred"),
    ]


async def test_an_entry_waits_for_its_bookings_start_before_it_can_be_paid(
    q: QueueHarness,
) -> None:
    checkout, captured = q.booking()
    await q.deliver(captured)  # the capture overtook booking's checkout fact
    entry = await q.entry(entry_id(captured))
    assert (entry["state"], list(entry["holds"]), entry["due_at"]) == (
        "held",
        ["awaiting_booking"],
        None,
    )
    q.clock.at = START + 10 * DAY
    await q.run_due()
    assert (await q.entry(entry_id(captured)))["state"] == "held"

    await q.deliver(checkout)
    entry = await q.entry(entry_id(captured))
    assert (entry["state"], entry["due_at"]) == ("scheduled", START + DAY)
    await q.run_due()
    assert (await q.entry(entry_id(captured)))["state"] == "released"


async def test_a_capture_and_its_bookings_start_handled_at_once_leave_no_entry_waiting(
    q: QueueHarness, pool: asyncpg.Pool
) -> None:
    """The booking's fact and the capture come on different topics, so two units may handle
    them at the same time: the start is recorded while the capture's entry is uncommitted. The
    second to take the booking's lock sees the first's row, and the entry is scheduled."""
    checkout, captured = q.booking()

    async def handle(event: Any, conn: asyncpg.Connection) -> None:
        env = Envelope.from_bytes(
            make_envelope(event, key="k", producer="test", correlation_id=uuid.uuid4()).to_bytes()
        )
        route = q.router.route_for(env)
        assert route is not None
        await route.apply(conn, env, route.model.model_validate(env.data), None)

    async with pool.acquire() as capturing, pool.acquire() as starting:
        capture_tx = capturing.transaction()
        await capture_tx.start()
        await handle(captured, capturing)  # the entry, uncommitted: no start seen
        pid = await starting.fetchval("SELECT pg_backend_pid()")
        start_tx = starting.transaction()
        await start_tx.start()
        recording = asyncio.create_task(handle(checkout, starting))

        async def waiting_or_done() -> bool:
            waits = await pool.fetchval(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", pid
            )
            return recording.done() or waits == "Lock"

        await eventually(waiting_or_done, timeout=10, what="the start's handler to run")
        await capture_tx.commit()
        await recording
        await start_tx.commit()
    entry = await q.entry(entry_id(captured))
    assert (entry["state"], list(entry["holds"]), entry["due_at"]) == (
        "scheduled",
        [],
        START + DAY,
    )


async def test_every_hold_reason_must_clear_before_the_payout(q: QueueHarness) -> None:
    checkout, captured = q.booking()
    captured = captured.model_copy(
        update={"funds_hold_until": START + 4 * DAY, "payment_method_type": "us_bank_account"}
    )
    await q.deliver(checkout, captured)
    # A dispute of its own: a lifted hold is remembered per dispute, for good (a database
    # kept from an earlier run has this test's own).
    dispute_id = f"dp_{uuid.uuid4().hex[:12]}"
    dispute = PayoutHoldChangedV1(
        dispute_id=dispute_id, payment_id=captured.payment_id, held=True, reason="fraudulent"
    )
    disabled = HostAccountUpdatedV1(
        host_account_id=q.host, charges_enabled=True, payouts_enabled=False, updated_at=START
    )
    await q.deliver(dispute, disabled)
    entry = await q.entry(entry_id(captured))
    assert sorted(entry["holds"]) == [
        "bank_debit_return_window",
        f"dispute:{dispute_id}",
        "payouts_disabled",
    ]
    q.clock.at = START + 2 * DAY
    await q.run_due()
    assert (await q.entry(entry_id(captured)))["state"] == "held"

    await q.deliver(
        FundsClearedV1(
            payment_id=captured.payment_id,
            booking_id=captured.booking_id,
            amount=10_000,
            currency="usd",
            cleared_at=START,
        ),
        disabled.model_copy(update={"payouts_enabled": True}),
    )
    await q.run_due()
    assert list((await q.entry(entry_id(captured)))["holds"]) == [f"dispute:{dispute_id}"]
    await q.deliver(dispute.model_copy(update={"held": False, "reason": "won"}))
    await q.run_due()
    assert (await q.entry(entry_id(captured)))["state"] == "released"


async def test_what_a_host_owes_is_recovered_from_its_next_payouts_first(
    q: QueueHarness,
) -> None:
    penalty = host_penalty(q.host, 3_000)
    failed_reversal = TransferReversalFailedV1(
        reversal_request_id="ref_1:1",
        transfer_id=f"tr_old{uuid.uuid4().hex[:12]}",
        payment_id="pay_old",
        booking_id="bk_old",
        host_account_id=q.host,
        amount=6_000,
        currency="usd",
        code="insufficient_funds",
    )
    await q.deliver(penalty, failed_reversal)
    receivable = f"asset:host_receivable:{q.host}"
    assert await q.balance(receivable) == 9_000
    recorded = await q.events("finance.negative_balance_recorded", q.host)
    assert [(r["cause"], r["amount"], r["balance"]) for r in recorded] == [
        ("host_penalty", 3_000, 3_000),
        ("transfer_reversal_failed", 6_000, 9_000),
    ]

    first_checkout, first = q.booking()  # owes the host 8 500: all of it recovered
    second_checkout, second = q.booking()
    await q.deliver(first_checkout, first, second_checkout, second)
    q.clock.at = START + DAY
    await q.run_due()
    entries = {e: await q.entry(e) for e in (entry_id(first), entry_id(second))}
    settled = sorted((r["state"], r["netted"], r["amount"]) for r in entries.values())
    assert settled == [("released", 500, 8_000), ("transferred", 8_500, 0)]
    assert await q.balance(receivable) == 0
    recovered = await q.events("finance.negative_balance_recovered", q.host)
    assert sorted(r["amount"] for r in recovered) == [500, 8_500]
    released = await q.events("finance.payout_released", "rel_%")
    assert [r["amount"] for r in released if r["host_account_id"] == q.host] == [8_000]


async def test_a_failed_transfer_is_retried_with_backoff_then_left_to_staff(
    q: QueueHarness,
) -> None:
    checkout, captured = q.booking()
    await q.deliver(checkout, captured)
    q.clock.at = START + DAY
    for attempt in range(3):
        await q.run_due()
        entry = await q.entry(entry_id(captured))
        assert entry["state"] == "released", attempt
        await q.deliver(
            TransferFailedV1(
                release_id=entry["release_id"],
                payment_id=captured.payment_id,
                booking_id=captured.booking_id,
                host_account_id=q.host,
                amount=8_500,
                currency="usd",
                code="account_invalid",
                message="no payouts",
            )
        )
        assert (await q.entry(entry_id(captured)))["state"] == "failed"
        q.clock.advance(timedelta(seconds=60 * 2**attempt))
    failures = await q.events("finance.payout_failed", entry_id(captured))
    assert [f["retry_at"] is None for f in failures] == [False, False, True]
    q.clock.advance(DAY)
    await q.run_due()
    assert (await q.entry(entry_id(captured)))["state"] == "failed"  # staff's turn now
    releases = await q.pool.fetchval(
        "SELECT count(*) FROM finance.payout_releases WHERE payment_id = $1", captured.payment_id
    )
    assert releases == 3


async def test_a_restart_in_the_middle_of_a_batch_pays_no_one_twice(q: QueueHarness) -> None:
    bookings = [q.booking() for _ in range(40)]
    for checkout, captured in bookings:
        await q.deliver(checkout, captured)
    q.clock.at = START + DAY

    # The first "process" dies while releasing: cancelled as soon as some entries are out.
    first = asyncio.create_task(q.run_due())
    ids = [entry_id(c) for _, c in bookings]
    # Polled often: the kill must land while the batch is still going.
    await eventually(
        lambda: q.pool.fetchval(
            "SELECT count(*) FROM finance.payout_entries WHERE entry_id = ANY($1) "
            "AND state = 'released'",
            ids,
        ),
        timeout=30,
        interval=0.005,
        what="some entries released",
    )
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    done_before = await q.pool.fetchval(
        "SELECT count(*) FROM finance.payout_entries WHERE entry_id = ANY($1) "
        "AND state = 'released'",
        ids,
    )
    assert 0 < done_before < len(ids)

    # Two new processes share the rest (SKIP LOCKED), and one more finds nothing left.
    await asyncio.gather(q.run_due(), QueueHarness.scheduler(q).run_due(q.pool))
    await q.run_due()
    counts = await q.pool.fetch(
        "SELECT payment_id, count(*) AS n, sum(amount) AS total FROM finance.payout_releases "
        "WHERE payment_id = ANY($1) GROUP BY payment_id",
        [c.payment_id for _, c in bookings],
    )
    assert len(counts) == len(bookings)
    assert {(r["n"], r["total"]) for r in counts} == {(1, 8_500)}
    released = await q.events("finance.payout_released", "rel_%")
    mine = [r for r in released if r["host_account_id"] == q.host]
    assert len(mine) == len(bookings)


async def test_the_close_ties_the_queues_unpaid_total_to_the_host_payable_account(
    q: QueueHarness,
) -> None:
    """Netting moves money off the payable to the receivable, a reserve to the reserve
    account, a release waits for its transfer: at every step the close's `queue_owed` is the
    ledger's `liability:host_payable` of the host."""

    async def tied() -> int:
        async with q.pool.acquire() as conn:
            owed = await close_db.queue_owed(conn, "usd", q.host)
        assert owed == -(await q.balance(f"liability:host_payable:{q.host}"))
        return owed

    policy = f"tie_{uuid.uuid4().hex[:8]}"
    async with q.pool.acquire() as conn, conn.transaction():
        await reserves_db.add_version(
            conn,
            ReservePolicy(policy, 0, ReserveKind.ROLLING_PERCENT, percent_bps=1_000, hold_days=30),
            actor="risk",
            note="",
        )
        await reserves_db.assign(conn, Scope.HOST, q.host, policy, "risk")
    penalty = host_penalty(q.host, 2_000)
    checkout, captured = q.booking()  # 8 500 owed: 850 reserved, 2 000 netted, 5 650 paid
    await q.deliver(penalty, checkout, captured)
    assert await tied() == 8_500 - 850  # the reserve is on the host's reserve account
    q.clock.at = START + DAY
    await q.run_due()
    entry = await q.entry(entry_id(captured))
    assert (entry["state"], entry["netted"], entry["reserve_amount"]) == ("released", 2_000, 850)
    assert (entry["gross"], entry["amount"]) == (8_500, 5_650)
    assert await tied() == 5_650  # released, not yet transferred
    q.clock.at = START + 40 * DAY
    await q.run_due()  # the reserve's time passed: owed again
    assert await tied() == 5_650 + 850


async def test_a_refund_after_the_payout_whose_reversal_failed_ties_out_as_a_receivable(
    q: QueueHarness,
) -> None:
    """The host was paid, the guest refunded, and Stripe refused to take the host's share back:
    the debt moves from the payable to the receivable, and the queue owes nothing on it."""
    checkout, captured = q.booking()
    await q.deliver(checkout, captured)
    q.clock.at = START + DAY
    await q.run_due()
    entry = await q.entry(entry_id(captured))
    transfer_id = f"tr_rf{uuid.uuid4().hex[:12]}"
    transfer = TransferCreatedV1(
        release_id=entry["release_id"],
        transfer_id=transfer_id,
        payment_id=captured.payment_id,
        booking_id=captured.booking_id,
        host_account_id=q.host,
        amount=8_500,
        currency="usd",
    )
    refund = RefundSucceededV1(
        refund_id=f"ref_{uuid.uuid4().hex}",
        payment_id=captured.payment_id,
        booking_id=captured.booking_id,
        amount=4_000,
        currency="usd",
        platform_fee=600,
        host_amount=3_400,
        host_account_id=q.host,
        method="refund",
        stripe_refund_id=f"re_{uuid.uuid4().hex[:14]}",
    )
    failed = TransferReversalFailedV1(
        reversal_request_id=refund.refund_id,
        transfer_id=transfer_id,
        payment_id=captured.payment_id,
        booking_id=captured.booking_id,
        host_account_id=q.host,
        amount=3_400,
        currency="usd",
        code="insufficient_funds",
    )
    await q.deliver(transfer, refund, failed)
    async with q.pool.acquire() as conn:
        owed = await close_db.queue_owed(conn, "usd", q.host)
    assert owed == -(await q.balance(f"liability:host_payable:{q.host}")) == 0
    assert await q.balance(f"asset:host_receivable:{q.host}") == 3_400


async def test_a_capture_or_a_refund_announced_again_under_another_event_id_is_booked_once(
    q: QueueHarness,
) -> None:
    """`q.deliver` gives every delivery an envelope of its own (a new event id): the same
    capture and refund announced twice are one charge and one refund at Stripe, so the ledger
    books each once (finance.journal_objects) and the payables count each once."""
    checkout, captured = q.booking()
    await q.deliver(checkout, captured, captured)
    refund = refund_of(captured, amount=4_000, platform_fee=600)
    await q.deliver(refund, refund)
    booked = await q.pool.fetch(
        "SELECT kind, count(*) AS n FROM finance.journals WHERE stripe_object_id = ANY($1)"
        " GROUP BY kind ORDER BY kind",
        [captured.charge_id, refund.stripe_refund_id],
    )
    assert [(b["kind"], b["n"]) for b in booked] == [
        ("guest_payment_captured", 1),
        ("guest_refund", 1),
    ]
    assert await q.balance(f"liability:host_payable:{q.host}") == -(8_500 - 3_400)
    payable = await q.pool.fetchrow(
        "SELECT host_amount, refunded FROM finance.payables WHERE payment_id = $1",
        captured.payment_id,
    )
    assert (payable["host_amount"], payable["refunded"]) == (8_500, 3_400)
