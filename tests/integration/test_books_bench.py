"""The books benchmarks run as users type them (small sizes, the test database): they print
their figures and exit 0 when their output verifies. Figures are never asserted."""

from __future__ import annotations

import sys

from tests.conftest import service_dsn
from tests.support.cli import no_traceback, run_async


async def test_the_reconciliation_bench_imports_matches_and_cleans_up(pg_ready: None) -> None:
    env = {"BENCH_FINANCE_DATABASE_URL": service_dsn("finance")}
    done = await run_async([sys.executable, "bench/recon_bench.py", "-n", "300"], env)
    assert done.returncode == 0 and no_traceback(done), done.stdout + done.stderr
    assert "balance transactions imported and matched in" in done.stdout
    assert "next round, nothing new:" in done.stdout and "full round:" in done.stdout
    assert "exceptions of the run's currency: {'missing_in_ledger': 10}" in done.stdout


async def test_the_close_bench_closes_every_day(pg_ready: None) -> None:
    env = {"BENCH_FINANCE_DATABASE_URL": service_dsn("finance")}
    args = ["--postings", "4000", "--days", "2"]
    done = await run_async([sys.executable, "bench/close_bench.py", *args], env)
    assert done.returncode == 0 and no_traceback(done), done.stdout + done.stderr
    assert "daily close over 4,000 postings" in done.stdout
