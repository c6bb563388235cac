"""The whole system on a broker of its own, so the tests here can kill -9 it.

A package apart from tests/e2e: that package's system (on the shared test broker) is stopped
before this one starts, so the two never share the test database's outboxes.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import ROOT, System, build_system, running
from tests.support.private_kafka import PrivateKafka


@pytest.fixture(scope="package")
def private_kafka(pg_ready: None) -> Iterator[PrivateKafka]:
    kafka = PrivateKafka("ek-e2e")
    try:
        kafka.start()
        subprocess.run(
            ["bash", str(ROOT / "deploy/local/topics.sh"), kafka.bootstrap],
            check=True,
            capture_output=True,
            timeout=120,
        )
        yield kafka
    finally:
        kafka.remove()


@pytest.fixture(scope="package")
def outage_system(
    private_kafka: PrivateKafka, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    logs = tmp_path_factory.mktemp("e2e-outage-logs")
    with running(build_system(private_kafka.bootstrap, logs)) as system:
        yield system
