"""A scheduled Stripe import keeps to its share of the time: after each batch it stores it waits
(1 - duty) / duty times as long as reading and storing the batch took, so that a round of
20,000 balance transactions spreads out instead of taking a core while checkouts wait
(docs/benchmarks.md). Real Postgres, Stripe's balance served by the in-memory adapter (the
`Books` of test_books)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eventkit.periodic import Pace
from finance.service_layer.books import Books as ServiceBooks
from finance.service_layer.reconcile import Reconciler
from tests.integration import test_books
from tests.integration.test_books import Books

pytestmark = pytest.mark.asyncio

books = test_books.books  # the fixture: a `Books` on its own currency and cursor


class Sleeps:
    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)


async def test_a_paced_round_waits_after_each_batch_and_imports_everything(books: Books) -> None:
    for n in range(250):
        books.stripe.put(books.bt(n, "charge", f"ch_{books.tag}_{n}", 1_000, fee=59))
    reconciler = Reconciler(
        books.stripe, books.clock, cursor=books.reconciler.cursor, batch_size=100
    )
    sleeps = Sleeps()
    imported, _ = await reconciler.run(books.pool, pace=Pace(0.25, sleep=sleeps))
    assert (imported.listed, imported.changed) == (250, 250)
    assert len(sleeps.asked) == 3  # batches of 100, 100 and 50
    assert all(seconds > 0 for seconds in sleeps.asked)


async def test_the_scheduled_round_runs_at_the_books_pace(books: Books) -> None:
    books.stripe.put(books.bt(1, "charge", f"ch_{books.tag}", 1_000, fee=59))
    sleeps = Sleeps()
    service = ServiceBooks(
        books.stripe,
        books.reconciler,
        daily_close=None,  # type: ignore[arg-type]  # not reached by an import
        now=books.clock,
        import_every=timedelta(minutes=5),
        import_pace=Pace(0.1, sleep=sleeps),
    )
    ran = await service.import_if_due(books.pool)
    assert ran is not None and ran[0].changed == 1
    assert len(sleeps.asked) == 1 and sleeps.asked[0] > 0
    assert await service.import_if_due(books.pool) is None  # not due again for five minutes
