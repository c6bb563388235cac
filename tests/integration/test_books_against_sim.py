"""The Stripe import and the three-way match against the Stripe simulator: a card payment the
platform booked, and a refund made in Stripe's dashboard that it never asked for."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
import stripe

from eventkit.db import create_pool
from finance.adapters import ledger_repository
from finance.adapters import recon_repository as recon_db
from finance.adapters.stripe_balance import SdkStripeBalance
from finance.domain.ledger import guest_payment_captured
from finance.service_layer.reconcile import Reconciler
from stripesim import create_app
from stripesim.testing import serve
from tests.conftest import service_dsn

API_KEY = "sk_test_local_simulator"
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


@pytest.fixture
def sim_base() -> Iterator[str]:
    """A simulator of the test's own: funds available at once, no automatic payouts."""
    with serve(create_app(available_delay_seconds=0, automatic_payouts=False)) as base:
        yield base


@pytest.fixture
async def pool(pg_ready: None) -> AsyncIterator[asyncpg.Pool]:
    found = await create_pool(service_dsn("finance"), min_size=1, max_size=4)
    assert found is not None
    yield found
    await found.close()


def card_charge(base: str, amount: int) -> str:
    client = stripe.StripeClient(API_KEY, base_addresses={"api": base})
    intent = client.v1.payment_intents.create(
        {"amount": amount, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    )
    return str(intent.latest_charge)


async def book_capture(pool: asyncpg.Pool, charge: str, amount: int) -> None:
    """What finance holds once payments' capture fact is in: the journal and the expectation."""
    event_id = uuid.uuid4()
    journal = guest_payment_captured(
        amount=amount, platform_fee=amount // 10, host_account_id="acct_sim", currency="usd"
    )
    async with pool.acquire() as conn, conn.transaction():
        await ledger_repository.post(
            conn, journal, source_event_id=event_id, booking_id=None, stripe_object_id=charge
        )
        await recon_db.record_object(
            conn, event_id, kind="charge", object_id=charge, amount=amount, currency="usd"
        )


async def ledger_of(pool: asyncpg.Pool, objects: list[str]) -> dict[str, int]:
    rows = await pool.fetch(
        "SELECT p.account, sum(p.amount)::bigint AS b FROM finance.journals j JOIN "
        "finance.postings p USING (journal_id) WHERE j.stripe_object_id = ANY($1::text[]) "
        "GROUP BY p.account",
        objects,
    )
    return {r["account"]: r["b"] for r in rows}


async def test_a_dashboard_refund_is_the_one_exception_and_the_balance_difference(
    sim_base: str, pool: asyncpg.Pool
) -> None:
    charge = card_charge(sim_base, 20_000)
    await book_capture(pool, charge, 20_000)
    async with httpx.AsyncClient(base_url=sim_base) as sim:
        made = await sim.post("/_sim/dashboard/refunds", json={"charge": charge, "amount": 5_000})
    assert made.status_code == 200, made.text
    refund = made.json()["id"]

    stripe_balance = SdkStripeBalance(API_KEY, sim_base)
    reconciler = Reconciler(
        stripe_balance,
        lambda: datetime.now(UTC),
        cursor=f"sim_{uuid.uuid4().hex[:8]}",
        grace=timedelta(0),
    )
    try:
        await reconciler.run(pool)
        imported, _ = await reconciler.run(pool)  # a second round books nothing more
        at_stripe = (await stripe_balance.balance())["usd"]
    finally:
        await stripe_balance.close()
    assert imported.journals == 0

    # Read by object, not through the first page of the list: a database with history holds
    # thousands of older exceptions.
    found = [
        (e["kind"], e["object_id"])
        for e in await pool.fetch(
            "SELECT kind, object_id FROM finance.recon_exceptions WHERE status = 'open' "
            "AND object_id = ANY($1::text[]) ORDER BY exception_id",
            [charge, refund],
        )
    ]
    assert found == [("missing_in_ledger", refund)]

    ledger = await ledger_of(pool, [charge, refund])
    assert ledger["expense:stripe_fees"] == 610  # 2.9 % + 30 cents of 200.00
    assert ledger["asset:stripe_balance:available"] == at_stripe["available"] == 14_390
    # The ledger never booked the refund: its pending balance is that much too high.
    assert ledger["asset:stripe_balance:pending"] - at_stripe["pending"] == 5_000
