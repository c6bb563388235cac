"""What tracing costs the checkout saga: the same Instant Book load on the whole system, started
afresh once per tracing mode, with each service's CPU per captured checkout.

    python bench/tracing_cost.py [--rate 10] [--duration 20] [--modes off none sampled]

Modes: `off` (`OTEL_SDK_DISABLED=true`: no spans, no trace ids), `none` (the development default:
no exporter, so nothing is recorded, but trace ids are made, propagated and logged), `sampled`
(every trace recorded and exported over OTLP/HTTP to a receiver in this process), `ratio`
(`parentbased_traceidratio` 0.1: one trace in ten recorded and exported) and `default`
(exporting with no sampler named: the services' default, `eventkit.tracing.DEFAULT_SAMPLE_RATIO`).
Each mode starts the Stripe simulator and the four services as processes on free ports
(tests/e2e's harness, on KAFKA_BOOTSTRAP and the MP_TEST_DB database, as `make test` sets
them), drives `bench/saga_latency.py` against the gateway, and reads the services' CPU time
from /proc before and after. Figures are printed, never asserted; run it on a quiet machine
(the load average is printed beside them).
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

MODES = ("off", "none", "default", "sampled", "ratio")
TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def _mode_env(mode: str, endpoint: str) -> dict[str, str]:
    if mode == "off":
        return {"OTEL_SDK_DISABLED": "true"}
    if mode == "none":
        return {"OTEL_TRACES_EXPORTER": "none"}
    exporting = {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}
    if mode == "sampled":
        exporting |= {"OTEL_TRACES_SAMPLER": "parentbased_always_on"}
    if mode == "ratio":
        exporting |= {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio"}
        exporting |= {"OTEL_TRACES_SAMPLER_ARG": "0.1"}
    return exporting


def measure(mode: str, rate: float, duration: float) -> str:
    with tempfile.TemporaryDirectory() as logs, otlp_collector() as collector:
        system = build_system(KAFKA, Path(logs))
        for var in ("OTEL_SDK_DISABLED", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"):
            system.env.pop(var, None)
        system.env.update(_mode_env(mode, collector.endpoint))
        with running(system):
            pids = {name: system.procs[name].pid for name in (*SERVICES, "stripe")}
            before = {name: _cpu_seconds(pid) for name, pid in pids.items()}
            command = ["bench/saga_latency.py", "--rate", str(rate), "--duration", str(duration)]
            done = subprocess.run(
                [sys.executable, *command],
                env={**system.env, "GATEWAY_URL": system.urls["booking"]},
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=duration + 300,
            )
            used = {name: _cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    out = done.stdout
    captured = re.search(r"captured: (\d+)", out)
    latency = re.search(r"captured ms \(booking timestamps\): (p50 [^\n]*)", out)
    n = int(captured.group(1)) if captured else 0
    per = ", ".join(f"{name} {used[name] / max(n, 1) * 1000:.1f}" for name in (*SERVICES, "stripe"))
    total = sum(used[name] for name in SERVICES) / max(n, 1) * 1000
    return (
        f"{mode:>8}: {n} captured; services' CPU per checkout {total:.1f} ms ({per}); "
        f"{latency.group(1).strip() if latency else 'no latency line'}; "
        f"{len(collector.spans)} spans received; load {os.getloadavg()[0]:.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rate", type=float, default=10.0, help="checkouts per second (default 10)")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of load (default 20)")
    p.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    args = p.parse_args(argv)
    for mode in args.modes:
        print(measure(mode, args.rate, args.duration), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
