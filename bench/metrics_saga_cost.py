"""What the instrumentation costs the checkout saga: the same Instant Book load on the whole
system, started afresh without it and with it, and each service's CPU per captured checkout.

    python bench/metrics_saga_cost.py [--rate 10] [--duration 20] [--rounds 1] [--untraced]
                                      [--poll-interval 0.5] [--poll-backoff 2]

"Off" is `METRICS_ENABLED=0` and `OTEL_SDK_DISABLED=true`; "on" is the default configuration
of a service that exports: metrics on, and traces over OTLP/HTTP (to a receiver in this
process) with no sampler named, so the services' default ratio applies (`--untraced`: metrics
alone, tracing as the environment says).

Each side starts the Stripe simulator and the four services as processes on free ports
(tests/e2e's harness, on KAFKA_BOOTSTRAP and the MP_TEST_DB database, as `make test` sets
them), drives `bench/saga_latency.py` against the gateway and reads the services' CPU time
from /proc before and after; rounds alternate the order (ABBA). Each booking is polled after
0.5 s, then at doubling intervals (`--poll-interval`, `--poll-backoff`), so both sides send about
the same GETs per checkout (printed): with a fixed 100 ms poll, the slower side of a saturated
run was also polled twice as often, and that extra work was most of the difference measured
(docs/benchmarks.md). CPU per checkout is the
measure: on a shared machine the latency follows the neighbours' load. Figures are printed,
never asserted; the load average is printed beside them.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import KAFKA  # noqa: E402  (the harness of the e2e tests)
from tests.e2e.conftest import SERVICES, build_system, running  # noqa: E402
from tests.support.otlp_collector import otlp_collector  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


_SAMPLING = ("OTEL_SDK_DISABLED", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG")


def measure(enabled: bool, traced: bool, args: argparse.Namespace) -> tuple[float, str]:
    """(services' CPU ms per captured checkout, the line printed)."""
    with tempfile.TemporaryDirectory() as logs, otlp_collector() as collector:
        system = build_system(KAFKA, Path(logs))
        system.env["METRICS_ENABLED"] = "1" if enabled else "0"
        if traced:
            for var in _SAMPLING:
                system.env.pop(var, None)
            if enabled:
                system.env["OTEL_TRACES_EXPORTER"] = "otlp"
                system.env["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.endpoint
            else:
                system.env["OTEL_SDK_DISABLED"] = "true"
        with running(system):
            pids = {name: system.procs[name].pid for name in SERVICES}
            before = {name: _cpu_seconds(pid) for name, pid in pids.items()}
            command = [
                *(
                    "bench/saga_latency.py",
                    "--rate",
                    str(args.rate),
                    "--duration",
                    str(args.duration),
                ),
                *(
                    "--poll-interval",
                    str(args.poll_interval),
                    "--poll-backoff",
                    str(args.poll_backoff),
                ),
            ]
            done = subprocess.run(
                [sys.executable, *command],
                env={**system.env, "GATEWAY_URL": system.urls["booking"]},
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=args.duration + 300,
            )
            used = {name: _cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    captured = re.search(r"captured: (\d+)", done.stdout)
    latency = re.search(r"captured ms \(booking timestamps\): (p50 [^\n]*)", done.stdout)
    polls = re.search(r"([\d.]+) per checkout", done.stdout)
    n = int(captured.group(1)) if captured else 0
    if n == 0:
        sys.exit(f"no checkout captured:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    per = ", ".join(f"{name} {used[name] / n * 1000:.1f}" for name in SERVICES)
    total = sum(used.values()) / n * 1000
    side = "on " if enabled else "off"
    line = (
        f"instrumentation {side}: {n} captured, CPU ms per checkout {total:.1f} ({per}); "
        f"{latency.group(1).strip() if latency else 'no latency line'}; "
        f"{polls.group(1) if polls else '?'} GET polls per checkout; "
        f"{len(collector.spans)} spans exported; load average {os.getloadavg()[0]:.2f}"
    )
    return total, line


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rate", type=float, default=10.0)
    p.add_argument("--duration", type=float, default=20.0)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--untraced", action="store_true", help="compare metrics alone")
    p.add_argument("--poll-interval", type=float, default=0.5, help="first poll after, s")
    p.add_argument("--poll-backoff", type=float, default=2.0, help="each next poll waits x this")
    args = p.parse_args()
    totals: dict[bool, list[float]] = {False: [], True: []}
    for round_ in range(1, args.rounds + 1):
        for enabled in (False, True) if round_ % 2 else (True, False):
            total, line = measure(enabled, not args.untraced, args)
            totals[enabled].append(total)
            print(f"round {round_} {line}", flush=True)
    off = sum(totals[False]) / len(totals[False])
    on = sum(totals[True]) / len(totals[True])
    print(
        f"mean CPU ms per checkout: without {off:.1f}, with {on:.1f} ({100 * (on - off) / off:+.1f} %)"
    )


if __name__ == "__main__":
    main()
