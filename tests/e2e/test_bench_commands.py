"""The benchmark commands of docs/benchmarks.md, run as users type them, against the e2e system.

Short runs: what is checked is that each command drives real checkouts to the capture and
prints its figures, not the figures themselves (benchmarks assert nothing about timing).
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.e2e.conftest import ROOT, System

pytestmark = pytest.mark.e2e


def _bench(system: System, *args: str) -> str:
    env = {**system.env, "GATEWAY_URL": system.urls["booking"]}
    done = subprocess.run(
        [sys.executable, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_the_rate_sweep_books_its_own_instant_listings_to_the_capture(system: System) -> None:
    out = _bench(
        system,
        *("bench/saga_sweep.py", "--history", "10", "--rates", "3", "2", "--duration", "2"),
        "--keep-going",
    )
    assert "history: 10/10 in" in out and "{'accepted': 10}" in out, out
    assert "raw limit: gateway GET /healthz" in out
    assert "3/s: 6/6 captured, 0 refused (503), 0 failed" in out, out
    assert "2/s: 4/4 captured, 0 refused (503), 0 failed" in out, out
    assert "CPU ms per captured checkout: total" in out, out
    assert re.search(r"machine busy \d+% of \d+ cores \(stolen by the hypervisor \d+%\)", out), out
    # The back office's lag, read from its consumer groups, after each rate (then caught up).
    caught_up = r"back office behind at the last capture: finance \d+, disputes \d+, ops \d+ "
    assert len(re.findall(caught_up + r"events; caught up \d+\.\d s later", out)) == 2, out
    assert "highest sustained rate" in out, out  # which one depends on timing: not asserted


def test_the_saga_bench_captures_every_checkout(system: System) -> None:
    out = _bench(system, "bench/saga_latency.py", "--rate", "3", "--duration", "2")
    assert "instant listings of the bench's own" in out
    assert "checkouts: 6, captured: 6, failures: 0" in out, out
