"""The ops service as a process (`python -m ops serve`) on the test database and Kafka, and
helpers that publish events and dead letters as the other services would."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka.structs import ConsumerRecord

from eventkit.auth import DEV_JWT_SECRET, issue_token
from eventkit.dead_letters import DeadLetters
from eventkit.producer import durable_producer
from marketplace_contracts import Envelope
from tests.conftest import KAFKA, service_dsn
from tests.support import free_port, processes

ROOT = processes.ROOT


@dataclass
class Ops:
    url: str
    env: dict[str, str]

    def token(self, role: str, sub: str = "ana") -> str:
        return issue_token(DEV_JWT_SECRET, sub, role)

    def graphql(self, query: str, role: str = "admin", **variables: Any) -> dict[str, Any]:
        answer = httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {self.token(role)}"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body


@pytest.fixture(scope="package")
def ops(
    kafka_bootstrap: str, pg_ready: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Ops]:
    port = free_port()
    log = tmp_path_factory.mktemp("ops-logs") / "ops.log"
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP": KAFKA,
        "PYTHONPATH": str(ROOT),
        "OPS_DATABASE_URL": service_dsn("ops"),
        "OPS_HTTP_PORT": str(port),
        # A group of its own per run: the projection reads the test topics from the start.
        "OPS_PROJECTION_GROUP": f"ops-test-{uuid.uuid4().hex[:8]}",
        # Short limits so the detector's verdict is observable within a test.
        "OPS_STUCK_SCAN_SECONDS": "0.5",
        "OPS_STUCK_AFTER_OVERRIDES": "checkout=600,opsprobe=1",
    }
    url = f"http://127.0.0.1:{port}"
    with processes.serving(["-m", "ops", "serve"], env, log, url):
        yield Ops(url, env)


def envelope(
    type_: str,
    data: dict[str, Any],
    *,
    correlation_id: uuid.UUID,
    causation_id: uuid.UUID | None = None,
    at: datetime | None = None,
    key: str | None = None,
    producer: str | None = None,
) -> Envelope:
    """An event as `producer` would publish it. The tests use `test.*` types: no service routes
    them, and the suite's schema check of the shared topics skips them."""
    return Envelope(
        event_id=uuid.uuid4(),
        type=type_,
        version=1,
        occurred_at=at or datetime.now(UTC),
        producer=producer or type_.split(".")[0],
        key=key or next(iter(data.values())),
        correlation_id=correlation_id,
        causation_id=causation_id,
        data=data,
    )


async def publish(*envelopes: Envelope) -> None:
    """Each to its producer's topic, as that service's relay would."""
    producer = durable_producer(KAFKA, client_id="ops-test")
    await producer.start()
    try:
        for e in envelopes:
            await producer.send_and_wait(f"{e.producer}.events", e.to_bytes(), key=e.key.encode())
    finally:
        await producer.stop()


async def dead_letter(
    service: str, value: bytes, *, key: str, topic: str, error: Exception, attempts: int = 5
) -> None:
    """Dead-letter `value` as `service`'s consumer does (eventkit.dead_letters, same headers)."""
    producer = durable_producer(KAFKA, client_id="ops-test-dlt")
    await producer.start()
    try:
        record = ConsumerRecord(
            topic=topic, partition=0, offset=7, timestamp=0, timestamp_type=0,
            key=key.encode(), value=value, checksum=None, serialized_key_size=0,
            serialized_value_size=0, headers=[],
        )  # fmt: skip
        await DeadLetters(producer, service).send(record, error=error, attempts=attempts)
    finally:
        await producer.stop()


def ago(**kwargs: float) -> datetime:
    return datetime.now(UTC) - timedelta(**kwargs)
