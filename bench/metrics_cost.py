"""What the metrics cost the consumer: `consumer_bench.py` with and without them, alternating.

    python bench/metrics_cost.py [--rounds 3] [-n 20000]

Runs `bench/consumer_bench.py` as a child process `2 × rounds` times, alternating
`METRICS_ENABLED=0` and `=1` (the switch of `eventkit.metrics`), so both see the same machine
load as far as a shared machine allows; prints each run, the medians and the overhead, with the
load average. Addresses as consumer_bench.py (KAFKA_BOOTSTRAP, BENCH_DATABASE_URL). Figures are
printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
_RATE = re.compile(r"consumer: \d+ events handled in [\d.]+s = ([\d,]+) events/s")


def run_once(n: int, enabled: bool) -> float:
    env = {**os.environ, "METRICS_ENABLED": "1" if enabled else "0"}
    done = subprocess.run(
        [sys.executable, str(HERE / "consumer_bench.py"), "-n", str(n)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    found = _RATE.search(done.stdout)
    if done.returncode != 0 or found is None:
        sys.exit(f"consumer_bench.py failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return float(found.group(1).replace(",", ""))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("-n", type=int, default=20_000)
    args = p.parse_args()
    rates: dict[bool, list[float]] = {False: [], True: []}
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    for round_ in range(1, args.rounds + 1):
        for enabled in (False, True):
            rate = run_once(args.n, enabled)
            rates[enabled].append(rate)
            state = "on " if enabled else "off"
            print(
                f"round {round_} metrics {state}: {rate:,.0f} events/s "
                f"(load average {os.getloadavg()[0]:.2f})",
                flush=True,
            )
    off, on = statistics.median(rates[False]), statistics.median(rates[True])
    print(
        f"median without metrics {off:,.0f} events/s, with {on:,.0f} events/s: "
        f"overhead {100 * (off - on) / off:+.1f} % (load average at end "
        f"{os.getloadavg()[0]:.2f})"
    )


if __name__ == "__main__":
    main()
