"""The whole system on a broker of its own, so the tests here can kill -9 it.

A package apart from tests/e2e: that package's system (on the shared test broker) is stopped
before this one starts, so the two never share the test database's outboxes.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import ROOT, SERVICES, System, build_system, running
from tests.support.pg_socket import SocketLink, socket_directory
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
def pg_socket(pg_ready: None, tmp_path_factory: pytest.TempPathFactory) -> SocketLink:
    """The services reach Postgres over its Unix socket, as under `make up`, through a link
    the tests can cut."""
    return SocketLink(socket_directory(), tmp_path_factory.mktemp("pg-socket"))


@pytest.fixture(scope="package")
def outage_system(
    private_kafka: PrivateKafka, pg_socket: SocketLink, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    logs = tmp_path_factory.mktemp("e2e-outage-logs")
    system = build_system(private_kafka.bootstrap, logs)
    for service in SERVICES:
        system.env[f"{service.upper()}_DATABASE_URL"] = pg_socket.url(service)
    with running(system) as started:
        yield started
