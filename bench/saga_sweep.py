"""Checkout rate sweep: open-loop Instant Book checkouts at rising rates, each to the capture.

    python bench/saga_sweep.py [--rates 10 25 50 100 150 200] [--duration 60] [--history N]
                               [--keep-going]

Needs the whole system (`make up`). For each rate, `rate × duration` checkouts start open-loop
on the bench's own Instant Book listings (see saga_latency.py) and each is followed to the
capture. Per rate it prints: checkouts captured / refused by load shedding (503 `overloaded`) /
failed, POST→captured p50/p95/p99 from the booking's own timestamps, the CPU share of every
process of `make up` (from /proc, pid files in .run/system/) with the Stripe simulator's
first, how busy the whole machine was (its share of all cores: 100 % leaves no headroom, and
then any burst of other work queues the checkouts; and of that, the share the hypervisor gave
to other guests of a virtual machine, /proc/stat's steal), the load average, and each process's CPU
ms per captured checkout (the figure other people's load on a shared machine moves least;
Postgres: the backends of `marketplace` only).
A rate is *sustained* when every checkout was admitted and
captured with p99 ≤ 500 ms; the sweep stops after the first rate that is not, unless
`--keep-going` (every rate given runs: to watch overload refused with 503 `overloaded` and
`Retry-After` rather than accepted and lost).

Before the sweep it measures the raw limit of the same machine in the same run: the gateway's
closed-loop `GET /healthz` rate (the HTTP stack alone, no database, no saga), to set the
figures beside.

`--history N` first drives N checkouts (at the rate the system admits, honouring
`Retry-After`) so that the sweep runs on a system with that much history: cost must not grow
with it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import saga_latency as saga
from _common import BenchResult, gateway_url, kafka_bootstrap, percentile, run_main, say
from _http import Client, HTTPError
from _lag import Lag

RUN_DIR = Path(__file__).resolve().parents[1] / ".run" / "system"
PROCESSES = ("stripesim", "booking", "payments", "finance", "disputes", "ops", "kafka")
SYSTEM_DB = "marketplace"  # `make up`'s database (CONVENTIONS.md)
TARGET_P99_S = 0.5
TICKS = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int | str) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def _cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) each process of `make up` has used so far, Postgres and this
    load generator included. Postgres counts the backends and autovacuum workers of the system's
    own database only (`postgres:<pid>`, summed by `_used`): the cluster is shared with the test
    suites of other checkouts (their backends are not this system's cost) and its background
    processes serve every database."""
    used: dict[str, float] = {}
    for name in PROCESSES:
        try:
            used[name] = _proc_cpu(int((RUN_DIR / f"{name}.pid").read_text().split()[0]))
        except (OSError, ValueError, IndexError):
            continue
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() != "postgres":
                continue
            # A backend's title: "postgres: 15/main: <role> <database> <client> <state>";
            # an autovacuum worker's: "postgres: 15/main: autovacuum worker <database>".
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").split()
            autovacuum = title[2:4] == [b"autovacuum", b"worker"]
            if (title[4:5] if autovacuum else title[3:4]) == [SYSTEM_DB.encode()]:
                used[f"postgres:{pid}"] = _proc_cpu(pid)
        except OSError:
            continue  # ended meanwhile
    used["bench"] = _proc_cpu(os.getpid())
    return used


def _machine_ticks() -> tuple[int, int, int]:
    """The machine's busy, total and stolen CPU ticks so far, all cores (idle and iowait are
    not busy): whether a rate left the machine any headroom, whoever used it. Stolen (busy
    too): the time the hypervisor gave this virtual machine's cores to another guest."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]
    stolen = ticks[7] if len(ticks) > 7 else 0
    return sum(ticks) - idle, sum(ticks), stolen


def _used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds each process used between two `_cpu_seconds()`, Postgres backends summed. A
    backend counts from when it was first seen (or started), so pooled connections that close
    and reopen never make the figure negative; a backend that ended meanwhile loses its last
    share (Postgres is counted slightly low, never high)."""
    used: dict[str, float] = {}
    for key, seconds in after.items():
        name = key.split(":", 1)[0]
        used[name] = used.get(name, 0.0) + seconds - before.get(key, 0.0)
    return {
        name: used.get(name, 0.0)
        for name in (*PROCESSES, "postgres", "bench")
        if name in used or name == "postgres"
    }


@dataclass
class Step:
    rate: float
    samples: list[saga.Sample] = field(default_factory=list)
    wall: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # share of one core
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)
    busy: float = 0.0  # the machine's busy share of all its cores (/proc/stat)
    stolen: float = 0.0  # of which the hypervisor gave to other guests
    books: str = ""  # how far behind the back office was, and how long it took to catch up

    def refused(self) -> int:
        return sum(1 for s in self.samples if "503" in s.reason)

    def captured(self) -> list[float]:
        return sorted(s.server_latency for s in self.samples if s.ok and s.server_latency)

    def sustained(self) -> bool:
        good = self.captured()
        return len(good) == len(self.samples) and percentile(good, 99) <= TARGET_P99_S

    def line(self) -> str:
        good = self.captured()
        pct = " / ".join(f"{percentile(good, p) * 1000:.0f}" for p in (50, 95, 99)) if good else "-"
        failed = len(self.samples) - len(good) - self.refused()
        cpu = ", ".join(f"{k} {v:.0%}" for k, v in self.cpu.items())
        why = Counter(s.reason for s in self.samples if not s.ok and "503" not in s.reason)
        if why:  # a failure is worth its reason: the POST's status or error, or the timeout
            failed_text = ", ".join(f"{n}x {reason}" for reason, n in why.most_common())
            cpu = f"{cpu}; failed: {failed_text}"
        return (
            f"{self.rate:6g}/s: {len(good)}/{len(self.samples)} captured, "
            f"{self.refused()} refused (503), {failed} failed; p50/p95/p99 {pct} ms; "
            f"CPU {cpu}; machine busy {self.busy:.0%} of {os.cpu_count()} cores "
            f"(stolen by the hypervisor {self.stolen:.0%}); "
            f"load {self.load[0]:.2f}\n{self.cpu_per_checkout()}\n{self.windows()}"
            + (f"\n        {self.books}" if self.books else "")
        )

    def windows(self, seconds: float = 10.0) -> str:
        """p99 of the checkouts sent in each `seconds` of the run, in order: whether a high p99
        is the whole run's or a burst's (a checkpoint, a periodic job)."""
        size = max(int(self.rate * seconds), 1)
        parts = []
        for first in range(0, len(self.samples), size):
            sent = self.samples[first : first + size]
            done = sorted(s.server_latency for s in sent if s.ok and s.server_latency)
            parts.append(f"{percentile(done, 99) * 1000:.0f}" if done else "-")
        return f"        p99 ms of each {seconds:g} s sent: {' / '.join(parts)}"

    def cpu_per_checkout(self) -> str:
        """CPU ms per captured checkout per process: much steadier than rates or latencies on
        a shared machine, where other people's load moves those."""
        n = max(len(self.captured()), 1)
        per = {k: v * 1000 / n for k, v in self.cpu_seconds.items()}
        each = ", ".join(f"{k} {v:.1f}" for k, v in per.items())
        return f"        CPU ms per captured checkout: total {sum(per.values()):.1f} ({each})"


async def books_behind(lag: Lag | None) -> str:
    """The back office (finance, disputes, ops: off a checkout's path, at a lower priority
    under `make up`) when the rate's last checkout was captured: the events it had to go, and
    how long it took to catch up. The next rate starts once it has."""
    if lag is None:
        return ""
    try:
        left = await lag.behind()
        took = await lag.caught_up()
    except Exception as exc:
        return f"back office: not read ({type(exc).__name__}: {exc})"
    after = "not within 600 s" if took is None else f"{took:.1f} s later"
    each = ", ".join(f"{group} {n}" for group, n in left.items())
    return f"back office behind at the last capture: {each} events; caught up {after}"


async def open_lag(stack: contextlib.AsyncExitStack) -> Lag | None:
    try:
        return await stack.enter_async_context(Lag(kafka_bootstrap()))
    except Exception as exc:
        say(f"back office lag not measured: {type(exc).__name__}: {exc}")
        return None


async def raw_limit(client: Client, seconds: float = 3.0) -> float:
    """Closed-loop GET /healthz per second with 32 concurrent clients: the HTTP ceiling."""
    done = 0
    stop = time.perf_counter() + seconds

    async def loop() -> None:
        nonlocal done
        while time.perf_counter() < stop:
            await client.get("/healthz")
            done += 1

    await asyncio.gather(*(loop() for _ in range(32)))
    return done / seconds


async def run_rate(
    client: Client, slots: list[saga.Slot], rate: float, args: argparse.Namespace
) -> Step:
    step = Step(rate)
    loop = asyncio.get_running_loop()
    cpu0, machine0, t0 = _cpu_seconds(), _machine_ticks(), loop.time()
    tasks = []
    for i, slot in enumerate(slots):
        delay = t0 + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(saga.checkout(client, slot, args)))
    step.samples = list(await asyncio.gather(*tasks))
    step.wall = loop.time() - t0
    step.cpu_seconds = _used(cpu0, _cpu_seconds())
    step.cpu = {k: v / step.wall for k, v in step.cpu_seconds.items()}
    step.load = os.getloadavg()
    busy, total, stolen = (b - a for a, b in zip(machine0, _machine_ticks(), strict=True))
    step.busy = busy / total if total else 0.0
    step.stolen = stolen / total if total else 0.0
    return step


# Slots one bench listing offers within the booking horizon (365 days of 1-hour stays with an
# hour between them, from a day ahead), with a margin.
SLOTS_PER_LISTING = 4000
IDLE_CORES = 0.10  # the system counts as idle below this much CPU (all its processes together)


async def history(
    client: Client, count: int, rng: random.Random, rate: float, renew: Callable[[], None]
) -> None:
    """Drive `count` checkouts on listings of their own, without following them; a refusal
    (503 `overloaded`) waits its Retry-After and tries again, so this runs at the rate the
    system admits. A 401 (the token expired: a history takes hours) renews the token once and
    tries again. Prints progress and what was not accepted, by status and code."""
    listings = await saga.bench_listings(client, max(1, -(-count // SLOTS_PER_LISTING)))
    slots = saga.plan_slots(listings, count, rng)
    say(f"history: {count} checkouts on {len(listings)} listings")
    sem = asyncio.Semaphore(int(rate))  # at most ~1 s of checkouts waiting on the gateway
    outcome: Counter[str] = Counter()
    started = time.perf_counter()

    async def one(slot: saga.Slot) -> None:
        body = {
            "listing_id": slot.listing_id,
            "starts_at": slot.starts_at.isoformat(),
            "ends_at": slot.ends_at.isoformat(),
            "payment_method": "pm_card_visa",
        }
        headers = {"Idempotency-Key": str(uuid.uuid4())}  # one key per checkout, kept on retry
        renewed = False
        async with sem:
            while True:
                try:
                    response = await client.post("/v1/bookings", json=body, headers=headers)
                except HTTPError as exc:
                    outcome[type(exc).__name__] += 1
                    await asyncio.sleep(1.0)
                    continue
                if response.status_code == 401 and not renewed:
                    renewed = True
                    renew()
                    continue
                if response.status_code != 503:
                    break
                await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
        outcome["accepted" if response.status_code == 202 else f"{response.status_code}"] += 1

    for i in range(0, len(slots), 1000):
        await asyncio.gather(*(one(slot) for slot in slots[i : i + 1000]))
        done = min(i + 1000, len(slots))
        elapsed = time.perf_counter() - started
        say(
            f"  history: {done}/{count} in {elapsed:.0f}s ({done / elapsed:.1f}/s): {dict(outcome)}"
        )


async def settle(timeout: float = 1800.0, window: float = 10.0) -> None:
    """Wait until the system is idle (its processes use under IDLE_CORES of CPU together over
    `window` seconds): the history's sagas, projections and ledgers have caught up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = _cpu_seconds()
        await asyncio.sleep(window)
        used = _used(before, _cpu_seconds())
        busy = sum(seconds for name, seconds in used.items() if name != "bench") / window
        say(f"  settling: the system uses {busy:.2f} cores")
        if busy < IDLE_CORES:
            return
    say(f"  settling: still busy after {timeout:.0f}s; sweeping anyway")


async def sweep(args: argparse.Namespace) -> BenchResult:
    async with Client(gateway_url(), timeout=30.0) as client:
        why = await saga.gateway_answers(client)
        if why is not None:
            return BenchResult(name="sweep", status="skipped", message=f"gateway: {why}")

        def renew() -> None:  # a token of the user's own (--token) is theirs to renew
            client.headers["Authorization"] = f"Bearer {args.token or saga.mint_token(args.sub)}"

        renew()
        listings = await saga.bench_listings(client)
        rng = random.Random(args.seed)
        if args.history:
            await history(client, args.history, rng, max(args.rates), renew)
            await settle()
            renew()  # the sweep's checkouts start with a fresh token
        raw = await raw_limit(client)
        say(
            f"raw limit: gateway GET /healthz {raw:,.0f}/s closed-loop; load {os.getloadavg()[0]:.2f}"
        )
        steps: list[Step] = []
        async with contextlib.AsyncExitStack() as stack:
            lag = await open_lag(stack)
            for rate in args.rates:
                slots = saga.plan_slots(listings, max(1, round(rate * args.duration)), rng)
                steps.append(await run_rate(client, slots, rate, args))
                steps[-1].books = await books_behind(lag)
                say(steps[-1].line())
                if not steps[-1].sustained() and not args.keep_going:
                    break
    best = max((s.rate for s in steps if s.sustained()), default=0.0)
    return BenchResult(
        name="sweep",
        status="ok",
        figure=best,
        unit="checkouts/s sustained",
        target="50/s: 100 % captured, p99 <= 500 ms; aim 150/s",
        met=best >= 50,
        message=f"highest sustained rate {best:g}/s (raw HTTP limit {raw:,.0f} req/s)",
        details={"steps": [s.line() for s in steps], "raw_healthz_per_s": round(raw)},
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rates", type=float, nargs="+", default=[10, 25, 50, 100, 150, 200])
    p.add_argument("--duration", type=float, default=60.0, help="seconds of load per rate")
    p.add_argument("--history", type=int, default=0, help="checkouts to drive before the sweep")
    p.add_argument("--poll-interval", type=float, default=0.5, help="first GET poll after, s")
    p.add_argument("--poll-backoff", type=float, default=2.0, help="each next poll waits x this")
    p.add_argument("--timeout", type=float, default=120.0, help="per-checkout give-up, s")
    p.add_argument("--sub", default="bench-guest")
    p.add_argument("--token", default=None)
    p.add_argument("--payment-method", default="pm_card_visa")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument(
        "--keep-going",
        action="store_true",
        help="run every rate, also after one that is not sustained (overload is refused, not lost)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if any(rate <= 0 for rate in args.rates) or args.duration <= 0:
        raise SystemExit("--rates and --duration must be positive")
    return run_main(lambda: asyncio.run(sweep(args)))


if __name__ == "__main__":
    sys.exit(main())
