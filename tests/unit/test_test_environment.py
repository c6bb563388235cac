"""`make test`'s environment: a test database and a test Kafka for each pytest-xdist worker
(deploy/local/test-env.sh), each worker taking its own (the root conftest.py), and the tests
shared out so that those of one module, or of one package whose fixtures start a system, run
in one worker."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import conftest as root

ROOT = Path(__file__).resolve().parents[2]


def _env(*args: str) -> dict[str, str]:
    done = subprocess.run(
        ["bash", "deploy/local/test-env.sh", "env", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return dict(pair.split("=", 1) for pair in done.stdout.split())


def test_each_worker_has_a_database_and_a_broker_of_its_own() -> None:
    env = _env("3", "marketplace_test", "19092", "19093")
    assert env["MP_TEST_DBS"].split(",") == [
        "marketplace_test",
        "marketplace_w1_test",  # still *_test: `db.sh --fresh` drops only those
        "marketplace_w2_test",
    ]
    assert env["KAFKA_BOOTSTRAPS"].split(",") == [
        "127.0.0.1:19092",
        "127.0.0.1:19094",
        "127.0.0.1:19096",
    ]
    # One process (TEST_WORKERS=1) runs on the first worker's.
    assert (env["MP_TEST_DB"], env["KAFKA_BOOTSTRAP"]) == ("marketplace_test", "127.0.0.1:19092")
    assert _env("2", "mine", "29092", "29093")["MP_TEST_DBS"] == "mine,mine_w1"


def test_a_bad_call_is_refused_with_its_usage() -> None:
    done = subprocess.run(
        ["bash", "deploy/local/test-env.sh", "env", "two", "marketplace_test", "1", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode != 0 and "usage:" in done.stderr


def test_a_worker_takes_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MP_TEST_DBS", "db_a,db_b")
    monkeypatch.setenv("KAFKA_BOOTSTRAPS", "127.0.0.1:1,127.0.0.1:3")
    monkeypatch.setenv("MP_TEST_DB", "db_a")
    monkeypatch.setenv("KAFKA_BOOTSTRAP", "127.0.0.1:1")
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    root._own_test_environment()
    assert (os.environ["MP_TEST_DB"], os.environ["KAFKA_BOOTSTRAP"]) == ("db_b", "127.0.0.1:3")
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw2")
    with pytest.raises(pytest.UsageError, match="gw2 has no test database"):
        root._own_test_environment()


def test_the_tests_of_a_system_or_a_module_go_to_one_worker() -> None:
    e2e = "tests/e2e_finance/test_day_of_business.py::test_a_day_of_mixed_business"
    assert root._scope(e2e) == "tests/e2e_finance"
    assert root._scope("tests/e2e/test_restarts.py::test_x[a]") == "tests/e2e"
    assert root._scope("tests/integration/test_books_cli.py::test_y") == (
        "tests/integration/test_books_cli.py"
    )
    unit = "tests/unit/test_money.py::test_z"
    assert root._scope(unit) == unit
    assert root._scope("services/booking/tests/test_pages.py::test_p") == (
        "services/booking/tests/test_pages.py::test_p"
    )
    # pytest -n 2 by hand, on one test database and Kafka: those tests keep one worker.
    assert root._scope(e2e, own_environments=False) == "infrastructure"
    assert root._scope(unit, own_environments=False) == unit
