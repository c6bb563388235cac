"""Business counters count committed work only (eventkit.unit_of_work): a transaction that
rolls back counts nothing, one retried after a rollback counts once."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY

from eventkit import unit_of_work
from payments import metrics as payments_metrics
from tests.conftest import create_topic
from tests.support import ping_model, wait_for
from tests.support.consumer_harness import Harness

pytestmark = pytest.mark.integration


def charges(decline_code: str) -> float:
    labels = {"payment_method": "card", "outcome": "failed", "decline_code": decline_code}
    return REGISTRY.get_sample_value("payments_charge_attempts_total", labels) or 0.0


def count_a_charge(tag: str) -> None:
    payments_metrics.charge_attempted("card", "failed", tag)


async def test_a_rolled_back_transaction_counts_nothing_and_a_committed_one_counts_once(
    booking_pool: asyncpg.Pool,
) -> None:
    tag = f"test_{uuid.uuid4().hex[:8]}"
    async with booking_pool.acquire() as conn:
        with pytest.raises(RuntimeError):
            async with unit_of_work.transaction(conn):
                await conn.execute("SELECT 1")
                count_a_charge(tag)
                assert charges(tag) == 0  # not before the commit
                raise RuntimeError("the handler fails after counting")
        assert charges(tag) == 0

        async with unit_of_work.transaction(conn):
            count_a_charge(tag)
            # A savepoint rolled back inside a committed transaction: its count is dropped;
            # a released one's waits for the outermost commit.
            with pytest.raises(RuntimeError):
                async with unit_of_work.transaction(conn):
                    count_a_charge(tag)
                    raise RuntimeError("the savepoint rolls back")
            async with unit_of_work.transaction(conn):
                count_a_charge(tag)
            assert charges(tag) == 0
        assert charges(tag) == 2


async def test_a_consumer_run_rolled_back_and_handled_again_counts_each_event_once(
    kafka_bootstrap: str, booking_pool: asyncpg.Pool, scratch_tables: Any
) -> None:
    topic = f"test.after_commit.{uuid.uuid4().hex[:8]}"
    await create_topic(kafka_bootstrap, topic, partitions=1)
    tag = f"test_{uuid.uuid4().hex[:8]}"
    failed_once: set[int] = set()

    async def count_then_fail_the_second_once(event: Any) -> None:
        # Counted inside the consumer's transaction, as payments counts a charge attempt.
        count_a_charge(tag)
        if event.seq == 2 and 2 not in failed_once:
            failed_once.add(2)
            raise RuntimeError("rolled back after counting")

    group = f"test-{uuid.uuid4().hex[:8]}"
    async with Harness(
        kafka_bootstrap,
        booking_pool,
        scratch_tables,
        ping_model(topic),
        group,
        before_apply=count_then_fail_the_second_once,
    ) as h:
        for seq in (1, 2, 3):
            await h.send(h.envelope(seq).to_bytes())

        async def settled() -> bool:
            return h.processor.outcomes["handled"] >= 3

        await wait_for(settled)
    assert h.calls > 3  # the handler ran again for work that was rolled back
    assert charges(tag) == 3
