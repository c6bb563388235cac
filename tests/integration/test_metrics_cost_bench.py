"""`python bench/metrics_cost.py` (docs/benchmarks.md) runs as a user types it: both sides of
the switch, with figures printed (never asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import service_dsn

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_the_cost_bench_runs_consumer_bench_with_and_without_metrics(
    kafka_bootstrap: str, pg_ready: None
) -> None:
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP": kafka_bootstrap,
        "BENCH_DATABASE_URL": service_dsn("booking"),
    }
    done = subprocess.run(
        [sys.executable, "bench/metrics_cost.py", "--rounds", "1", "-n", "300"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "round 1 metrics off:" in done.stdout and "round 1 metrics on :" in done.stdout
    assert "median CPU per event without" in done.stdout
