"""Start the Stripe simulator and the four services as separate processes for e2e tests."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from payments.service_layer.webhooks import ALLOWED_TYPES
from tests.conftest import KAFKA, service_dsn
from tests.support import free_port, processes
from tests.support.otlp_collector import Collector, otlp_collector

ROOT = processes.ROOT


SERVICES = ("booking", "payments", "finance", "disputes")
WEBHOOK_SECRET = "whsec_e2e_secret"
# Who reads finance's and disputes' staff-only APIs in these tests (sub, role).
STAFF_CALLERS = {"finance": ("finance-e2e", "finance"), "disputes": ("trust-e2e", "trust")}


@dataclass
class System:
    urls: dict[str, str]
    logs: Path
    commands: dict[str, list[str]] = field(default_factory=dict)  # python arguments
    env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    collector: Collector | None = None

    def start(self, *names: str) -> None:
        """Start `names` together (their start-ups overlap), then wait until each answers."""
        for name in names:
            self.procs[name] = processes.start(self.commands[name], self.env, self._log(name))
        for name in names:
            # the simulator has no /healthz: that it answers at all is enough
            path = "" if name == "stripe" else "/healthz"
            processes.wait_ready(self.urls[name], self.procs[name], self._log(name), path)

    def _log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def kill(self, name: str) -> None:
        """SIGKILL: no graceful shutdown, as a crash would leave it."""
        self.procs[name].kill()
        self.procs[name].wait(timeout=15)

    def token(self, sub: str, role: str) -> str:
        from booking.config import BookingSettings
        from booking.entrypoints.auth import Role, issue_token

        return issue_token(BookingSettings().jwt_secret, sub, Role(role))

    def client(self, service: str, sub: str | None = None, role: str = "guest") -> httpx.Client:
        """A client of `service`, as `sub` with `role`; finance's and disputes' APIs answer
        staff only, so without a `sub` those get their staff's token (STAFF_CALLERS)."""
        if sub is None and service in STAFF_CALLERS:
            sub, role = STAFF_CALLERS[service]
        headers = {"Authorization": f"Bearer {self.token(sub, role)}"} if sub else {}
        return httpx.Client(base_url=self.urls[service], headers=headers, timeout=10)


def build_system(kafka: str, logs: Path) -> System:
    """The Stripe simulator and the four services (not started yet) on ``kafka``."""
    ports = {name: free_port() for name in SERVICES}
    sim_port = free_port()
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP": kafka,
        "PYTHONPATH": str(ROOT),
        "STRIPESIM_WEBHOOK_URL": f"http://127.0.0.1:{ports['payments']}/webhooks/stripe",
        "STRIPESIM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPESIM_WEBHOOK_EVENTS": ",".join(sorted(ALLOWED_TYPES)),
        "PAYMENTS_STRIPE_API_BASE": f"http://127.0.0.1:{sim_port}",
        "PAYMENTS_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        # finance reads the platform's balance and balance transactions from the same Stripe
        "FINANCE_STRIPE_API_BASE": f"http://127.0.0.1:{sim_port}",
        # The tests spread their bookings over the years 2030-2038 so that runs never collide:
        # a booking horizon that reaches them.
        "BOOKING_HORIZON_DAYS": "5000",
        # Stripe retries webhooks over 3 days, first after seconds; a test that restarts
        # payments wants the retries within a second or two.
        "STRIPESIM_WEBHOOK_RETRY_BASE": "0.2",
        "STRIPESIM_WEBHOOK_RETRY_CAP": "2",
        # Clocks made short by configuration, so request expiry is observable in a test.
        "BOOKING_REQUEST_WINDOW_SECONDS": "6",
        "BOOKING_SCHEDULER_POLL_SECONDS": "0.2",
        "BOOKING_PAYMENT_WINDOW_SECONDS": "8",
        # Damage claims: filed within 25 s of the end, answered within 10 min.
        "BOOKING_CLAIM_WINDOW_SECONDS": "25",
        "BOOKING_CLAIM_RESPONSE_WINDOW_SECONDS": "600",
        # The authorization sweeper looks often; a renewed authorization's predecessor is
        # cancelled a second after the swap.
        "PAYMENTS_AUTHORIZATION_SWEEP_SECONDS": "0.5",
        "PAYMENTS_REPLACED_AUTHORIZATION_GRACE_SECONDS": "1",
        # Bank debits: the return window passes (funds cleared) 4 s after the debit settled.
        "PAYMENTS_BANK_DEBIT_RETURN_WINDOW": "4",
        "PAYMENTS_BANK_DEBIT_SWEEP_SECONDS": "0.5",
    }
    urls = {"stripe": f"http://127.0.0.1:{sim_port}"}
    commands = {"stripe": ["-m", "stripesim", "--port", str(sim_port)]}
    for name in SERVICES:
        prefix = name.upper()
        env[f"{prefix}_DATABASE_URL"] = service_dsn(name)
        env[f"{prefix}_HTTP_PORT"] = str(ports[name])
        urls[name] = f"http://127.0.0.1:{ports[name]}"
        commands[name] = ["-m", name, "serve"]
    env["BOOKING_PUBLIC_BASE_URL"] = urls["booking"]  # signing links point at this gateway
    # Disputes follows the simulator's clock, as under `make up`: advancing it fires timers.
    env["DISPUTES_CLOCK_URL"] = f"{urls['stripe']}/_sim/clock"
    env.setdefault("DISPUTES_CLOCK_REFRESH_SECONDS", "0.2")
    env.setdefault("DISPUTES_SCHEDULER_POLL_SECONDS", "0.2")
    return System(urls=urls, logs=logs, commands=commands, env=env)


@contextlib.contextmanager
def running(system: System) -> Iterator[System]:
    """Start every process and seed the demo listings; stop them all afterwards."""
    try:
        system.start("stripe")  # first: the services call it as soon as they run
        system.start(*(name for name in system.commands if name != "stripe"))
        subprocess.run(
            [sys.executable, "-m", "booking", "seed-listings"],
            env=system.env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        yield system
    finally:
        for proc in system.procs.values():
            proc.terminate()
        for proc in system.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


# Package scope: the services stop after the e2e tests, before other packages use the same
# database and Kafka (a running booking service would otherwise pick up their outbox rows).
@pytest.fixture(scope="package")
def system(
    kafka_bootstrap: str, pg_ready: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    system = build_system(KAFKA, tmp_path_factory.mktemp("e2e-logs"))
    # The services export their spans over OTLP to a receiver in this process
    # (test_traces_and_logs.py reads one checkout's trace from it).
    with otlp_collector() as collector:
        system.env.update(collector.env())
        system.collector = collector
        with running(system):
            yield system
