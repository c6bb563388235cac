"""A close that will be refused (a typo's currency, a day before the books, an earlier day
still open, a day already locked) is refused before its full reconciliation round, which at a
busy platform re-lists every pending balance transaction for a minute. Real Postgres, Stripe's
balance served by the in-memory adapter (the `Books` of test_books)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from finance.service_layer.close import CloseRefused
from tests.integration import test_books
from tests.integration.test_books import Books

pytestmark = pytest.mark.asyncio

books = test_books.books  # the fixture: a `Books` on its own currency and cursor


async def _refused(books: Books, day_back: int, currency: str | None) -> str:
    listed = books.stripe.listed
    with pytest.raises(CloseRefused) as refused:
        await books.close.close(
            books.pool, books.clock().date() - timedelta(days=day_back), currency
        )
    assert books.stripe.listed == listed, "the full round ran before the refusal"
    return refused.value.code


async def test_what_refuses_a_close_refuses_it_before_the_round(books: Books) -> None:
    books.stripe.put(books.bt(1, "charge", f"ch_{books.tag}", 1_000, fee=59))
    assert await _refused(books, 1, "zzq") == "before_first_day"  # never held here nor at Stripe

    await books.capture(f"ch_{books.tag}", 1_000)
    books.clock.at += timedelta(days=2)
    assert await _refused(books, 1, books.currency) == "earlier_day_open"
    assert await _refused(books, 30, books.currency) == "before_first_day"

    closes = await books.close.close_due(books.pool, books.currency)  # every day till today
    assert closes and all(c.closed for c in closes), [c.report.get("blockers") for c in closes]
    assert await _refused(books, 30, books.currency) == "day_locked"  # before the last closed
    [again] = await books.close.close(books.pool, closes[0].business_date, books.currency)
    assert again.closed and again.report == closes[0].report  # a closed day: its report
