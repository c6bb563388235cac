"""A card dispute's balance transactions at the Stripe simulator, reconciled against what
finance booked from the facts: the withdrawal (amount and dispute fee), the reinstatement
when won, the reversal of a paid host's share when lost. Each case has a currency of its own
(the simulator takes any), so the day's close sees only its books: 0 exceptions and every
tie-out 0."""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import stripe

from eventkit.outbox import Outbox
from finance.adapters import recon_repository as recon_db
from finance.adapters.stripe_balance import SdkStripeBalance
from finance.domain.close import parse_cutoff
from finance.entrypoints.consumers import build_router
from finance.service_layer.close import DailyClose
from finance.service_layer.handlers import FinanceHandlers
from finance.service_layer.payouts import Payouts
from finance.service_layer.queue_facts import QueueFacts
from finance.service_layer.recon_facts import ReconFacts
from finance.service_layer.reconcile import Reconciler
from marketplace_contracts.events.booking import CheckoutRequestedV1
from marketplace_contracts.events.disputes import DisputeResolvedV1, LiabilityShare
from marketplace_contracts.events.payments import (
    PaymentCapturedV2,
    PaymentSplit,
    TransferCreatedV1,
    TransferReversedV1,
)
from marketplace_contracts.events.payments_disputes import (
    DisputeFundsReinstatedV1,
    DisputeFundsWithdrawnV1,
)
from stripesim import create_app
from stripesim.testing import serve
from tests.support.finance_queue import DAY, START, QueueHarness, entry_id, finance_pool

API_KEY = "sk_test_local_simulator"
AMOUNT, PLATFORM_FEE = 20_000, 3_000
pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning"),
]


@pytest.fixture
def sim_base() -> Iterator[str]:
    """A simulator of the test's own: funds available at once, no automatic payouts."""
    with serve(create_app(available_delay_seconds=0, automatic_payouts=False)) as base:
        yield base


class Case:
    """One booking paid by card at the simulator in a currency of its own, and finance fed
    the facts payments would publish about it (each twice), with reconciliation on."""

    def __init__(self, q: QueueHarness, base: str) -> None:
        self.q, self.base = q, base
        self.currency = "".join(random.choices(string.ascii_lowercase, k=3))
        self.client = stripe.StripeClient(API_KEY, base_addresses={"api": base})
        self.sim = httpx.AsyncClient(base_url=base)
        outbox = Outbox("finance", "finance")
        q.router = build_router(
            FinanceHandlers(outbox),
            Payouts(outbox, q.queue),
            QueueFacts(q.queue, q.release),
            recon=ReconFacts(lambda: datetime.now(UTC)),
        )
        self.booking_id = f"bk_{uuid.uuid4().hex[:12]}"
        self.payment_id = f"pay_{uuid.uuid4().hex[:12]}"
        self.charge = ""

    async def capture(self) -> PaymentCapturedV2:
        intent = self.client.v1.payment_intents.create(
            {
                "amount": AMOUNT,
                "currency": self.currency,
                "payment_method": "pm_card_visa",
                "confirm": True,
                "transfer_group": self.booking_id,
            }
        )
        self.charge = str(intent.latest_charge)
        host = self.q.host
        captured = PaymentCapturedV2(
            payment_id=self.payment_id,
            booking_id=self.booking_id,
            payment_intent_id=intent.id,
            charge_id=self.charge,
            amount=AMOUNT,
            currency=self.currency,
            platform_fee=PLATFORM_FEE,
            transfer_group=self.booking_id,
            splits=[
                PaymentSplit(
                    booking_id=self.booking_id,
                    host_account_id=host,
                    amount=AMOUNT,
                    platform_fee=PLATFORM_FEE,
                    host_amount=AMOUNT - PLATFORM_FEE,
                )
            ],
        )
        checkout = CheckoutRequestedV1(
            booking_id=self.booking_id,
            guest_id="g1",
            listing_id="lst_1",
            host_id="host-1",
            host_account_id=host,
            starts_at=START,
            ends_at=START + timedelta(hours=3),
            amount=AMOUNT,
            currency=self.currency,
            platform_fee=PLATFORM_FEE,
            payment_method="pm_card_visa",
        )
        await self.q.deliver(checkout, captured)
        return captured

    async def pay_host(self, captured: PaymentCapturedV2) -> str:
        """The queue releases the payout; payments transfers it at the simulator."""
        self.q.clock.at = START + DAY
        await self.q.run_due()
        entry = await self.q.entry(entry_id(captured))
        transfer = self.client.v1.transfers.create(
            {
                "amount": entry["amount"],
                "currency": self.currency,
                "destination": self.q.host,
                "source_transaction": self.charge,
            }
        )
        await self.q.deliver(
            TransferCreatedV1(
                release_id=entry["release_id"],
                transfer_id=transfer.id,
                payment_id=self.payment_id,
                booking_id=self.booking_id,
                host_account_id=self.q.host,
                amount=entry["amount"],
                currency=self.currency,
            )
        )
        return transfer.id

    async def dispute(self) -> dict[str, Any]:
        made = await self.sim.post(f"/_sim/charges/{self.charge}/dispute", json={})
        assert made.status_code == 200, made.text
        found: dict[str, Any] = made.json()
        [withdrawal] = found["balance_transactions"]
        await self.q.deliver(
            DisputeFundsWithdrawnV1(
                **self.ids(found),
                amount=-withdrawal["amount"],
                fee=withdrawal["fee"],
                currency=self.currency,
                balance_transaction_id=withdrawal["id"],
            )
        )
        return found

    async def resolve(self, found: dict[str, Any], status: str) -> dict[str, Any]:
        made = await self.sim.post(f"/_sim/disputes/{found['id']}/resolve", json={"status": status})
        assert made.status_code == 200, made.text
        resolved: dict[str, Any] = made.json()
        return resolved

    def ids(self, found: dict[str, Any]) -> dict[str, str]:
        return {
            "dispute_id": "dsp_" + found["id"].removeprefix("du_"),
            "processor_dispute_id": found["id"],
            "payment_id": self.payment_id,
            "booking_id": self.booking_id,
        }

    async def reconciled_and_closed(self, objects: list[str]) -> dict[str, Any]:
        """Reconcile, then close today: no exception about the objects, the day closed."""
        stripe_balance = SdkStripeBalance(API_KEY, self.base)
        clock = lambda: datetime.now(UTC) + timedelta(days=1)  # noqa: E731 (today is over)
        reconciler = Reconciler(
            stripe_balance,
            clock,
            cursor=f"sim_{uuid.uuid4().hex[:8]}",
            grace=timedelta(0),
            outbox=Outbox("finance", "finance"),
        )
        close = DailyClose(
            stripe_balance, clock, parse_cutoff("00:00"), Outbox("finance", "finance"), reconciler
        )
        try:
            await reconciler.run(self.q.pool)
            exceptions = [
                (e["kind"], e["object_id"], e["detail"])
                for e in await recon_db.list_exceptions(self.q.pool, currency=self.currency)
            ]
            assert exceptions == []
            views = {v.object_id: v for v in await recon_db.object_views(self.q.pool)}
            for object_id in objects:
                view = views[object_id]
                assert view.stripe == view.ledger == view.payments, object_id
            day = clock().date() - timedelta(days=1)
            [closed] = await close.close(self.q.pool, day, self.currency)
        finally:
            await stripe_balance.close()
            await self.sim.aclose()
        assert closed.report["blockers"] == []
        assert {t["check"]: t["difference"] for t in closed.report["tieouts"]} == {
            "stripe_pending": 0,
            "stripe_available": 0,
            "host_payables": 0,
            "captured_net": 0,
        }
        assert closed.closed
        return closed.report


@pytest.fixture
async def case(pg_ready: None, sim_base: str) -> AsyncIterator[Case]:
    async with finance_pool() as pool:
        harness = QueueHarness(pool)
        yield Case(harness, sim_base)
        await harness.close()


async def test_a_lost_dispute_of_a_paid_host_reconciles_with_its_reversal(case: Case) -> None:
    captured = await case.capture()
    transfer_id = await case.pay_host(captured)
    found = await case.dispute()
    await case.resolve(found, "lost")
    host_share = 8_000
    await case.q.deliver(
        DisputeResolvedV1(
            **case.ids(found),
            outcome="lost",
            reason="fraudulent",
            amount=AMOUNT,
            currency=case.currency,
            policy_version="2026-12-01",
            shares=[
                LiabilityShare(party="platform", amount=AMOUNT - host_share),
                LiabilityShare(
                    party="host",
                    host_account_id=case.q.host,
                    booking_id=case.booking_id,
                    amount=host_share,
                ),
            ],
        )
    )
    [request] = await case.q.events(
        "finance.transfer_reversal_requested", f"{case.ids(found)['dispute_id']}:%"
    )
    # payments answers the request: the reversal at the simulator, then its fact
    reversal = case.client.v1.transfers.reversals.create(transfer_id, {"amount": request["amount"]})
    await case.q.deliver(
        TransferReversedV1(
            reversal_id=reversal.id,
            transfer_id=transfer_id,
            payment_id=case.payment_id,
            booking_id=case.booking_id,
            host_account_id=case.q.host,
            amount=request["amount"],
            currency=case.currency,
            request_id=request["request_id"],
            cause="dispute_lost",
        )
    )
    report = await case.reconciled_and_closed([case.charge, transfer_id, found["id"], reversal.id])
    balances = report["balances"]
    assert balances["expense:stripe_dispute_fees"] == 1_500
    assert balances["expense:dispute_losses"] == AMOUNT - host_share
    assert balances.get("asset:disputed_funds", 0) == 0
    assert balances.get(f"asset:dispute_recovery:{case.q.host}", 0) == 0
    figures = report["figures"]
    assert (figures["dispute_fees"], figures["dispute_losses"]) == (1_500, AMOUNT - host_share)


async def test_a_won_dispute_reconciles_with_its_reinstatement(case: Case) -> None:
    await case.capture()
    found = await case.dispute()
    resolved = await case.resolve(found, "won")
    reinstatement = resolved["balance_transactions"][-1]
    back = DisputeFundsReinstatedV1(
        **case.ids(found),
        amount=reinstatement["amount"],
        currency=case.currency,
        balance_transaction_id=reinstatement["id"],
    )
    await case.q.deliver(back, back)
    report = await case.reconciled_and_closed([case.charge, found["id"]])
    balances = report["balances"]
    assert balances["expense:stripe_dispute_fees"] == 1_500
    assert balances.get("asset:disputed_funds", 0) == 0
    assert "expense:dispute_losses" not in balances
