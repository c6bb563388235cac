"""The test process' heap, settled once the tests are collected, as a service's is once it
has started (eventkit.heap): the modules and fixtures imported are frozen out of the cyclic
collector's walks and young collections run every 50,000 allocations. The collector was about
a tenth of the suite's CPU (tests/unit: 20.7 and 19.2 s of user CPU against 17.9 and 17.7).
Under pytest-xdist (`make test`), each worker's test database and Kafka, and how the tests are
shared out between the workers."""

from __future__ import annotations

import os

import pytest

from eventkit import heap


def pytest_collection_finish(session: pytest.Session) -> None:
    heap.settle(50_000)


def _own_test_environment() -> None:
    """Under pytest-xdist each worker has a test database and a test Kafka of its own
    (deploy/local/test-env.sh lists them, worker 0's first): the worker takes its own before
    any test module reads MP_TEST_DB and KAFKA_BOOTSTRAP."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    dbs = [d for d in os.environ.get("MP_TEST_DBS", "").split(",") if d]
    brokers = [b for b in os.environ.get("KAFKA_BOOTSTRAPS", "").split(",") if b]
    if not worker.startswith("gw") or not dbs:
        return
    index = int(worker[2:])
    if index >= min(len(dbs), len(brokers)):
        raise pytest.UsageError(
            f"pytest-xdist worker {worker} has no test database and Kafka of its own "
            f"({len(dbs)} made): run as many workers as `make test` made (TEST_WORKERS)"
        )
    os.environ["MP_TEST_DB"], os.environ["KAFKA_BOOTSTRAP"] = dbs[index], brokers[index]


_own_test_environment()


# How the tests are shared out between the workers: the tests of a package whose fixtures
# start a system (tests/e2e*: its processes stop before another package's tests use the same
# database and Kafka) go to one worker together, those of a module together, and the rest
# (tests that need no Postgres, Kafka or processes) one by one. Workers without a test database
# and Kafka each (pytest run by hand, not by `make test`) keep every test that uses them in one.
_PER_TEST = ("tests/unit/", "services/", "libs/", "tools/")


def _scope(nodeid: str, own_environments: bool = True) -> str:
    if nodeid.startswith(_PER_TEST):
        return nodeid
    if not own_environments:
        return "infrastructure"
    module = nodeid.split("::", 1)[0]
    parts = module.split("/")
    if len(parts) > 2 and parts[0] == "tests" and parts[1].startswith("e2e"):
        return "/".join(parts[:2])
    return module


def _environments() -> int:
    return len([d for d in os.environ.get("MP_TEST_DBS", "").split(",") if d])


@pytest.hookimpl(optionalhook=True)  # an xdist hook: without xdist, nothing asks for it
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    # xdist's own `loadgroup` marks a group in the test's id, which pytest 9.2 no longer lets
    # a plugin change; a scheduler decides from the id itself.
    from xdist.scheduler import LoadScopeScheduling

    class BySystem(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _scope(nodeid, _environments() >= self.numnodes)

    return BySystem(config, log)
