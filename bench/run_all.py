"""Run every benchmark in sequence and print a summary table (`make bench`).

    python bench/run_all.py [-n 20000] [--rate 10] [--duration 30] [--only relay consumer saga]

Addresses come from the environment: KAFKA_BOOTSTRAP (default 127.0.0.1:9092),
BENCH_DATABASE_URL (default postgresql://booking_svc:booking_svc@127.0.0.1:5432/marketplace),
GATEWAY_URL (default http://127.0.0.1:8000). The figures are printed, never asserted: the exit
status is 1 only when a benchmark could not run or its output failed verification.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable

import consumer_bench
import relay_bench
import saga_latency
from _common import (
    BenchResult,
    Unavailable,
    database_url,
    gateway_url,
    kafka_bootstrap,
    redact,
    say,
)

BENCHES = ("relay", "consumer", "saga")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=20_000, help="events for relay and consumer benches")
    p.add_argument("--rate", type=float, default=10.0, help="saga: checkouts per second")
    p.add_argument("--duration", type=float, default=30.0, help="saga: seconds of load")
    p.add_argument("--only", nargs="+", choices=BENCHES, default=list(BENCHES))
    p.add_argument("--profile", action="store_true", help="profile the relay and consumer runs")
    return p


def _guarded(name: str, runner: Callable[[], BenchResult]) -> BenchResult:
    try:
        return runner()
    except Unavailable as exc:
        say(f"ERROR: {exc}")
        return BenchResult(name=name, status="failed", message=str(exc))
    except Exception as exc:  # one broken bench must not hide the others' figures
        say(f"ERROR: {name} bench crashed: {exc!r}")
        return BenchResult(name=name, status="failed", message=f"crashed: {exc!r}")


def print_summary(results: list[BenchResult], elapsed: float) -> None:
    rows = [("bench", "figure", "target", "verdict", "notes")]
    for r in results:
        figure = f"{r.figure:,.0f} {r.unit}" if r.figure is not None else "-"
        rows.append((r.name, figure, r.target or "-", r.verdict(), r.message))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    say("")
    say(f"===== benchmark summary ({elapsed:.0f}s, load average {os.getloadavg()[0]:.1f}) =====")
    for i, row in enumerate(rows):
        say(
            "  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True))
            + "  "
            + row[4]
        )
        if i == 0:
            say("  ".join("-" * w for w in widths) + "  " + "-" * 5)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    say(
        f"benchmarks: {', '.join(args.only)}; kafka={kafka_bootstrap()} "
        f"db={redact(database_url())} gateway={gateway_url()} ({os.cpu_count()} cpus)"
    )
    profile = ["--profile"] if args.profile else []
    n = ["-n", str(args.n)]
    plan: dict[str, Callable[[], BenchResult]] = {
        "relay": lambda: relay_bench.run(relay_bench.parser().parse_args(n + profile)),
        "consumer": lambda: consumer_bench.run(consumer_bench.parser().parse_args(n + profile)),
        "saga": lambda: saga_latency.run(
            saga_latency.parser().parse_args(
                ["--rate", str(args.rate), "--duration", str(args.duration)]
            )
        ),
    }
    started = time.perf_counter()
    results = []
    for i, name in enumerate(b for b in BENCHES if b in args.only):
        say(f"\n[{i + 1}/{len(args.only)}] {name}")
        result = _guarded(name, plan[name])
        say(f"==> {name}: {result.verdict()} {result.message}".rstrip())
        results.append(result)
    print_summary(results, time.perf_counter() - started)
    return 1 if any(r.status == "failed" for r in results) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        say("interrupted")
        sys.exit(130)
