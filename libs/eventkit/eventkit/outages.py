"""Tell an infrastructure outage from a failure of the message, and wait outages out.

An event whose handler failed because Postgres restarted or the broker was away did nothing
wrong: spending its attempts (and dead-lettering it after a few seconds) loses work that would
have succeeded a moment later. Only failures that say something about the event itself count
as attempts; outages are waited out with a capped backoff, however long they last.
"""

from __future__ import annotations

import asyncio
import logging
import random

import asyncpg
from aiokafka import errors as kafka_errors

log = logging.getLogger("eventkit.outages")

_PG_OUTAGES: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,  # ConnectionDoesNotExistError, ConnectionFailureError, ...
    asyncpg.CannotConnectNowError,  # the server is starting up or shutting down
    asyncpg.AdminShutdownError,  # pg_terminate_backend, a fast shutdown
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)
# asyncpg says "connection has been released back to the pool" (a proxy whose connection was
# lost, then detached by the pool), "connection is closed" or "pool is closing" this way.
_INTERFACE_OUTAGE_WORDS = ("released back to the pool", "connection is closed", "pool is closing")
# A pooled connection broken in the middle of a statement by a restart leaves asyncpg's
# protocol in a state it cannot leave: "cannot switch to state 12; another operation (2) is in
# progress", "... protocol is in the \"failed\" state", or "not connected".
_PROTOCOL_OUTAGE_WORDS = ("cannot switch to state", "not connected")
_KAFKA_OUTAGES: tuple[type[BaseException], ...] = (
    kafka_errors.KafkaConnectionError,
    kafka_errors.KafkaTimeoutError,
    kafka_errors.NodeNotReadyError,
    kafka_errors.RequestTimedOutError,
)
_LOCAL_ERRORS: tuple[type[OSError], ...] = (
    FileNotFoundError,
    FileExistsError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
)
# Deadlocks and serialization failures: Postgres aborted this transaction so that another one
# could finish. Retrying always makes progress, and it is not the event's fault, so it costs no
# attempt; with handlers running concurrently by key they become routine, not exceptional.
_CONFLICTS: tuple[type[BaseException], ...] = (asyncpg.TransactionRollbackError,)


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and what it was raised from or during (handlers may wrap errors)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 8:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def is_outage(exc: BaseException) -> bool:
    """Postgres or Kafka is unreachable, or the connection in hand broke."""
    for cause in _causes(exc):
        if isinstance(cause, (*_PG_OUTAGES, *_KAFKA_OUTAGES, ConnectionError)):
            return True
        if isinstance(cause, asyncpg.InterfaceError) and any(
            word in str(cause) for word in _INTERFACE_OUTAGE_WORDS
        ):
            return True
        if isinstance(cause, asyncpg.InternalClientError) and any(
            word in str(cause) for word in _PROTOCOL_OUTAGE_WORDS
        ):
            return True
        if isinstance(cause, kafka_errors.KafkaError) and cause.retriable:
            return True
        # OSError covers refused and reset sockets; asyncpg's own errors are not OSErrors, so
        # a constraint violation never lands here. A bare TimeoutError (also an OSError) says
        # nothing certain: a handler that always times out must reach its dead letter. Nor
        # does a file that is missing or not ours: a bug, not an outage.
        if isinstance(cause, OSError) and not isinstance(cause, (TimeoutError, *_LOCAL_ERRORS)):
            return True
    return False


def is_conflict(exc: BaseException) -> bool:
    """A deadlock or serialization failure: retry at once, without spending an attempt."""
    return any(isinstance(cause, _CONFLICTS) for cause in _causes(exc))


class Backoff:
    """Exponential backoff with jitter, capped: 0.1 s, 0.2 s, ... up to `cap` seconds."""

    def __init__(self, base: float = 0.1, cap: float = 5.0) -> None:
        self.base = base
        self.cap = cap
        self.failures = 0

    def next_delay(self) -> float:
        self.failures += 1
        delay = min(self.cap, self.base * 2 ** (self.failures - 1))
        return delay * random.uniform(0.8, 1.0)  # jitter: consumers must not retry in lockstep

    async def sleep(self, what: str, exc: BaseException) -> None:
        delay = self.next_delay()
        # The first of a run of failures is worth a warning; the rest would flood the log.
        level = (
            logging.WARNING
            if self.failures in (1, 10) or self.failures % 60 == 0
            else logging.DEBUG
        )
        log.log(level, "%s: infrastructure unavailable (%r); retrying in %.1fs", what, exc, delay)
        await asyncio.sleep(delay)

    def reset(self) -> None:
        self.failures = 0
