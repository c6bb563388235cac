"""A broker of a test's own (deploy/local/kafka.sh with a private name and free ports), so a
test can kill -9 it without disturbing the suite's shared test Kafka."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import uuid
from pathlib import Path

from tests.support import free_port
from tests.support.poll import wait_until

ROOT = Path(__file__).resolve().parents[2]
KAFKA_SH = ROOT / "deploy" / "local" / "kafka.sh"


class PrivateKafka:
    def __init__(self, prefix: str = "ek-private") -> None:
        self.name = f"{prefix}-{uuid.uuid4().hex[:6]}"
        self.port, self.ctrl = free_port(), free_port()
        self.dir = ROOT / ".run" / self.name
        self.bootstrap = f"127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start (or restart, keeping its data) and wait until the broker is ready."""
        done = subprocess.run(
            ["bash", str(KAFKA_SH), "start", self.name, str(self.port), str(self.ctrl)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"{self.name} did not start: {done.stdout}{done.stderr}"

    def kill9(self) -> None:
        """SIGKILL, as a crash or an OOM kill would stop it: no clean shutdown."""
        pid = int((self.dir / "kafka.pid").read_text().strip())
        os.kill(pid, signal.SIGKILL)
        # Gone, not only deaf: kafka.sh refuses to start while the old pid (even a zombie not
        # yet reaped) exists.
        wait_until(
            lambda: _listening(self.port) or Path(f"/proc/{pid}").exists(),
            lambda there: not there,
            timeout=30,
            interval=0.1,
            what="the killed broker gone",
        )

    def remove(self) -> None:
        subprocess.run(["bash", str(KAFKA_SH), "stop", self.name], capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False
