"""Ops' timeline projection reports its consumer lag like every other consumer
(`eventkit_consumer_lag_messages`, group `OPS_PROJECTION_GROUP`)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord
from prometheus_client import REGISTRY

from eventkit import metrics_refresh
from eventkit.producer import durable_producer
from ops import bootstrap
from ops.config import OpsSettings
from ops.service_layer import projection as projection_module
from ops.service_layer.projection import Projection
from tests.conftest import create_topic
from tests.support import wait_for

pytestmark = pytest.mark.integration


async def test_the_projection_lag_is_reported_and_drains_to_zero(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A private topic instead of the catalogue's, so the test reads only its own records.
    topic = f"test.ops_lag.{uuid.uuid4().hex[:8]}"
    await create_topic(kafka_bootstrap, topic, partitions=1)
    monkeypatch.setattr(projection_module, "projected_topics", lambda: [topic])
    group = f"test-ops-{uuid.uuid4().hex[:8]}"
    runtime = bootstrap.build_runtime(
        OpsSettings(kafka_bootstrap=kafka_bootstrap, projection_group=group)
    )
    [projection] = runtime.lag_sources
    assert isinstance(projection, Projection)

    gate, recorded = asyncio.Event(), 0

    async def record_when_let(_: Any, records: Sequence[ConsumerRecord]) -> None:
        nonlocal recorded
        await gate.wait()  # the batch "in Postgres" only once the test says so
        recorded += len(records)

    monkeypatch.setattr(projection, "_record", record_when_let)
    producer = durable_producer(kafka_bootstrap, client_id="test")
    await producer.start()
    try:
        for n in range(5):
            await producer.send_and_wait(topic, f"record {n}".encode(), key=b"k")
    finally:
        await producer.stop()

    labels = {"service": "ops", "group": group, "topic": topic, "partition": "0"}

    async def lag() -> float | None:
        await metrics_refresh.refresh_lag(runtime)
        return REGISTRY.get_sample_value("eventkit_consumer_lag_messages", labels)

    stop = asyncio.Event()
    task = asyncio.create_task(projection.run(None, stop))  # type: ignore[arg-type]
    try:

        async def all_behind() -> bool:
            return await lag() == 5

        await wait_for(all_behind)
        gate.set()

        async def caught_up() -> bool:
            return await lag() == 0

        await wait_for(caught_up)
        assert recorded == 5
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
