"""The balance-transaction bench of docs/benchmarks.md runs as documented (small size): it
prints every figure. Nothing about the figures themselves is asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_stripesim_balance_bench_prints_its_figures() -> None:
    command = [sys.executable, "bench/stripesim_balance_bench.py", "--transactions", "450"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for figure in (
        "history: 450 balance transactions",
        "raw, all: 450 rows in 5 pages",
        "raw, created[gte] half: 225 rows",
        "stripe SDK objects, all: 450 rows",
        "stripe SDK raw_request, all: 450 rows",
        "ms per page",
        "load average:",
    ):
        assert figure in done.stdout, (figure, done.stdout)
