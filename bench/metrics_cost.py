"""What the instrumentation costs the consumer: `consumer_bench.py` with and without it,
alternating.

    python bench/metrics_cost.py [--rounds 3] [-n 20000] [--traced SAMPLED | --untraced]

Runs `bench/consumer_bench.py` as a child process `2 × rounds` times, in ABBA order so both
sides see the same machine load as far as a shared machine allows: "off" with
`METRICS_ENABLED=0` and tracing not set up; "on" with metrics and tracing as a service that
exports does by default (`--traced`: SAMPLED of the records' traces sampled where they began,
default `eventkit.tracing.DEFAULT_SAMPLE_RATIO`; spans encoded as OTLP and dropped), or with
metrics alone (`--untraced`). Prints each run, the medians and the overhead, with the load
average. Besides events/s it reports the bench process's CPU time per event (user + system,
from the child's rusage): on a shared machine throughput swings with the neighbours' load,
while the CPU the process itself spends is what instrumentation adds to. Addresses as
consumer_bench.py (KAFKA_BOOTSTRAP, BENCH_DATABASE_URL). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
from pathlib import Path

from eventkit.tracing import DEFAULT_SAMPLE_RATIO

HERE = Path(__file__).resolve().parent
_RATE = re.compile(r"consumer: \d+ events handled in [\d.]+s = ([\d,]+) events/s")
# The bench's own figure: CPU of the consumption alone (not the start, the produce, the exit).
_CONSUMING_CPU = re.compile(r"(\d+) us CPU/event")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(n: int, enabled: bool, traced: float | None) -> tuple[float, float, float]:
    """(events/s, CPU µs per event of the whole process, of the consumption alone) of one
    consumer_bench.py run."""
    env = {**os.environ, "METRICS_ENABLED": "1" if enabled else "0"}
    tracing = ["--traced", str(traced)] if enabled and traced is not None else []
    cpu = _children_cpu()
    done = subprocess.run(
        [sys.executable, str(HERE / "consumer_bench.py"), "-n", str(n), *tracing],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    found, consuming = _RATE.search(done.stdout), _CONSUMING_CPU.search(done.stdout)
    if done.returncode != 0 or found is None or consuming is None:
        sys.exit(f"consumer_bench.py failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    rate = float(found.group(1).replace(",", ""))
    return rate, (_children_cpu() - cpu) / n * 1e6, float(consuming.group(1))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("-n", type=int, default=20_000)
    p.add_argument(
        "--traced",
        type=float,
        default=DEFAULT_SAMPLE_RATIO,
        metavar="SAMPLED",
        help=f"the 'on' side's share of sampled traces (default {DEFAULT_SAMPLE_RATIO})",
    )
    p.add_argument("--untraced", action="store_true", help="the 'on' side: metrics alone")
    args = p.parse_args()
    traced = None if args.untraced else args.traced
    print(
        "on = metrics"
        + (f" + tracing, {traced:.0%} of traces sampled" if traced is not None else " alone"),
        flush=True,
    )
    rates: dict[bool, list[float]] = {False: [], True: []}
    cpus: dict[bool, list[float]] = {False: [], True: []}
    consuming: dict[bool, list[float]] = {False: [], True: []}
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    for round_ in range(1, args.rounds + 1):
        # ABBA: the order flips every round, so a load that drifts during the run (a shared
        # machine's) weighs on both sides alike.
        for enabled in (False, True) if round_ % 2 else (True, False):
            rate, cpu, consumed = run_once(args.n, enabled, traced)
            rates[enabled].append(rate)
            cpus[enabled].append(cpu)
            consuming[enabled].append(consumed)
            state = "on " if enabled else "off"
            print(
                f"round {round_} metrics {state}: {rate:,.0f} events/s, {cpu:.0f} µs CPU/event "
                f"({consumed:.0f} µs consuming) (load average {os.getloadavg()[0]:.2f})",
                flush=True,
            )
    off, on = statistics.median(rates[False]), statistics.median(rates[True])
    cpu_off, cpu_on = statistics.median(cpus[False]), statistics.median(cpus[True])
    used_off, used_on = statistics.median(consuming[False]), statistics.median(consuming[True])
    print(
        f"median events/s without instrumentation {off:,.0f}, with {on:,.0f} "
        f"({100 * (on - off) / off:+.1f} %); median CPU per event without {cpu_off:.0f} µs, "
        f"with {cpu_on:.0f} µs ({100 * (cpu_on - cpu_off) / cpu_off:+.1f} %); consuming alone "
        f"without {used_off:.0f} µs, with {used_on:.0f} µs "
        f"({100 * (used_on - used_off) / used_off:+.1f} %); "
        f"load average at end {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
