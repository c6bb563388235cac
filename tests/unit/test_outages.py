"""Which errors are infrastructure outages (waited out, no attempt spent) and which are the
event's own failures."""

from __future__ import annotations

import asyncpg
import pytest
from aiokafka import errors as kafka_errors

from eventkit import db
from eventkit.outages import Backoff, is_conflict, is_outage
from eventkit.routing import PermanentError


def _wrapped(inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise RuntimeError("the handler gave up") from exc
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.CrashShutdownError("crash"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.InterfaceError(
            "cannot call Connection.fetchval(): connection has been released back to the pool"
        ),
        asyncpg.InterfaceError("cannot call Transaction.__aexit__(): connection is closed"),
        asyncpg.InternalClientError(
            "cannot switch to state 12; another operation (2) is in progress"
        ),
        asyncpg.InternalClientError('cannot switch to state 14; protocol is in the "failed" state'),
        ConnectionRefusedError(111, "Connect call failed"),
        OSError("Network is unreachable"),
        kafka_errors.KafkaConnectionError("Unable to bootstrap"),
        kafka_errors.KafkaTimeoutError(),
        kafka_errors.NodeNotReadyError(),
        kafka_errors.NotLeaderForPartitionError(),
    ],
    ids=lambda e: type(e).__name__,
)
def test_infrastructure_errors_are_outages_even_when_wrapped(error: BaseException) -> None:
    assert is_outage(error)
    assert is_outage(_wrapped(error))


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("handler cannot process"),
        PermanentError("unknown booking"),
        ValueError("badly formed hexadecimal UUID string"),
        asyncpg.UniqueViolationError("duplicate key"),
        asyncpg.InterfaceError("the server expects 2 arguments, 1 was passed"),
        asyncpg.InternalClientError("unexpected codec error"),
        asyncpg.QueryCanceledError("canceling statement due to statement timeout"),
        kafka_errors.MessageSizeTooLargeError(),
        TimeoutError("a handler that always times out"),
        FileNotFoundError(2, "No such file or directory"),  # a bug: waiting will not help
        PermissionError(13, "Permission denied"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_failures_of_the_event_itself_are_not_outages(error: BaseException) -> None:
    assert not is_outage(error)


async def test_a_missing_postgres_socket_is_an_outage_for_a_connection_and_a_pool(
    tmp_path: pytest.TempPathFactory,
) -> None:
    """A stopped or restarting cluster has no socket file: asyncpg raises a bare
    FileNotFoundError, which alone reads as a bug (above). Where eventkit connects, it is an
    outage, and consumers wait it out instead of dead-lettering the event."""
    url = f"postgresql://booking_svc@/marketplace?host={tmp_path}"  # a directory, no socket
    with pytest.raises(db.DatabaseUnreachable) as connecting:
        await db.connect(url)
    assert is_outage(connecting.value)
    assert isinstance(connecting.value.__cause__, FileNotFoundError)
    pool = await db.create_pool(url, min_size=0, max_size=1)
    try:
        with pytest.raises(db.DatabaseUnreachable) as acquiring:
            async with pool.acquire():
                pass
        assert is_outage(acquiring.value)
    finally:
        await pool.close()


def test_deadlocks_and_serialization_failures_are_conflicts_not_outages() -> None:
    for error in (asyncpg.DeadlockDetectedError("deadlock"), asyncpg.SerializationError("x")):
        assert is_conflict(error) and is_conflict(_wrapped(error))
        assert not is_outage(error)
    assert not is_conflict(RuntimeError("no"))


def test_backoff_grows_and_is_capped() -> None:
    backoff = Backoff(base=0.1, cap=5.0)
    delays = [backoff.next_delay() for _ in range(12)]
    assert delays[0] <= 0.1 < delays[3]
    assert max(delays) <= 5.0 and delays[-1] >= 4.0
    backoff.reset()
    assert backoff.next_delay() <= 0.1


async def test_a_stripe_call_that_never_reached_stripe_is_an_outage() -> None:
    import stripe

    from tests.support import free_port

    client = stripe.StripeClient(
        "sk_test_unreachable",
        base_addresses={"api": f"http://127.0.0.1:{free_port()}"},  # nothing listens there
        http_client=stripe.HTTPXClient(),
        max_network_retries=0,
    )
    with pytest.raises(stripe.APIConnectionError) as raised:
        await client.v1.customers.create_async(params={})
    assert is_outage(raised.value)
