"""`python bench/consumer_bench.py --traced SAMPLED` (docs/benchmarks.md, docs/observability-traces.md)
run as users run it, small, against the test database and Kafka: the figures are printed, never
asserted; what is checked is that the traced run handles every event and exports the spans of
the sampled fraction only."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import KAFKA, service_dsn
from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.integration


def test_the_traced_consumer_bench_exports_spans_of_the_sampled_traces_only(
    kafka_bootstrap: str, pg_ready: None
) -> None:
    env = {**os.environ, "KAFKA_BOOTSTRAP": KAFKA, "BENCH_DATABASE_URL": service_dsn("booking")}
    done = subprocess.run(
        [sys.executable, "bench/consumer_bench.py", "-n", "400", "--keys", "40", "--traced", "0.5"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "400 events handled" in done.stdout, done.stdout
    found = re.search(r"traced \(50% sampled\): (\d+) spans exported", done.stdout)
    assert found, done.stdout
    # About half of 400 traces were sampled where they began: those handlings alone are spans.
    assert 100 < int(found.group(1)) < 300, found.group(0)
