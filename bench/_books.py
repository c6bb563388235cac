"""Plumbing of the finance books benchmarks: the finance database, a currency of the run's own,
COPY seeding, clean-up, and the figures line with the load average.

The books benchmarks write into the finance schema: by default the TEST database
(`marketplace_test`), never the running system's, and they delete their rows at the end
(`--keep` leaves them). Every row they write is in the run's own currency, so the figures of
one run are not mixed with anything else in the database.
"""

from __future__ import annotations

import os
import random
import string
import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg

DEFAULT_FINANCE_URL = "postgresql://finance_svc:finance_svc@127.0.0.1:5432/marketplace_test"


def finance_url() -> str:
    return os.environ.get("BENCH_FINANCE_DATABASE_URL", DEFAULT_FINANCE_URL)


def run_currency() -> str:
    """Three letters no real currency code starts with (ISO 4217 has no `q…`)."""
    return "q" + "".join(random.choices(string.ascii_lowercase, k=2))


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} CPUs"


async def copy_journals(
    conn: asyncpg.Connection,
    journals: Sequence[tuple[uuid.UUID, str, uuid.UUID, str, str | None, Any]],
    postings: Sequence[tuple[uuid.UUID, str, int, str]],
) -> None:
    """COPY journals (id, kind, source, currency, stripe object, posted_on or None) and their
    postings in one transaction (the balance check is deferred to its commit)."""
    async with conn.transaction():
        await conn.copy_records_to_table(
            "journals",
            schema_name="finance",
            records=journals,
            columns=(
                "journal_id",
                "kind",
                "source_event_id",
                "currency",
                "stripe_object_id",
                "posted_on",
            ),
        )
        await conn.copy_records_to_table(
            "postings",
            schema_name="finance",
            records=postings,
            columns=("journal_id", "account", "amount", "currency"),
        )


async def clean_up(conn: asyncpg.Connection, currency: str, cursor: str | None = None) -> None:
    """Delete the run's rows. Ledger rows are append-only, so the guard is lifted for this one
    transaction (the bench's role owns the tables)."""
    async with conn.transaction():
        await conn.execute("ALTER TABLE finance.journals DISABLE TRIGGER journals_append_only")
        await conn.execute("ALTER TABLE finance.postings DISABLE TRIGGER postings_append_only")
        await conn.execute("DELETE FROM finance.postings WHERE currency = $1", currency)
        await conn.execute("DELETE FROM finance.journals WHERE currency = $1", currency)
        await conn.execute("ALTER TABLE finance.journals ENABLE TRIGGER journals_append_only")
        await conn.execute("ALTER TABLE finance.postings ENABLE TRIGGER postings_append_only")
        for table in ("stripe_balance_transactions", "stripe_objects", "recon_exceptions"):
            await conn.execute(f"DELETE FROM finance.{table} WHERE currency = $1", currency)
        for table in ("day_closes", "close_acknowledgements"):
            await conn.execute(f"DELETE FROM finance.{table} WHERE currency = $1", currency)
        await conn.execute("DELETE FROM finance.outbox WHERE key LIKE $1", f"%:{currency}")
        if cursor:
            await conn.execute("DELETE FROM finance.recon_cursors WHERE name = $1", cursor)
