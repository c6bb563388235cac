"""`python -m <service> serve` binds its HTTP port before anything else starts: given a port
another process holds (a second instance started by mistake with the first one's
environment), it exits at once with the reason, before its consumers join a group in which,
as static members under the same instance id, they would fence the first instance's."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest
from uvicorn.server import STARTUP_FAILURE

from tests.conftest import service_dsn
from tests.support import processes

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("service", ["ops", "payments"])
def test_a_service_on_a_taken_port_exits_before_it_starts_anything(
    service: str, tmp_path: Path
) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        prefix = service.upper()
        env = {
            **os.environ,
            "PYTHONPATH": str(processes.ROOT),
            "KAFKA_BOOTSTRAP": "127.0.0.1:1",  # never reached: nothing starts
            f"{prefix}_DATABASE_URL": service_dsn(service),
            f"{prefix}_HTTP_PORT": str(port),
            f"{prefix}_CONSUMER_INSTANCE_ID": "local",
        }
        log = tmp_path / f"{service}.log"
        proc = processes.start(["-m", service, "serve"], env, log)
        try:
            status = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            processes.stop(proc)
            raise
    output = log.read_text()
    assert status == STARTUP_FAILURE, output[-2000:]  # uvicorn's: the start failed
    assert "address already in use" in output.lower(), output[-2000:]
    assert "started: consumes" not in output, output[-2000:]  # no consumer ever ran
