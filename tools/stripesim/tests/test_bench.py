"""The simulator bench of docs/benchmarks.md runs as documented (small sizes): it prints
every figure. Nothing about the figures themselves is asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_stripesim_bench_prints_its_figures() -> None:
    command = [sys.executable, "bench/stripesim_bench.py", "--intents", "300"]
    command += ["--requests", "50", "--flows", "5", "--rate", "40", "--duration", "1"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for figure in (
        "history: 300 PaymentIntents",
        "ms CPU per request",
        "ms CPU per payment",
        "% of a core",
        "webhooks: 40 events",
        "receiver got",
        "load average:",
    ):
        assert figure in done.stdout, (figure, done.stdout)


def test_stripesim_memory_bench_prints_its_figures() -> None:
    command = [sys.executable, "bench/stripesim_memory_bench.py", "--intents", "40"]
    command += ["--objects", "40", "--keys", "20", "--events", "20", "--snapshot-seconds", "0.2"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    for figure in (
        "unbounded: 40 payments",
        "bounded: 40 payments",
        "40 objects and 20 idempotency records in memory",  # the bounded run, bounded
        "ms CPU per payment",
        "bounded: restarted on",
        "load average:",
    ):
        assert figure in done.stdout, (figure, done.stdout)
