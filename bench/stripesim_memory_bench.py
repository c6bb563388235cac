"""Stripe simulator bench: resident memory as PaymentIntents accumulate, with and without the
memory bounds (``--objects-in-memory``, ``--idempotency-in-memory``, ``--events-in-memory``).

    python bench/stripesim_memory_bench.py [--intents 20000] [--objects 10000] [--keys 2000]
        [--events 10000] [--snapshot-seconds 2]

For each setting, starts ``python -m stripesim`` on a fresh state file and makes ``--intents``
payments through HTTP (create + confirm + capture, each with an idempotency key, as the
payments service makes them), printing the process's resident memory (from /proc) along the
way, its CPU per payment, then its memory after a restart on the same file. "Unbounded" keeps
everything in memory (the bounds set above the history). Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from stripesim_bench import AUTH, cpu_seconds, free_port, rss_mb

UNBOUNDED = 10**9


@dataclass(frozen=True)
class Bounds:
    objects: int = UNBOUNDED
    keys: int = UNBOUNDED
    events: int = UNBOUNDED
    snapshot_seconds: float = 2.0  # the simulator's own default (STRIPESIM_SNAPSHOT_SECONDS)


THREADS = 4  # concurrent clients: keeps the simulator busy without queueing much


def start(path: Path, bounds: Bounds) -> tuple[subprocess.Popen[bytes], str, float]:
    port = free_port()
    command = [sys.executable, "-m", "stripesim", "--port", str(port), "--log-level", "warning"]
    command += ["--state-file", str(path), "--objects-in-memory", str(bounds.objects)]
    command += ["--idempotency-in-memory", str(bounds.keys)]
    command += ["--events-in-memory", str(bounds.events)]
    command += ["--snapshot-seconds", str(bounds.snapshot_seconds)]
    started = time.perf_counter()
    proc = subprocess.Popen(command)
    base = f"http://127.0.0.1:{port}"
    while proc.poll() is None:
        try:
            if httpx.get(f"{base}/_sim/health", timeout=1).status_code == 200:
                return proc, base, time.perf_counter() - started
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("stripesim exited during start")


def pay(client: httpx.Client) -> None:
    """One checkout's calls, each with its own idempotency key."""
    form = {"amount": "4200", "currency": "usd", "payment_method": "pm_card_visa"}

    def post(path: str, data: dict[str, str] | None = None) -> dict[str, object]:
        headers = AUTH | {"Idempotency-Key": str(uuid.uuid4())}
        response = client.post(path, data=data, headers=headers)
        response.raise_for_status()
        return dict(response.json())

    pi = post("/v1/payment_intents", {**form, "capture_method": "manual"})
    post(f"/v1/payment_intents/{pi['id']}/confirm")
    post(f"/v1/payment_intents/{pi['id']}/capture")


def payments(base: str, count: int) -> None:
    def worker(share: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(share):
                pay(client)

    shares = [count // THREADS + (1 if n < count % THREADS else 0) for n in range(THREADS)]
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(worker, shares))


def settled(base: str) -> dict[str, Any]:
    """The persistence status once a snapshot has written everything (and memory is bounded)."""
    since = time.time()
    while True:
        status = dict(httpx.get(f"{base}/_sim/health", timeout=10).json()["persistence"])
        fresh = (status["last_saved_at"] or 0) > since
        if fresh and status["ok"] and not status["unwritten_rows"] and status["last_rows"] == 0:
            return status  # a snapshot with nothing new: it evicted what it could
        time.sleep(0.5)


def run(label: str, intents: int, bounds: Bounds) -> None:
    with tempfile.TemporaryDirectory(prefix="stripesim-memory-") as tmp:
        path = Path(tmp) / "state.sqlite3"
        proc, base, _ = start(path, bounds)
        try:
            print(f"{label}: started, {rss_mb(proc.pid):.0f} MB resident")
            step, done, cpu = max(intents // 4, 1), 0, cpu_seconds(proc.pid)
            while done < intents:
                batch = min(step, intents - done)
                payments(base, batch)
                done += batch
                status = settled(base)
                print(
                    f"{label}: {done:,} payments, {rss_mb(proc.pid):.0f} MB resident, "
                    f"{status['objects_in_memory']:,} objects and "
                    f"{status['idempotency_in_memory']:,} idempotency records in memory"
                )
            per = (cpu_seconds(proc.pid) - cpu) * 1000 / intents
            print(f"{label}: {per:.1f} ms CPU per payment (3 requests, snapshots, timers)")
        finally:
            proc.terminate()
            proc.wait(60)
        proc, base, boot = start(path, bounds)
        try:
            status = settled(base)
            print(
                f"{label}: restarted on {path.stat().st_size / 1e6:.0f} MB of state in "
                f"{boot:.1f} s, {rss_mb(proc.pid):.0f} MB resident, "
                f"{status['objects_in_memory']:,} objects in memory"
            )
        finally:
            proc.terminate()
            proc.wait(60)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--intents", type=int, default=20_000, help="payments made per setting")
    p.add_argument("--objects", type=int, default=10_000, help="objects kept in memory")
    p.add_argument("--keys", type=int, default=2_000, help="idempotency records kept")
    p.add_argument("--events", type=int, default=10_000, help="events kept")
    p.add_argument(
        "--snapshot-seconds", type=float, default=2.0, help="how often the state file is written"
    )
    args = p.parse_args()
    bounded = Bounds(args.objects, args.keys, args.events, args.snapshot_seconds)
    print(f"{args.intents:,} payments; bounded: {bounded}")
    run("unbounded", args.intents, Bounds(snapshot_seconds=args.snapshot_seconds))
    run("bounded", args.intents, bounded)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
