"""The whole system, fresh, for issue 12's outside check: a private broker, a database created
and migrated for this package only (so the books hold nothing but this scenario's money), its
own simulator, and finance and disputes following the simulator's clock (a dispute's deadline
is days away: the test moves time rather than waiting)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import TEST_DB, service_dsn
from tests.e2e.conftest import ROOT, SERVICES, System, build_system, running
from tests.e2e_finance.conftest import FINANCE_TIMINGS, _run
from tests.support.private_kafka import PrivateKafka

# db.sh --fresh drops only databases named *_test.
FRESH_DB = f"{TEST_DB}_dsp_test"

DISPUTES_TIMINGS = {
    "DISPUTES_SCHEDULER_POLL_SECONDS": "0.2",
    "DISPUTES_CLOCK_REFRESH_SECONDS": "0.2",
}


@pytest.fixture(scope="package")
def dispute_db(pg_ready: None) -> str:
    _run(str(ROOT / "deploy/local/db.sh"), "--fresh", FRESH_DB)
    _run(str(ROOT / "deploy/local/migrate.sh"), FRESH_DB)
    return FRESH_DB


@pytest.fixture(scope="package")
def dispute_kafka(pg_ready: None) -> Iterator[PrivateKafka]:
    kafka = PrivateKafka("ek-e2e-dsp")
    try:
        kafka.start()
        _run(str(ROOT / "deploy/local/topics.sh"), kafka.bootstrap)
        yield kafka
    finally:
        kafka.remove()


@pytest.fixture(scope="package")
def dispute_system(
    dispute_kafka: PrivateKafka, dispute_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    system = build_system(dispute_kafka.bootstrap, tmp_path_factory.mktemp("e2e-dsp-logs"))
    for name in SERVICES:
        system.env[f"{name.upper()}_DATABASE_URL"] = service_dsn(name, dispute_db)
    system.env.update(FINANCE_TIMINGS)
    system.env.update(DISPUTES_TIMINGS)
    clock = f"{system.urls['stripe']}/_sim/clock"
    system.env["FINANCE_CLOCK_URL"] = clock
    system.env["DISPUTES_CLOCK_URL"] = clock
    system.env["KAFKA_BOOTSTRAP"] = dispute_kafka.bootstrap
    with running(system) as started:
        yield started
