"""The books' commands as users type them (child processes), against the test database and
stripe-mock as Stripe. The test's data is in a currency of its own."""

from __future__ import annotations

import json
import random
import string
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from eventkit.db import create_pool
from finance.adapters import recon_repository as recon_db
from finance.domain.reconciliation import BalanceTransaction
from tests.conftest import service_dsn
from tests.contract.test_stripe_gateway_against_stripe_mock import (  # noqa: F401 (fixture)
    API_KEY,
    stripe_mock_base,
)
from tests.support.cli import no_traceback, run_async

pytestmark = [
    pytest.mark.stripe_mock,
    pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning"),
]


@pytest.fixture
async def pool(pg_ready: None) -> AsyncIterator[asyncpg.Pool]:
    found = await create_pool(service_dsn("finance"), min_size=1, max_size=2)
    assert found is not None
    yield found
    await found.close()


async def test_reconcile_resolve_and_close_a_day_from_the_command_line(
    pool: asyncpg.Pool,
    stripe_mock_base: str,  # noqa: F811
) -> None:
    env = {
        "FINANCE_DATABASE_URL": service_dsn("finance"),
        "FINANCE_STRIPE_API_BASE": stripe_mock_base,
        "FINANCE_STRIPE_API_KEY": API_KEY,
        "FINANCE_RECON_GRACE_SECONDS": "0",
    }
    currency = "".join(random.choices(string.ascii_lowercase, k=3))
    refund, charge = f"re_{uuid.uuid4().hex[:12]}", f"ch_{uuid.uuid4().hex[:12]}"
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    async with pool.acquire() as conn, conn.transaction():
        # imported earlier: a refund nobody asked for (made in Stripe's dashboard)
        await recon_db.upsert(
            conn,
            [
                BalanceTransaction(
                    f"txn_{refund}",
                    "refund",
                    refund,
                    -300,
                    0,
                    -300,
                    currency,
                    "available",
                    datetime.now(UTC),
                )
            ],
        )
        # a capture booked yesterday (with its business date, as the posting trigger keeps it)
        journal_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO finance.journals (journal_id, kind, source_event_id, currency, "
            "stripe_object_id, posted_on) VALUES ($1, 'guest_payment_captured', $1, $2, $3, $4)",
            journal_id,
            currency,
            charge,
            yesterday,
        )
        await conn.executemany(
            "INSERT INTO finance.postings (journal_id, account, amount, currency) "
            "VALUES ($1, $2, $3, $4)",
            [
                (journal_id, "asset:stripe_balance:pending", 1_000, currency),
                (journal_id, "revenue:platform_fees", -1_000, currency),
            ],
        )

    done = await run_async([sys.executable, "-m", "finance", "reconcile"], env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["import"]["listed"] >= 1  # stripe-mock's transaction
    full = await run_async([sys.executable, "-m", "finance", "reconcile", "--full"], env)
    assert full.returncode == 0, full.stderr
    assert json.loads(full.stdout)["match"]["full"] is True

    listed = await run_async(
        [sys.executable, "-m", "finance", "recon-exceptions", "--currency", currency], env
    )
    assert listed.returncode == 0, listed.stderr
    kinds = {e["object_id"]: e["kind"] for e in json.loads(listed.stdout)}
    assert kinds[refund] == "missing_in_ledger"
    [refund_exception] = [e for e in json.loads(listed.stdout) if e["object_id"] == refund]
    resolve = [
        sys.executable,
        "-m",
        "finance",
        "recon-resolve",
        str(refund_exception["exception_id"]),
        "--note",
        "dashboard refund, booked by hand",
        "--actor",
        "ops",
    ]
    assert (await run_async(resolve, env)).returncode == 0
    again = await run_async(resolve, env)
    assert again.returncode == 2 and no_traceback(again)
    assert again.stderr.startswith("refused (exception_not_open): ")
    assert "is already resolved" in again.stderr
    resolve[4] = "999999999"
    unknown = await run_async(resolve, env)
    assert unknown.returncode == 2 and no_traceback(unknown)
    assert unknown.stderr.startswith("refused (exception_not_found): ")

    close = [
        sys.executable,
        "-m",
        "finance",
        "close-day",
        "--date",
        yesterday.isoformat(),
        "--currency",
        currency,
    ]
    failed = await run_async(close, env)
    assert failed.returncode == 3, failed.stderr
    # A command line says what it did, not a log line per Stripe page (those need
    # FINANCE_LOG_LEVEL=INFO).
    assert "INFO" not in failed.stderr, failed.stderr
    talkative = await run_async(close, {**env, "FINANCE_LOG_LEVEL": "INFO"})
    assert talkative.returncode == 3 and "INFO" in talkative.stderr
    [attempt] = json.loads(failed.stdout)
    assert attempt["status"] == "failed"
    for blocker in attempt["blockers"]:
        ack = await run_async(
            [
                sys.executable,
                "-m",
                "finance",
                "close-ack",
                "--date",
                yesterday.isoformat(),
                "--currency",
                currency,
                "--item",
                blocker["item"],
                "--amount",
                str(blocker["amount"]),
                "--note",
                "known: test data",
                "--actor",
                "ops",
            ],
            env,
        )
        assert ack.returncode == 0, ack.stderr
    closed = await run_async(close, env)
    assert closed.returncode == 0, closed.stdout + closed.stderr
    assert json.loads(closed.stdout)[0]["status"] == "closed"

    report = await run_async(
        [
            sys.executable,
            "-m",
            "finance",
            "close-report",
            "--date",
            yesterday.isoformat(),
            "--currency",
            currency,
            "--format",
            "csv",
        ],
        env,
    )
    assert report.returncode == 0, report.stderr
    assert report.stdout.splitlines()[0] == "section,name,debits,credits,amount,detail"
    assert "balances,asset:stripe_balance:pending,,,1000" in report.stdout
    as_json = await run_async(
        [
            sys.executable,
            "-m",
            "finance",
            "close-report",
            "--date",
            yesterday.isoformat(),
            "--currency",
            currency,
        ],
        env,
    )
    assert json.loads(as_json.stdout)["status"] == "closed"
