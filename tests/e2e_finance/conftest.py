"""The whole system, fresh, for issue 11's outside check: a private broker, a database created
and migrated for this package only (so the books hold nothing but this scenario's money), its
own simulator, and finance following the simulator's clock.

A package apart: its finance must see only its own Stripe account and its own journals, or
Stripe's balance could never equal the ledger's.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_DB, service_dsn
from tests.e2e.conftest import ROOT, SERVICES, System, build_system, running
from tests.support.private_kafka import PrivateKafka

# db.sh --fresh drops only databases named *_test.
FRESH_DB = f"{TEST_DB}_fin_test"

FINANCE_TIMINGS = {
    # the scheduler claims due payouts often; the clock it judges them by is re-read often
    "FINANCE_SCHEDULER_POLL_SECONDS": "0.2",
    "FINANCE_CLOCK_REFRESH_SECONDS": "0.2",
    # reconciliation judges an object 3 s after it arrived (payments' fact and Stripe's
    # transaction arrive seconds apart), and imports often
    "FINANCE_RECON_GRACE_SECONDS": "3",
    "FINANCE_RECON_POLL_SECONDS": "0.5",
    "FINANCE_RECON_IMPORT_SECONDS": "2",
    # the test closes by hand, as finance staff would (`close-day`)
    "FINANCE_CLOSE_CHECK_SECONDS": "0",
    # a failed transfer's retry within the test's time
    "FINANCE_PAYOUT_RETRY_SECONDS": "1",
}


def _run(*args: str) -> None:
    done = subprocess.run(["bash", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}{done.stderr[-2000:]}"


@contextlib.contextmanager
def fresh_system(
    prefix: str, database: str, logs: Path, timings: dict[str, str]
) -> Iterator[System]:
    """The system on a private broker and a database created and migrated for it alone, its
    finance and disputes following the simulator's clock."""
    _run(str(ROOT / "deploy/local/db.sh"), "--fresh", database)
    _run(str(ROOT / "deploy/local/migrate.sh"), database)
    kafka = PrivateKafka(prefix)
    try:
        kafka.start()
        _run(str(ROOT / "deploy/local/topics.sh"), kafka.bootstrap)
        system = build_system(kafka.bootstrap, logs)
        for name in SERVICES:
            system.env[f"{name.upper()}_DATABASE_URL"] = service_dsn(name, database)
        system.env.update(timings)
        system.env["FINANCE_CLOCK_URL"] = f"{system.urls['stripe']}/_sim/clock"
        system.env["DISPUTES_CLOCK_URL"] = f"{system.urls['stripe']}/_sim/clock"
        # The catalog's listings of this package go to its own broker.
        system.env["KAFKA_BOOTSTRAP"] = kafka.bootstrap
        with running(system) as started:
            yield started
    finally:
        kafka.remove()


@pytest.fixture(scope="package")
def books_system(pg_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    logs = tmp_path_factory.mktemp("e2e-fin-logs")
    with fresh_system("ek-e2e-fin", FRESH_DB, logs, FINANCE_TIMINGS) as system:
        yield system
