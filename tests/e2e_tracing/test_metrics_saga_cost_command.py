"""`python bench/metrics_saga_cost.py` (docs/benchmarks.md), run as users run it, shortest: one
round, a second of load at 2/s, each side on a system of its own. Figures are printed, never
asserted; what is asserted is that both sides drove their checkouts to the capture, and that
the "off" side exported no span (at the default ratio the "on" side's two checkouts may well
be unsampled)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.support.processes import ROOT

pytestmark = pytest.mark.e2e


def test_the_saga_cost_bench_compares_the_instrumentation_off_and_on(
    kafka_bootstrap: str, pg_ready: None
) -> None:
    command = ["bench/metrics_saga_cost.py", "--rate", "2", "--duration", "1", "--rounds", "1"]
    done = subprocess.run(
        [sys.executable, *command], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    sides = dict(
        re.findall(
            r"round 1 instrumentation (off|on ): 2 captured, CPU ms per checkout [\d.]+ .*?; "
            r".*?; [\d.]+ GET polls per checkout; (\d+) spans exported",
            done.stdout,
        )
    )
    assert sides.keys() == {"off", "on "}, done.stdout
    assert int(sides["off"]) == 0, done.stdout
    assert re.search(r"mean CPU ms per checkout: without [\d.]+, with [\d.]+", done.stdout)
