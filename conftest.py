"""The test process' heap, settled once the tests are collected, as a service's is once it
has started (eventkit.heap): the modules and fixtures imported are frozen out of the cyclic
collector's walks and young collections run every 50,000 allocations. The collector was about
a tenth of the suite's CPU (tests/unit: 20.7 and 19.2 s of user CPU against 17.9 and 17.7)."""

from __future__ import annotations

import pytest

from eventkit import heap


def pytest_collection_finish(session: pytest.Session) -> None:
    heap.settle(50_000)


# The tests that need no Postgres, Kafka or service processes: `make test` runs them in a
# second pytest-xdist worker beside the others, which keep one worker and their order.
_FREE = ("tests/unit/", "services/", "libs/", "tools/")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = config.rootpath
    for item in items:
        where = item.path.relative_to(root).as_posix() if item.path.is_relative_to(root) else ""
        if not where.startswith(_FREE):
            item.add_marker(pytest.mark.xdist_group("infrastructure"))
