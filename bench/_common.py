"""Shared plumbing of the benchmark scripts: addresses, reachability checks, topics, reporting.

The scripts print figures; they assert nothing about timing. Infrastructure that cannot be
reached raises `Unavailable` with a message saying what to start.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import math
import os
import pstats
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from marketplace_contracts import EventModel

DEFAULT_KAFKA = "127.0.0.1:9092"
DEFAULT_DATABASE_URL = "postgresql://booking_svc:booking_svc@127.0.0.1:5432/marketplace"
DEFAULT_GATEWAY = "http://127.0.0.1:8000"
SCHEMA = "booking"  # the booking_svc role owns it and may create the scratch tables there
CONNECT_TIMEOUT = 10.0


class Unavailable(RuntimeError):
    """Infrastructure a benchmark needs is not reachable."""


class BenchEvent(EventModel):
    """Bench-only contract: an aggregate's `seq`-th change, padded to a realistic size."""

    TYPE: ClassVar[str] = "bench.thing_changed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "bench.relay"

    key: str
    seq: int
    amount: int
    currency: str
    note: str


def kafka_bootstrap() -> str:
    return os.environ.get("KAFKA_BOOTSTRAP", DEFAULT_KAFKA)


def database_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)


def gateway_url() -> str:
    return os.environ.get("GATEWAY_URL", DEFAULT_GATEWAY).rstrip("/")


def redact(dsn: str) -> str:
    """The DSN without its password, for messages."""
    head, sep, tail = dsn.partition("@")
    if not sep or ":" not in head.split("//", 1)[-1]:
        return dsn
    scheme, _, creds = head.partition("//")
    return f"{scheme}//{creds.split(':', 1)[0]}:***@{tail}"


def say(message: str) -> None:
    print(message, flush=True)


# --- reachability ----------------------------------------------------------------------------


async def connect_db(dsn: str) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        raise Unavailable(
            f"PostgreSQL not reachable at {redact(dsn)}: {exc!r}. Start it (`make up`) or set "
            "BENCH_DATABASE_URL."
        ) from exc


async def check_table(conn: asyncpg.Connection, table: str) -> None:
    if await conn.fetchval("SELECT to_regclass($1)", table) is None:
        raise Unavailable(
            f"table {table} does not exist in this database: apply booking's migrations "
            "(`python -m booking migrate`) first."
        )


async def describe_db(conn: asyncpg.Connection) -> str:
    """What shapes per-transaction cost: TLS on the connection, commit durability, load."""
    tls = await conn.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    sync = await conn.fetchval("SHOW synchronous_commit")
    return (
        f"db tls={'on' if tls else 'off'} synchronous_commit={sync}; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus"
    )


async def start_admin(bootstrap: str) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    try:
        await asyncio.wait_for(admin.start(), timeout=CONNECT_TIMEOUT)
    except (KafkaError, OSError, TimeoutError) as exc:
        await admin.close()
        raise Unavailable(
            f"Kafka not reachable at {bootstrap}: {exc!r}. Start it (`make up`) or set "
            "KAFKA_BOOTSTRAP."
        ) from exc
    return admin


async def ensure_topics(bootstrap: str, topics: dict[str, int]) -> None:
    """Create the missing topics (name → partitions) and wait until the broker lists them."""
    admin = await start_admin(bootstrap)
    try:
        existing = set(await admin.list_topics())
        for name, partitions in topics.items():
            if name in existing:
                continue
            try:
                await admin.create_topics([NewTopic(name, partitions, 1)])
                say(f"  created topic {name} ({partitions} partitions)")
            except TopicAlreadyExistsError:
                pass
        deadline = time.monotonic() + 15
        while not set(topics) <= set(await admin.list_topics()):
            if time.monotonic() > deadline:
                raise Unavailable(f"Kafka at {bootstrap} did not create topics {sorted(topics)}")
            await asyncio.sleep(0.2)
    finally:
        await admin.close()


# --- figures ---------------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted, non-empty sequence."""
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class BenchResult:
    name: str
    status: str  # "ok", "skipped" or "failed"
    figure: float | None = None
    unit: str = ""
    target: str = ""
    met: bool | None = None
    message: str = ""
    details: dict[str, object] = field(default_factory=dict)

    def verdict(self) -> str:
        if self.status != "ok":
            return self.status.upper()
        if self.met is None:
            return "-"
        return "meets target" if self.met else "BELOW TARGET"


class Progress:
    """Prints one line at most every `every` seconds while a run advances."""

    def __init__(self, label: str, total: int, every: float = 1.0) -> None:
        self.label = label
        self.total = total
        self.every = every
        self.started = time.perf_counter()
        self._last = self.started

    def maybe(self, done: int, extra: Callable[[], str] | None = None) -> None:
        now = time.perf_counter()
        if now - self._last < self.every:
            return
        self._last = now
        elapsed = now - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        tail = f"  {extra()}" if extra else ""
        say(f"  {self.label}: {done}/{self.total} in {elapsed:5.1f}s ({rate:,.0f}/s){tail}")


class Profiler:
    """Profiles the event loop's thread between start() and stop(): pyinstrument (sampling,
    low overhead) when it is installed, else cProfile (deterministic, slows asyncio code ~2x)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._pyinstrument: Any = None
        self._cprofile: cProfile.Profile | None = None
        if not enabled:
            return
        try:
            import pyinstrument

            self._pyinstrument = pyinstrument.Profiler(interval=0.0005, async_mode="disabled")
        except ImportError:
            self._cprofile = cProfile.Profile()

    def start(self) -> None:
        if self._pyinstrument is not None:
            self._pyinstrument.start()
        elif self._cprofile is not None:
            self._cprofile.enable()

    def stop(self) -> None:
        if self._pyinstrument is not None:
            self._pyinstrument.stop()
        elif self._cprofile is not None:
            self._cprofile.disable()

    def report(self, limit: int = 30) -> None:
        if self._pyinstrument is not None:
            say("--- pyinstrument (wall clock, event loop thread) ---")
            say(self._pyinstrument.output_text(unicode=False, color=False, show_all=False))
            return
        if self._cprofile is None:
            return
        say("(pyinstrument not installed: cProfile, whose overhead inflates Python-heavy parts)")
        for sort in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(self._cprofile, stream=out).strip_dirs().sort_stats(sort).print_stats(
                limit
            )
            say(f"--- cProfile, top {limit} by {sort} ---")
            say(out.getvalue())


def run_main(runner: Callable[[], BenchResult]) -> int:
    """Standalone entry point: print the verdict; exit 1 if the infrastructure was missing."""
    try:
        result = runner()
    except Unavailable as exc:
        say(f"ERROR: {exc}")
        return 1
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    say(f"==> {result.name}: {result.verdict()} {result.message}".rstrip())
    return 1 if result.status == "failed" else 0
