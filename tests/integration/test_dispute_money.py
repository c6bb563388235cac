"""A card dispute's money on the real database, through finance's routing table: every fact is
applied twice (redelivery) and some are emitted again under a new event id or out of order;
the journals balance, the loss is borne as its shares say, and each host share is recovered
exactly once: netted from the held payout, or by one transfer reversal."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from finance.adapters import close_repository as close_db
from finance.bootstrap import build_app, build_runtime
from finance.config import FinanceSettings
from finance.service_layer import queue_admin
from marketplace_contracts.events.disputes import (
    DisputeResolvedV1,
    LiabilityShare,
    PayoutHoldChangedV1,
)
from marketplace_contracts.events.payments import (
    PaymentCapturedV2,
    TransferCreatedV1,
    TransferReversalFailedV1,
    TransferReversedV1,
)
from marketplace_contracts.events.payments_disputes import (
    DisputeFundsReinstatedV1,
    DisputeFundsWithdrawnV1,
)
from tests.conftest import service_dsn
from tests.support.finance_queue import DAY, START, QueueHarness, entry_id
from tests.support.staff_auth import finance_staff

pytestmark = pytest.mark.integration
FEE = 1_500


class Dispute:
    """One dispute of a captured payment, and the facts about it."""

    def __init__(self, captured: PaymentCapturedV2, amount: int = 10_000) -> None:
        tag = uuid.uuid4().hex[:12]
        self.captured = captured
        self.amount = amount
        self.du = f"du_{tag}"
        self.dispute_id = f"dsp_{tag}"
        self.ids = {
            "dispute_id": self.dispute_id,
            "processor_dispute_id": self.du,
            "payment_id": captured.payment_id,
            "booking_id": captured.booking_id,
        }

    def hold(self, held: bool) -> PayoutHoldChangedV1:
        return PayoutHoldChangedV1(
            dispute_id=self.dispute_id, payment_id=self.captured.payment_id, held=held
        )

    def withdrawn(self) -> DisputeFundsWithdrawnV1:
        return DisputeFundsWithdrawnV1(
            **self.ids,
            amount=self.amount,
            fee=FEE,
            currency="usd",
            balance_transaction_id=f"txn_w{self.du}",
        )

    def reinstated(self) -> DisputeFundsReinstatedV1:
        return DisputeFundsReinstatedV1(
            **self.ids, amount=self.amount, currency="usd", balance_transaction_id=f"txn_r{self.du}"
        )

    def resolved(self, outcome: str, host_share: int = 0) -> DisputeResolvedV1:
        split = self.captured.splits[0]
        shares = [LiabilityShare(party="platform", amount=self.amount - host_share)]
        if host_share:
            shares.append(
                LiabilityShare(
                    party="host",
                    host_account_id=split.host_account_id,
                    booking_id=split.booking_id,
                    amount=host_share,
                )
            )
        return DisputeResolvedV1(
            **self.ids,
            outcome=outcome,
            reason="fraudulent",
            amount=self.amount,
            currency="usd",
            policy_version="2026-12-01",
            shares=shares if outcome in ("lost", "accepted") else [],
        )

    def reversed(self, amount: int, transfer_id: str) -> TransferReversedV1:
        return TransferReversedV1(
            reversal_id=f"trr_{self.du}",
            transfer_id=transfer_id,
            payment_id=self.captured.payment_id,
            booking_id=self.captured.booking_id,
            host_account_id=self.captured.splits[0].host_account_id,
            amount=amount,
            currency="usd",
            request_id=f"{self.dispute_id}:{self.captured.booking_id}",
            cause="dispute_lost",
        )


async def books_of(pool: asyncpg.Pool, d: Dispute) -> dict[str, int]:
    """What the dispute's journals (named by its `du_`) did to each account."""
    rows = await pool.fetch(
        "SELECT p.account, sum(p.amount)::bigint AS b FROM finance.journals j "
        "JOIN finance.postings p USING (journal_id) WHERE j.stripe_object_id = $1 "
        "GROUP BY p.account",
        d.du,
    )
    return {r["account"]: r["b"] for r in rows if r["b"]}


async def kinds_of(pool: asyncpg.Pool, d: Dispute) -> list[str]:
    rows = await pool.fetch(
        "SELECT kind FROM finance.journals WHERE stripe_object_id = $1 ORDER BY kind", d.du
    )
    return [r["kind"] for r in rows]


async def pay(q: QueueHarness, captured: PaymentCapturedV2) -> str:
    """Run the payout queue until the entry is paid; the transfer's id."""
    q.clock.at = START + DAY
    await q.run_due()
    entry = await q.entry(entry_id(captured))
    transfer_id = f"tr_{uuid.uuid4().hex[:12]}"
    await q.deliver(
        TransferCreatedV1(
            release_id=entry["release_id"],
            transfer_id=transfer_id,
            payment_id=captured.payment_id,
            booking_id=captured.booking_id,
            host_account_id=q.host,
            amount=entry["amount"],
            currency="usd",
        )
    )
    assert (await q.entry(entry_id(captured)))["state"] == "transferred"
    return transfer_id


async def tied(q: QueueHarness) -> None:
    """The close's host-payables tie-out holds for the host."""
    async with q.pool.acquire() as conn:
        owed = await close_db.queue_owed(conn, "usd", q.host)
    assert owed == -(await q.balance(f"liability:host_payable:{q.host}"))


async def test_a_lost_dispute_on_a_held_payout_is_netted_from_it_once(q: QueueHarness) -> None:
    checkout, captured = q.booking()  # 10 000 paid, 8 500 the host's
    await q.deliver(checkout, captured)
    d = Dispute(captured)
    resolved = d.resolved("lost", host_share=4_000)
    # the outcome overtakes the withdrawal (another topic), and both are emitted twice
    await q.deliver(d.hold(True), resolved, d.withdrawn(), resolved, d.withdrawn())
    assert await books_of(q.pool, d) == {
        "asset:stripe_balance:pending": -11_500,
        "expense:stripe_dispute_fees": FEE,
        "expense:dispute_losses": 6_000,
        f"asset:host_receivable:{q.host}": 4_000,
    }
    assert sorted(await kinds_of(q.pool, d)) == [
        "dispute_fee",
        "dispute_funds_withdrawn",
        "dispute_loss",
    ]
    q.clock.at = START + DAY
    await q.run_due()
    assert (await q.entry(entry_id(captured)))["state"] == "held"  # the dispute's hold stands

    await q.deliver(d.hold(False))
    await q.run_due()
    entry = await q.entry(entry_id(captured))
    assert (entry["state"], entry["netted"], entry["amount"]) == ("released", 4_000, 4_500)
    assert await q.balance(f"asset:host_receivable:{q.host}") == 0
    recorded = await q.events("finance.negative_balance_recorded", q.host)
    assert [(r["cause"], r["amount"]) for r in recorded] == [("dispute_loss", 4_000)]
    assert await q.events("finance.transfer_reversal_requested", f"{d.dispute_id}:%") == []
    await tied(q)


async def test_a_lost_dispute_of_a_paid_host_is_reversed_once(q: QueueHarness) -> None:
    checkout, captured = q.booking()
    await q.deliver(checkout, captured)
    transfer_id = await pay(q, captured)
    d = Dispute(captured)
    await q.deliver(d.withdrawn(), d.resolved("accepted", host_share=4_000))
    await q.deliver(d.resolved("accepted", host_share=4_000))  # emitted again: nothing more
    [request] = await q.events("finance.transfer_reversal_requested", f"{d.dispute_id}:%")
    assert (request["transfer_id"], request["amount"], request["cause"]) == (
        transfer_id,
        4_000,
        "dispute_lost",
    )
    assert request["request_id"] == f"{d.dispute_id}:{captured.booking_id}"
    recovery = f"asset:dispute_recovery:{q.host}"
    assert await q.balance(recovery) == 4_000
    assert await q.balance(f"asset:host_receivable:{q.host}") == 0  # not nettable meanwhile

    back = d.reversed(4_000, transfer_id)
    await q.deliver(back, back)
    assert await q.balance(recovery) == 0
    reversal = await q.pool.fetch(
        "SELECT j.kind, p.account, p.amount FROM finance.journals j JOIN finance.postings p "
        "USING (journal_id) WHERE j.stripe_object_id = $1 ORDER BY p.amount",
        back.reversal_id,
    )
    assert [(r["kind"], r["account"], r["amount"]) for r in reversal] == [
        ("dispute_recovery_reversed", recovery, -4_000),
        ("dispute_recovery_reversed", "asset:stripe_balance:pending", 4_000),
    ]
    entry = await q.entry(entry_id(captured))
    assert entry["state"] == "transferred"  # the payout stands; the share came back apart
    shown = await queue_admin.show(q.pool, entry_id(captured))
    assert shown is not None
    [note] = [h["note"] for h in shown["history"] if h["trigger"] == "dispute_lost"]
    assert note.endswith(f"host share 4000: 4000 reversal of {transfer_id} requested")
    [recovery_row] = shown["dispute_recoveries"]
    assert (recovery_row["state"], recovery_row["reversal_id"]) == ("reversed", back.reversal_id)
    await tied(q)
    # the dispute's books show the share coming back: nothing left in the recovery account
    books = await ledger_view(q, d.du)
    assert "dispute_recovery_reversed" in [j["kind"] for j in books["journals"]]
    assert recovery not in books["totals"], books["totals"]


@contextlib.asynccontextmanager
async def finance_api(q: QueueHarness) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process finance app on the harness's pool, called as finance staff."""
    runtime = build_runtime(FinanceSettings(database_url=service_dsn("finance")))
    runtime.pool = q.pool
    app = build_app(runtime)
    app.state.runtime = runtime
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://finance", headers=finance_staff()
    ) as api:
        yield api


async def ledger_view(q: QueueHarness, dispute_id: str) -> dict[str, Any]:
    """`GET /v1/ledger/disputes/{id}`, as finance staff see it."""
    async with finance_api(q) as api:
        answer = await api.get(f"/v1/ledger/disputes/{dispute_id}")
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def test_a_failed_reversal_is_owed_and_netted_from_the_next_payout_once(
    q: QueueHarness,
) -> None:
    checkout, captured = q.booking()
    await q.deliver(checkout, captured)
    transfer_id = await pay(q, captured)
    d = Dispute(captured)
    await q.deliver(d.withdrawn(), d.resolved("lost", host_share=3_000))
    failed = TransferReversalFailedV1(
        reversal_request_id=f"{d.dispute_id}:{captured.booking_id}",
        transfer_id=transfer_id,
        payment_id=captured.payment_id,
        booking_id=captured.booking_id,
        host_account_id=q.host,
        amount=3_000,
        currency="usd",
        code="insufficient_funds",
        request_id=f"{d.dispute_id}:{captured.booking_id}",
        cause="dispute_lost",
    )
    await q.deliver(failed, failed)
    assert await q.balance(f"asset:dispute_recovery:{q.host}") == 0
    assert await q.balance(f"asset:host_receivable:{q.host}") == 3_000

    next_checkout, following = q.booking(starts_at=START + DAY)
    await q.deliver(next_checkout, following)
    q.clock.at = START + 2 * DAY
    await q.run_due()
    entry = await q.entry(entry_id(following))
    assert (entry["netted"], entry["amount"]) == (3_000, 5_500)
    assert await q.balance(f"asset:host_receivable:{q.host}") == 0
    recovered = await q.events("finance.negative_balance_recovered", q.host)
    assert [r["amount"] for r in recovered] == [3_000]
    await tied(q)


async def test_a_won_dispute_reinstates_the_funds_keeps_the_fee_and_books_no_loss(
    q: QueueHarness,
) -> None:
    checkout, captured = q.booking()
    await q.deliver(checkout, captured)
    d = Dispute(captured)
    await q.deliver(d.hold(True), d.withdrawn(), d.reinstated(), d.resolved("won"), d.hold(False))
    assert await books_of(q.pool, d) == {
        "asset:stripe_balance:pending": -FEE,
        "expense:stripe_dispute_fees": FEE,
    }
    q.clock.at = START + DAY
    await q.run_due()
    entry = await q.entry(entry_id(captured))
    assert (entry["state"], entry["netted"], entry["amount"]) == ("released", 0, 8_500)
    expected = await q.pool.fetch(
        "SELECT kind, amount FROM finance.stripe_objects WHERE object_id = $1 ORDER BY kind",
        d.du,
    )
    assert [(r["kind"], r["amount"]) for r in expected] == [
        ("dispute", -10_000),
        ("dispute_reversal", 10_000),
    ]


async def test_a_bank_debits_dispute_is_booked_by_its_return_only(q: QueueHarness) -> None:
    checkout, captured = q.booking()
    debit = captured.model_copy(
        update={"payment_method_type": "us_bank_account", "funds_hold_until": START}
    )
    await q.deliver(checkout, debit)
    d = Dispute(debit)
    await q.deliver(d.withdrawn())
    assert await books_of(q.pool, d) == {}


async def test_a_reversal_finance_never_asked_for_is_refused(q: QueueHarness) -> None:
    _, captured = q.booking()
    d = Dispute(captured)
    with pytest.raises(Exception, match="never asked"):
        await q.deliver(d.reversed(1_000, "tr_unknown"))


async def test_a_lost_group_dispute_recovers_each_legs_host_share_from_its_own_payout(
    q: QueueHarness,
) -> None:
    """One payment for two legs of two hosts: the loss splits by leg, each host's share is
    netted from its own held payout, the platform bears the rest."""
    other = QueueHarness(q.pool, clock=q.clock)
    try:
        first_checkout, first = q.booking()
        second_checkout, second = other.booking()
        group = first.model_copy(
            update={
                "amount": 20_000,
                "platform_fee": 3_000,
                "splits": [*first.splits, *second.splits],
                "transfer_group": f"grp_{first.payment_id}",
            }
        )
        await q.deliver(first_checkout, second_checkout, group)
        d = Dispute(group, amount=20_000)
        hosts = [(q.host, first.booking_id, 2_000), (other.host, second.booking_id, 3_000)]
        resolved = DisputeResolvedV1(
            **d.ids,
            outcome="lost",
            reason="product_not_received",
            amount=20_000,
            currency="usd",
            policy_version="2026-12-01",
            shares=[
                LiabilityShare(party="platform", amount=15_000),
                *(
                    LiabilityShare(party="host", host_account_id=h, booking_id=b, amount=a)
                    for h, b, a in hosts
                ),
            ],
        )
        await q.deliver(d.hold(True), d.withdrawn(), resolved, resolved, d.hold(False))
        q.clock.at = START + DAY
        await q.run_due()
        for (host, booking, share), harness in zip(hosts, (q, other), strict=True):
            entry = await q.entry(f"{group.payment_id}:{booking}")
            assert (entry["state"], entry["netted"], entry["amount"]) == (
                "released",
                share,
                8_500 - share,
            )
            assert await q.balance(f"asset:host_receivable:{host}") == 0
            await tied(harness)
        books = await books_of(q.pool, d)
        assert books["expense:dispute_losses"] == 15_000
        assert books.get("asset:disputed_funds", 0) == 0
    finally:
        await other.close()


async def test_the_ledger_shows_a_disputes_books_by_either_id(q: QueueHarness) -> None:
    checkout, captured = q.booking()
    await q.deliver(checkout, captured)
    d = Dispute(captured)
    await q.deliver(d.hold(True), d.withdrawn(), d.resolved("lost", host_share=4_000))
    async with finance_api(q) as api:
        by_ours = await api.get(f"/v1/ledger/disputes/{d.dispute_id}")
        by_stripes = await api.get(f"/v1/ledger/disputes/{d.du}")
        missing = await api.get("/v1/ledger/disputes/dsp_nothing_here")
    assert by_ours.status_code == 200, by_ours.text
    assert by_ours.json() == by_stripes.json()
    books = by_ours.json()
    assert sorted(j["kind"] for j in books["journals"]) == [
        "dispute_fee",
        "dispute_funds_withdrawn",
        "dispute_loss",
    ]
    assert books["totals"] == {
        "asset:stripe_balance:pending": -11_500,
        "expense:stripe_dispute_fees": FEE,
        "expense:dispute_losses": 6_000,
        f"asset:host_receivable:{q.host}": 4_000,
    }
    [recovery] = books["recoveries"]
    assert (recovery["state"], recovery["amount"]) == ("netting", 4_000)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "dispute_not_found"


async def test_a_loss_the_platform_bears_alone_pays_the_host_in_full(q: QueueHarness) -> None:
    """Fraud on a payment that passed 3-D Secure: the policy gives the platform all of it."""
    checkout, captured = q.booking()
    await q.deliver(checkout, captured)
    d = Dispute(captured)
    await q.deliver(d.hold(True), d.withdrawn(), d.resolved("lost"), d.hold(False))
    assert (await books_of(q.pool, d))["expense:dispute_losses"] == 10_000
    q.clock.at = START + DAY
    await q.run_due()
    entry = await q.entry(entry_id(captured))
    assert (entry["state"], entry["netted"], entry["amount"]) == ("released", 0, 8_500)
    assert (
        await q.pool.fetchval(
            "SELECT count(*) FROM finance.dispute_recoveries WHERE dispute_id = $1", d.dispute_id
        )
        == 0
    )
