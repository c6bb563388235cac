"""The simulator's settings: environment variables, overridden by command-line flags."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stripesim.eventlog import DEFAULT_KEEP_IN_MEMORY
from stripesim.persistence import DEFAULT_SNAPSHOT_SECONDS
from stripesim.state import (
    ACH_SETTLEMENT_SECONDS,
    AVAILABLE_DELAY_SECONDS,
    PAYOUT_ARRIVAL_SECONDS,
)
from stripesim.webhooks import (
    DEFAULT_RETRY_BASE,
    DEFAULT_RETRY_CAP,
    DEFAULT_RETRY_HORIZON,
    DEFAULT_WORKERS,
)

DEFAULT_WEBHOOK_SECRET = "whsec_local_dev"
# With a state file, memory keeps this many objects and idempotency records once written; the
# others are read back from the file when asked for. A PaymentIntent with its charge,
# PaymentMethod and balance transaction is about 4 objects, so 100,000 objects hold the last
# ~25,000 payments; a replay of a retried request comes within minutes, so 20,000 records do.
DEFAULT_OBJECTS_IN_MEMORY = 100_000
DEFAULT_IDEMPOTENCY_IN_MEMORY = 20_000


def parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
        raise ValueError(f"not a boolean: {raw!r}")
    return value in ("1", "true", "yes", "on")


def parse_time_of_day(raw: str) -> int:
    """``HH:MM`` (UTC) as seconds after midnight."""
    hours, _, minutes = raw.strip().partition(":")
    seconds = int(hours) * 3600 + int(minutes or "0") * 60
    if not 0 <= seconds < 24 * 3600:
        raise ValueError(f"not a time of day (HH:MM): {raw!r}")
    return seconds


@dataclass(frozen=True)
class Option:
    flag: str
    env: str
    default: Any
    parse: Callable[[str], Any]
    help: str

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")

    def from_env(self) -> Any:
        raw = os.environ.get(self.env, "").strip()
        return self.parse(raw) if raw else self.default


OPTIONS = (
    Option("--webhook-url", "STRIPESIM_WEBHOOK_URL", None, str, "where webhooks go (none: off)"),
    Option(
        "--webhook-secret",
        "STRIPESIM_WEBHOOK_SECRET",
        DEFAULT_WEBHOOK_SECRET,
        str,
        "secret the Stripe-Signature is made with",
    ),
    Option(
        "--state-file",
        "STRIPESIM_STATE_FILE",
        None,
        Path,
        "keep state across restarts in this SQLite file (default: in memory only)",
    ),
    Option(
        "--ach-settlement-seconds",
        "STRIPESIM_ACH_SETTLEMENT_SECONDS",
        ACH_SETTLEMENT_SECONDS,
        int,
        "sim seconds an ACH debit stays processing (default 4 days)",
    ),
    Option(
        "--available-delay-seconds",
        "STRIPESIM_AVAILABLE_DELAY_SECONDS",
        AVAILABLE_DELAY_SECONDS,
        int,
        "sim seconds before a charge's funds are available (default 2 days)",
    ),
    Option(
        "--automatic-payouts",
        "STRIPESIM_AUTOMATIC_PAYOUTS",
        True,
        parse_bool,
        "pay the available balance out daily (default true)",
    ),
    Option(
        "--payout-time",
        "STRIPESIM_PAYOUT_TIME",
        0,
        parse_time_of_day,
        "time of day (HH:MM, UTC, sim clock) of the automatic payouts (default 00:00)",
    ),
    Option(
        "--payout-arrival-seconds",
        "STRIPESIM_PAYOUT_ARRIVAL_SECONDS",
        PAYOUT_ARRIVAL_SECONDS,
        int,
        "sim seconds from a payout to its arrival at the bank (default 1 day)",
    ),
    Option(
        "--webhook-events",
        "STRIPESIM_WEBHOOK_EVENTS",
        frozenset({"*"}),
        lambda raw: frozenset(t.strip() for t in raw.split(",") if t.strip()),
        "event types the webhook endpoint is subscribed to, comma-separated, like a Stripe "
        "endpoint's enabled_events (default *: all)",
    ),
    Option(
        "--webhook-workers",
        "STRIPESIM_WEBHOOK_WORKERS",
        DEFAULT_WORKERS,
        int,
        f"concurrent webhook deliveries (default {DEFAULT_WORKERS})",
    ),
    Option(
        "--webhook-retry-base",
        "STRIPESIM_WEBHOOK_RETRY_BASE",
        DEFAULT_RETRY_BASE,
        float,
        f"seconds before the first retry, doubling after (default {DEFAULT_RETRY_BASE:g})",
    ),
    Option(
        "--webhook-retry-cap",
        "STRIPESIM_WEBHOOK_RETRY_CAP",
        DEFAULT_RETRY_CAP,
        float,
        f"longest wait between retries, seconds (default {DEFAULT_RETRY_CAP:g})",
    ),
    Option(
        "--webhook-retry-horizon",
        "STRIPESIM_WEBHOOK_RETRY_HORIZON",
        DEFAULT_RETRY_HORIZON,
        float,
        f"give up this long after the first attempt, seconds (default {DEFAULT_RETRY_HORIZON:g}"
        " = 3 days)",
    ),
    Option(
        "--snapshot-seconds",
        "STRIPESIM_SNAPSHOT_SECONDS",
        DEFAULT_SNAPSHOT_SECONDS,
        float,
        f"how often changes are written to the state file (default {DEFAULT_SNAPSHOT_SECONDS:g})",
    ),
    Option(
        "--events-in-memory",
        "STRIPESIM_EVENTS_IN_MEMORY",
        DEFAULT_KEEP_IN_MEMORY,
        int,
        f"newest events kept in memory for lists (default {DEFAULT_KEEP_IN_MEMORY})",
    ),
    Option(
        "--objects-in-memory",
        "STRIPESIM_OBJECTS_IN_MEMORY",
        DEFAULT_OBJECTS_IN_MEMORY,
        int,
        "with a state file, objects kept in memory; older ones are read back from the file "
        f"(default {DEFAULT_OBJECTS_IN_MEMORY})",
    ),
    Option(
        "--idempotency-in-memory",
        "STRIPESIM_IDEMPOTENCY_IN_MEMORY",
        DEFAULT_IDEMPOTENCY_IN_MEMORY,
        int,
        "with a state file, idempotency records kept in memory; older ones (up to 24 h) are "
        f"read back from the file (default {DEFAULT_IDEMPOTENCY_IN_MEMORY})",
    ),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per option, its default read from the environment."""
    for option in OPTIONS:
        parser.add_argument(
            option.flag,
            dest=option.dest,
            type=option.parse,
            default=option.from_env(),
            help=f"{option.help}; env {option.env}",
        )


def from_env() -> dict[str, Any]:
    """Every setting from the environment (or its default), by ``create_app`` keyword."""
    return {option.dest: option.from_env() for option in OPTIONS}
