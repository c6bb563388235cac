"""A reconciliation round costs what changed, not the books' history: its match judges the
objects touched since the last match (and those with an open exception), its import re-reads
only the pending balance transactions whose `available_on` has come. A full round (the close,
`reconcile --full`) still judges and re-reads everything. Real Postgres, Stripe's balance
served by the in-memory adapter (the `Books` of test_books)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from finance.adapters import recon_repository as recon_db
from finance.domain.reconciliation import BalanceTransaction
from finance.service_layer.reconcile import Reconciler
from tests.integration import test_books
from tests.integration.test_books import Books
from tests.support.poll import eventually

pytestmark = pytest.mark.asyncio

PENDING = "asset:stripe_balance:pending"


books = test_books.books  # the fixture: a `Books` on its own currency and cursor


async def journal_on(
    books: Books, charge: str, amount: int, ago: timedelta = timedelta(days=1)
) -> None:
    """A journal on `charge` stamped `ago` back: by default a change made before the last match
    read, which only a full round sees (no service posts like this; it stands for anything the
    incremental match would miss)."""
    journal_id = uuid.uuid4()
    async with books.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO finance.journals (journal_id, kind, source_event_id, currency, "
            "stripe_object_id, posted_at) VALUES ($1, 'test_backdated', $2, $3, $4, "
            "now() - $5::interval)",
            journal_id,
            uuid.uuid4(),
            books.currency,
            charge,
            ago,
        )
        await conn.execute(
            "INSERT INTO finance.postings (journal_id, account, amount, currency) "
            "VALUES ($1, $2, $3, $4), ($1, 'expense:test', $5, $4)",
            journal_id,
            PENDING,
            amount,
            books.currency,
            -amount,
        )


async def test_a_round_judges_what_changed_and_a_full_round_judges_everything(
    books: Books,
) -> None:
    """No grace and no late margin: a round reaches back exactly to the last match."""
    prompt = Reconciler(
        books.stripe,
        books.clock,
        cursor=books.reconciler.cursor,
        grace=timedelta(0),
        late=timedelta(0),
    )
    charge = f"ch_{books.tag}"
    await books.capture(charge, 10_000)
    books.stripe.put(books.bt(1, "charge", charge, 10_000, fee=320))
    _, first = await prompt.run(books.pool)
    assert first.full  # a cursor's first match judges everything
    assert await books.open_exceptions() == []
    # The first round's import touched the charge after its listing began, the moment that
    # round judged as of: the second round judges it again; nothing touches it after that.
    _, second = await prompt.run(books.pool)
    assert not second.full and second.judged >= 1

    await journal_on(books, charge, 500)
    _, quiet = await prompt.run(books.pool)
    assert not quiet.full
    assert await books.open_exceptions() == []  # nothing touched the charge since the last match

    _, full = await prompt.run(books.pool, full=True)
    assert full.full and full.objects > quiet.objects
    [mismatch] = await books.open_exceptions()
    assert (mismatch["kind"], mismatch["object_id"]) == ("amount_mismatch", charge)

    _, again = await prompt.run(books.pool)  # an open exception is judged each round
    assert not again.full and [e["exception_id"] for e in await books.open_exceptions()] == [
        mismatch["exception_id"]
    ]
    await journal_on(books, charge, -500)  # corrected, unseen by the touched scan...
    await prompt.run(books.pool)
    assert await books.open_exceptions() == []  # ...but its open exception is judged: resolved


async def test_an_object_left_for_its_grace_is_judged_by_a_later_round(books: Books) -> None:
    """No late margin here: only the grace in the look-back brings the refund into the round
    that first sees it past its grace, though nothing touched it since it arrived."""
    patient = Reconciler(
        books.stripe,
        books.clock,
        cursor=books.reconciler.cursor,
        grace=timedelta(seconds=1),
        late=timedelta(0),
    )
    await patient.run(books.pool)
    books.stripe.put(books.bt(1, "refund", f"re_{books.tag}", -1_000))
    _, arrived = await patient.run(books.pool)
    assert not arrived.full and await books.open_exceptions() == []  # within its grace

    async def next_round() -> list[asyncpg.Record]:
        _, later = await patient.run(books.pool)
        assert not later.full
        return await books.open_exceptions()

    found = await eventually(next_round, timeout=15, what="the refund judged")
    assert [(e["kind"], e["object_id"]) for e in found] == [
        ("missing_in_ledger", f"re_{books.tag}")
    ]


def _pending(books: Books, n: int, created: datetime, available_on: datetime) -> BalanceTransaction:
    return BalanceTransaction(
        txn_id=f"txn_{books.tag}_{n}",
        type="charge",
        source=f"ch_{books.tag}_{n}",
        amount=1_000,
        fee=59,
        net=941,
        currency=books.currency,
        status="pending",
        created=created,
        available_on=available_on,
    )


async def test_the_import_rereads_only_the_pending_transactions_now_due(books: Books) -> None:
    """An ACH debit six days old and not available for two more days is not read again; a card
    charge five days old, available a minute ago, is (and its availability is booked)."""
    now = datetime.now(UTC)
    not_due = _pending(books, 1, now - timedelta(days=6), books.clock() + timedelta(days=2))
    due = _pending(books, 2, now - timedelta(days=5), books.clock() - timedelta(minutes=1))
    books.stripe.put(not_due, due)
    await books.reconciler.run(books.pool)  # the first import reads everything
    assert books.stripe.listed == 2

    await books.reconciler.run(books.pool)
    assert books.stripe.listed == 3  # the due one only

    books.stripe.put(BalanceTransaction(**{**due.__dict__, "status": "available"}))
    await books.reconciler.run(books.pool)
    assert (await books.balances())["asset:stripe_balance:available"] == 941
    assert books.stripe.listed == 4

    await books.reconciler.run(books.pool, full=True)  # from the oldest pending: both
    assert books.stripe.listed == 6


async def test_a_transaction_read_again_unchanged_is_neither_written_nor_locked(
    books: Books,
) -> None:
    """Every round re-lists the look-back's transactions: storing them again must not lock
    (and so dirty and log) their rows; the row's `xmax` would name the locking transaction."""
    txn = books.bt(1, "charge", f"ch_{books.tag}", 1_000, fee=59)
    books.stripe.put(txn)
    await books.reconciler.run(books.pool)
    row = "SELECT xmin::text || '/' || xmax::text FROM finance.stripe_balance_transactions "
    row += "WHERE txn_id = $1"
    stored = await books.pool.fetchval(row, txn.txn_id)
    await books.reconciler.run(books.pool)
    assert books.stripe.listed == 2  # read twice
    assert await books.pool.fetchval(row, txn.txn_id) == stored

    books.stripe.put(BalanceTransaction(**{**txn.__dict__, "status": "available"}))
    await books.reconciler.run(books.pool)
    assert await books.pool.fetchval(row, txn.txn_id) != stored  # a real change is written
    assert (await books.balances())["asset:stripe_balance:available"] == 941


async def test_a_transaction_listed_late_is_imported_if_within_the_look_back(
    books: Books, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stripe's list may show a transaction after one created later: the next round re-lists
    the look-back behind the newest `created` seen, and no further. The re-read of due pending
    transactions (the test above) is left out: other tests' pending rows would widen the span."""

    async def none_due(conn: asyncpg.Connection, now: datetime) -> None:
        return None

    monkeypatch.setattr(recon_db, "pending_due", none_due)
    short = Reconciler(
        books.stripe,
        books.clock,
        cursor=books.reconciler.cursor,
        lookback=timedelta(minutes=2),
    )
    books.stripe.put(books.bt(0, "charge", f"ch_{books.tag}_0", 1_000, status="available"))
    first, _ = await short.run(books.pool)
    assert first.changed == 1

    books.stripe.put(books.bt(1, "charge", f"ch_{books.tag}_1", 2_000, status="available"))
    books.stripe.put(books.bt(5, "charge", f"ch_{books.tag}_5", 4_000, status="available"))
    late, _ = await short.run(books.pool)
    assert (late.listed, late.changed) == (2, 1)  # the minute-old one; not the five-minute-old
    assert (await books.balances())["asset:stripe_balance:available"] == 3_000
