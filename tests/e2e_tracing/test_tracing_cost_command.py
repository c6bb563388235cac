"""`python bench/tracing_cost.py` (docs/benchmarks.md), run as users run it, shortest: one mode, a
second of load. Its own package: it starts a system of its own, which must not share the Kafka
consumer groups with another package's running system. Figures are printed, never asserted."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e


def test_the_tracing_cost_bench_drives_checkouts_to_the_capture_and_prints_cpu_per_checkout(
    kafka_bootstrap: str, pg_ready: None
) -> None:
    command = ["bench/tracing_cost.py", "--modes", "none", "--rate", "2", "--duration", "1"]
    done = subprocess.run(
        [sys.executable, *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    line = re.search(r"none: (\d+) captured; services' CPU per checkout [\d.]+ ms", done.stdout)
    assert line and int(line.group(1)) == 2, done.stdout
    assert "0 spans received" in done.stdout  # no exporter: nothing leaves the services
