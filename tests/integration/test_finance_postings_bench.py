"""The postings benchmark runs (as the docs show it) and prints its figures; no timing is
asserted (docs/benchmarks.md has the measured figures)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.finance_queue import finance_env

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_the_postings_bench_prints_journals_and_captures_per_second(pg_ready: None) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "finance_postings.py"), "--journals", "200"],
        env=finance_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("ledger:  200 journals,") and "journals/s" in line for line in lines)
    assert any(line.startswith("capture: 50 captures") for line in lines)
    assert all("load average" in line for line in lines)
