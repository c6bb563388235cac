"""Infrastructure restarts are not poison: a broken database connection or a killed broker is
waited out without spending an event's attempts, and nothing is dead-lettered because of it."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest

from tests.conftest import create_topic, service_dsn
from tests.support import ping_model, read_topic, wait_for
from tests.support.consumer_harness import Harness, committed_offset
from tests.support.poll import at_once, eventually
from tests.support.private_kafka import PrivateKafka

pytestmark = pytest.mark.integration


async def _dead_letters(bootstrap: str, topic: str) -> list[Any]:
    return [
        r
        for r in await read_topic(bootstrap, "booking.dlt")
        if dict(r.headers).get("dlt.original.topic") == topic.encode()
    ]


@pytest.mark.parametrize("with_prepare", [False, True], ids=["simple", "prepare"])
async def test_connections_terminated_mid_event_spend_no_attempt_and_dead_letter_nothing(
    kafka_bootstrap: str,
    booking_pool: asyncpg.Pool,
    scratch_tables: tuple[str, str, str],
    with_prepare: bool,
) -> None:
    topic = f"test.pgout.{uuid.uuid4().hex[:8]}"
    await create_topic(kafka_bootstrap, topic, partitions=1)
    # Only this pool's backends (own application_name, own test database) are terminated.
    app = f"ek-outage-{uuid.uuid4().hex[:8]}"
    pool = await asyncpg.create_pool(
        service_dsn("booking"), min_size=3, max_size=4, server_settings={"application_name": app}
    )
    assert pool is not None
    terminated = 0

    async def terminate_backends(event: Any) -> None:
        """Inside the handler's transaction: every backend of the consumer's pool goes away,
        as in a Postgres restart."""
        nonlocal terminated
        if event.seq == 1 and not terminated:
            terminated = await booking_pool.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = $1",
                app,
            )

    harness = Harness(
        kafka_bootstrap,
        pool,
        scratch_tables,
        ping_model(topic),
        f"test-{uuid.uuid4().hex[:8]}",
        max_attempts=1,  # a spent attempt would dead-letter at once
        before_apply=terminate_backends,
        with_prepare=with_prepare,
    )
    try:
        async with harness as h:
            for seq in range(3):
                await h.send(h.envelope(seq).to_bytes())
            # Read through a pool of the test's own: the consumer's is the one being broken
            # (asyncpg could fail the test's read on a connection terminated under it).
            await wait_for(lambda: _effects(h, 3, booking_pool))
            assert terminated >= 1
            assert sorted(r["seq"] for r in await h.effects(booking_pool)) == [0, 1, 2]
            assert h.processor.retries["outage"] >= 1
            assert h.processor.outcomes["dead_lettered"] == 0
            await wait_for(lambda: _committed(kafka_bootstrap, h.group, topic, 3))
        assert await _dead_letters(kafka_bootstrap, topic) == []
    finally:
        await pool.close()


async def test_a_broker_killed_and_restarted_is_waited_out_and_a_dead_letter_is_delayed_not_lost(
    pg_ready: None, booking_pool: asyncpg.Pool, scratch_tables: tuple[str, str, str]
) -> None:
    kafka = PrivateKafka("ek-outage")
    try:
        await asyncio.to_thread(kafka.start)
        topic = f"test.kafkaout.{uuid.uuid4().hex[:8]}"
        await create_topic(kafka.bootstrap, topic, partitions=1)
        await create_topic(kafka.bootstrap, "booking.dlt", partitions=1)
        poison_running, broker_down = asyncio.Event(), asyncio.Event()

        async def hold_poison(event: Any) -> None:
            if event.fail:
                poison_running.set()
                await broker_down.wait()

        harness = Harness(
            kafka.bootstrap,
            booking_pool,
            scratch_tables,
            ping_model(topic),
            f"test-{uuid.uuid4().hex[:8]}",
            max_attempts=2,
            before_apply=hold_poison,
            with_prepare=True,  # one event per transaction: seq 0 commits before the poison
        )
        async with harness as h:
            await h.send(h.envelope(0).to_bytes())
            await h.send(h.envelope(1, fail="always").to_bytes())
            await wait_for(lambda: _effects(h, 1), timeout=60)  # a new broker: slow first join
            await asyncio.wait_for(poison_running.wait(), timeout=30)

            await asyncio.to_thread(kafka.kill9)
            broker_down.set()  # the poison event fails now: its dead letter cannot be sent
            await wait_for(lambda: at_once(h.calls >= 1 + 2))  # seq 0, then both poison attempts
            await asyncio.to_thread(kafka.start)

            await _send_until_accepted(h, h.envelope(2).to_bytes())
            await wait_for(lambda: _effects(h, 2), timeout=90)
            await wait_for(lambda: _committed(kafka.bootstrap, h.group, topic, 3), timeout=60)
        assert sorted(r["seq"] for r in await h.effects()) == [0, 2]
        dead = await _dead_letters(kafka.bootstrap, topic)
        assert dead and {dict(r.headers)["dlt.original.offset"] for r in dead} == {b"1"}
    finally:
        await asyncio.to_thread(kafka.remove)


async def _send_until_accepted(h: Harness, value: bytes) -> None:
    """The test's own producer may need a moment to find the restarted broker."""

    async def sent() -> bool:
        try:
            await asyncio.wait_for(h.send(value), timeout=10)
        except Exception:
            return False
        return True

    await eventually(sent, timeout=300, interval=1, what="the restarted broker accepting a record")


async def _effects(h: Harness, n: int, pool: asyncpg.Pool | None = None) -> bool:
    return len(await h.effects(pool)) >= n


async def _committed(bootstrap: str, group: str, topic: str, offset: int) -> bool:
    return await committed_offset(bootstrap, group, topic) == offset
