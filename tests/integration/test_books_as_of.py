"""The match judges as of the moment its round's listing began, and an object once its newest
fact is past the grace: a round longer than the grace (a first import, a backlog) raises
nothing it could not have seen, and a later movement of an object already matched waits for
Stripe's side of it. Real Postgres, Stripe's balance served by the in-memory adapter (the
`Books` of test_books)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from finance.adapters import recon_repository as recon_db
from finance.adapters.stripe_balance import InMemoryStripeBalance
from finance.domain.reconciliation import BalanceTransaction
from finance.service_layer.reconcile import Reconciler
from tests.integration import test_books
from tests.integration.test_books import Books
from tests.integration.test_books_incremental import journal_on

pytestmark = pytest.mark.asyncio

books = test_books.books  # the fixture: a `Books` on its own currency and cursor


class CaptureWhileListing(InMemoryStripeBalance):
    """Lists what it held when asked; after the first transaction listed, payments captures a
    charge, whose balance transaction Stripe creates then (too late for this listing)."""

    def __init__(self, books: Books, charge: str, amount: int) -> None:
        super().__init__(books.stripe.transactions.values())
        self.books, self.charge, self.amount = books, charge, amount
        self.captured = False

    async def list_since(
        self, created_gte: datetime | None, created_lte: datetime | None = None
    ) -> AsyncIterator[BalanceTransaction]:
        async for bt in super().list_since(created_gte, created_lte):
            yield bt
            if not self.captured:
                self.captured = True
                await self.books.capture(self.charge, self.amount)
                self.put(self.books.bt(1, "charge", self.charge, self.amount, fee=59))


async def test_a_charge_captured_while_the_listing_runs_waits_for_the_next_round(
    books: Books,
) -> None:
    """No grace at all: judged at the end of the round, the charge would be `missing_at_stripe`
    (the listing began before Stripe had it)."""
    books.stripe.put(books.bt(3, "charge", f"ch_{books.tag}_old", 2_000, fee=88))
    await books.capture(f"ch_{books.tag}_old", 2_000)
    await books.reconciler.run(books.pool)  # the cursor's first round: a full match
    charge = f"ch_{books.tag}_new"
    stripe = CaptureWhileListing(books, charge, 1_000)
    slow = Reconciler(
        stripe, books.clock, cursor=books.reconciler.cursor, grace=timedelta(0), late=timedelta(0)
    )
    imported, matched = await slow.run(books.pool)
    assert stripe.captured and imported.listed == 1 and not matched.full
    assert await books.open_exceptions() == []

    imported, _ = await slow.run(books.pool)  # its listing has the charge: it reconciles
    assert imported.changed == 1
    assert await books.open_exceptions() == []
    assert (await books.balances())["expense:stripe_fees"] == 88 + 59


async def test_a_later_movement_of_a_matched_object_waits_its_grace(books: Books) -> None:
    """A charge reconciled a day ago gets a journal now (a movement whose balance transaction
    Stripe has not listed yet): the object waits the grace from that journal, not from when
    it was first seen."""
    charge = f"ch_{books.tag}"
    books.stripe.put(books.bt(5, "charge", charge, 1_000, status="available"))
    await journal_on(books, charge, 1_000)
    async with books.pool.acquire() as conn:
        await recon_db.record_object(
            conn,
            uuid.uuid4(),
            kind="charge",
            object_id=charge,
            amount=1_000,
            currency=books.currency,
        )
    await books.reconciler.run(books.pool)
    assert await books.open_exceptions() == []
    day = "now() - interval '1 day'"
    await books.pool.execute(
        f"UPDATE finance.stripe_balance_transactions SET imported_at = {day} WHERE source = $1",
        charge,
    )
    await books.pool.execute(
        f"UPDATE finance.stripe_objects SET recorded_at = {day} WHERE object_id = $1", charge
    )
    await journal_on(books, charge, -400, ago=timedelta(0))

    patient = Reconciler(
        books.stripe, books.clock, cursor=books.reconciler.cursor, grace=timedelta(minutes=5)
    )
    await patient.run(books.pool)
    assert await books.open_exceptions() == []  # within the grace of its newest fact
    await books.reconciler.run(books.pool)  # no grace: judged, and Stripe never moved it
    assert [e["kind"] for e in await books.open_exceptions()] == ["amount_mismatch"]
