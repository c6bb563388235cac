"""Settings every service shares; each service subclasses with its own env prefix."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, BeforeValidator, Field
from pydantic_settings import BaseSettings

from eventkit.auth import DEV_JWT_SECRET


def _duration(value: object) -> object:
    """A duration setting from the environment: seconds (`432000`) or ISO 8601 (`P5D`)."""
    if isinstance(value, str) and value.strip().replace(".", "", 1).isdigit():
        return float(value)
    return value


# A consumer that takes batches: a fetch is answered once this much is waiting, or after this
# long (a quarter second: a few transactions for many events, and four fetches a second idle).
BATCH_FETCH_MIN_BYTES = 1 << 20
BATCH_FETCH_WAIT_MS = 250

Duration = Annotated[timedelta, BeforeValidator(_duration)]
"""A setting's type for a length of time, given in seconds or as ISO 8601."""


SYSTEM_DATABASE = "marketplace"
# Where `make up` keeps the local system (deploy/local/claim.sh): its file `database` names
# the database the system was started on.
SYSTEM_DIR = Path(__file__).resolve().parents[3] / ".run" / "system"


def local_database_url(service: str) -> str:
    """A service's default database: the local system's on 127.0.0.1, as the service's role:
    `MP_DB`, else the database this checkout's `make up` started the system on, else
    `marketplace`. `make up` hands the services socket URLs of the same database; the CLIs
    run from a shell find it by this default."""
    db = os.environ.get("MP_DB") or _started_on() or SYSTEM_DATABASE
    return f"postgresql://{service}_svc:{service}_svc@127.0.0.1:5432/{db}"


def _started_on() -> str | None:
    system = Path(os.environ.get("MP_SYSTEM_DIR") or SYSTEM_DIR)
    try:
        name = (system / "database").read_text().strip()
    except OSError:
        return None
    return name or None


class ServiceSettings(BaseSettings):
    database_url: str
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    kafka_bootstrap: str = Field(
        default="127.0.0.1:9092", validation_alias=AliasChoices("KAFKA_BOOTSTRAP")
    )
    consumer_max_attempts: int = Field(default=5, ge=1)
    consumer_backoff_base: float = Field(default=0.2, gt=0)
    # Records fetched per poll at most.
    consumer_batch_size: int = Field(default=500, ge=1)
    # How long the consumer loop waits for records before it looks at commits, paused
    # partitions and stop. Records wake it at once (aiokafka's fetch waiter), and a finished
    # unit dispatches the next itself, so this adds no latency to a saga hop. At 20 ms the idle
    # loop was half of every service's idle CPU (finance: 22.7 -> 11.3 ms/s at 200).
    consumer_poll_ms: int = Field(default=200, ge=1)
    # Units of work (each on its own pooled connection) in flight at once, across keys. Eight
    # keep two cores busy while a few wait on the payment provider; the pool is sized from it.
    consumer_concurrency: int = Field(default=8, ge=1)
    # Besides those, events with a step of their own (a payment-provider call) in flight at
    # once: they hold a connection only for the short transaction after the call, so many may
    # wait on the provider together (at 50 checkouts/s payments has ~100 calls/s to make).
    consumer_step_concurrency: int = Field(default=32, ge=1)
    # A partition with this many records fetched and not finished is paused until half are.
    consumer_max_buffered: int = Field(default=1000, ge=1)
    # Offsets are committed this often (and on revocation and shutdown).
    consumer_commit_ms: int = Field(default=500, ge=10)
    # How the broker batches what it hands the consumer: a fetch answers once this many bytes
    # are waiting, or after this long. The defaults answer at once (a saga hop waits for no
    # batch). A service off the checkout's path sets a batch (finance, disputes, ops): at 10
    # checkouts/s it otherwise fetched and committed each event alone, one transaction each,
    # and every fetch is broker CPU.
    consumer_fetch_min_bytes: int = Field(default=1, ge=1)
    consumer_fetch_wait_ms: int = Field(default=500, ge=1)
    # A service with topics on the checkout's path reads its other topics by a second consumer
    # that takes batches like a service off the path (eventkit.runtime.ServiceRuntime.
    # prompt_topics), with this many units at once: at 35 checkouts/s finance's events were
    # more than half of what booking and payments fetched, each in a fetch of its own.
    consumer_batch_fetch_min_bytes: int = Field(default=BATCH_FETCH_MIN_BYTES, ge=1)
    consumer_batch_fetch_wait_ms: int = Field(default=BATCH_FETCH_WAIT_MS, ge=1)
    consumer_batch_concurrency: int = Field(default=2, ge=1)
    # Static membership of the consumer group (Kafka's group.instance.id), off when empty: an
    # instance started again after a crash takes back its partitions at once instead of after
    # the dead member's session (10 s). Unique per instance (a host name, a pod's name); the
    # HTTP port and the consumer's role are added to it. A stopped instance's partitions then
    # wait for it (or its session's end), so a scaled-down instance should not keep one.
    consumer_instance_id: str = Field(default="", max_length=200, pattern=r"^[A-Za-z0-9._-]*$")
    relay_batch_size: int = Field(default=2000, ge=1)
    # The cyclic garbage collector's first threshold (allocations between young collections;
    # Python's default is 700). Once started, the service also freezes what it has built
    # (modules, the app, pools) out of the collector's reach: eventkit.heap.
    gc_young_threshold: int = Field(default=50_000, ge=0)
    log_level: str = "INFO"
    # Verifies the bearer tokens of the service's API (docs/security.md); the development default
    # is the gateway's too, so `python -m booking token --role ...` tokens work everywhere.
    jwt_secret: str = Field(default=DEV_JWT_SECRET, min_length=32)

    def consumer_instance(self, client_id: str) -> str | None:
        """A consumer's static membership (`consumer_instance_id`; unset: none): the setting,
        the HTTP port (two instances on one host differ in it) and the consumer's role."""
        given = self.consumer_instance_id
        return f"{given}-{self.http_port}-{client_id}" if given else None


class OffPathSettings(ServiceSettings):
    """A service off the checkout's path (finance, disputes, ops)."""

    # Take events in batches of a quarter second, a few transactions for many events, instead
    # of one fetch and one transaction each.
    consumer_fetch_min_bytes: int = Field(default=BATCH_FETCH_MIN_BYTES, ge=1)
    consumer_fetch_wait_ms: int = Field(default=BATCH_FETCH_WAIT_MS, ge=1)


class FollowedClockSettings(BaseSettings):
    """A service whose durable timers run on a clock it may follow (finance, disputes)."""

    scheduler_poll_seconds: float = Field(default=1.0, gt=0)
    # Empty: the system clock. `make up` follows the Stripe simulator's clock
    # (http://127.0.0.1:12111/_sim/clock), so moving simulated time moves the service's.
    clock_url: str = ""
    clock_refresh_seconds: float = Field(default=1.0, gt=0)
