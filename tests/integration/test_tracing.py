"""One trace from a span that writes an outbox row, through the relay and Kafka, to the consumer
that handles the record, on real PostgreSQL and Kafka, read from an in-memory exporter."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from pythonjsonlogger.json import JsonFormatter

from eventkit import logs, tracing
from eventkit.outbox import Outbox
from eventkit.producer import durable_producer
from eventkit.relay import OutboxRelay
from tests.conftest import create_topic, service_dsn
from tests.support import ping_model, read_topic, wait_for
from tests.support.consumer_harness import Harness

pytestmark = pytest.mark.integration

_EXPORTER = InMemorySpanExporter()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    # One provider per process (OpenTelemetry allows one): the exporter is added once.
    if not getattr(_EXPORTER, "installed", False):
        provider = tracing.setup_tracing("tests", SimpleSpanProcessor(_EXPORTER))
        assert provider is not None, "OTEL_SDK_DISABLED is set: these tests need the SDK"
        _EXPORTER.installed = True  # type: ignore[attr-defined]
    _EXPORTER.clear()
    yield _EXPORTER


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """JSON lines of the `test.handler` logger, formatted as the services format them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s"))
    handler.addFilter(logs.ContextFilter("booking"))
    logger = logging.getLogger("test.handler")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)


async def _relay_until_published(bootstrap: str, pool: asyncpg.Pool, table: str) -> None:
    producer = durable_producer(bootstrap, client_id="test-trace-relay")
    await producer.start()
    tag = table.removesuffix("_outbox")
    relay = OutboxRelay(
        service_dsn("booking"), "booking", producer, table=table, channel=f"{tag}_outbox"
    )
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))

    async def published() -> bool:
        query = f"SELECT count(*) FROM booking.{table} WHERE published_at IS NULL"
        return await pool.fetchval(query) == 0

    try:
        await wait_for(published)
    finally:
        stop.set()
        await task
        await producer.stop()


def _one(spans: list[ReadableSpan], kind: SpanKind, name_part: str) -> list[ReadableSpan]:
    return [s for s in spans if s.kind == kind and name_part in s.name]


@pytest.mark.parametrize("with_prepare", [False, True], ids=["shared-transaction", "own-step"])
async def test_consumer_span_is_a_child_of_the_relay_span_of_the_row_written_in_a_trace(
    kafka_bootstrap: str,
    booking_pool: asyncpg.Pool,
    scratch_tables: tuple[str, str, str],
    spans: InMemorySpanExporter,
    log_lines: io.StringIO,
    with_prepare: bool,
) -> None:
    outbox_table = scratch_tables[0]
    topic = f"test.trace.{uuid.uuid4().hex[:8]}"
    await create_topic(kafka_bootstrap, topic, partitions=2)
    model = ping_model(topic)
    outbox = Outbox("booking", producer="booking", table=outbox_table)
    correlation = uuid.uuid4()
    tracer = trace.get_tracer("tests")
    with tracer.start_as_current_span("POST /v1/bookings", kind=SpanKind.SERVER) as request:
        async with booking_pool.acquire() as conn, conn.transaction():
            for seq in range(3):
                await outbox.add(conn, model(key="k", seq=seq), key="k", correlation_id=correlation)
    await _untraced_row(booking_pool, outbox, model)
    trace_id = request.get_span_context().trace_id
    stored = await booking_pool.fetch(f"SELECT key, traceparent FROM booking.{outbox_table}")
    assert {r["traceparent"] is None for r in stored if r["key"] == "u"} == {True}
    assert {r["traceparent"].split("-")[1] for r in stored if r["key"] == "k"} == {
        trace.format_trace_id(trace_id)
    }

    await _relay_until_published(kafka_bootstrap, booking_pool, outbox_table)
    records = await read_topic(kafka_bootstrap, topic)
    headers = {r.offset: dict(r.headers) for r in records if r.key == b"k"}
    assert len(headers) == 3 and all(tracing.TRACEPARENT in h for h in headers.values())
    assert all(tracing.TRACEPARENT not in dict(r.headers) for r in records if r.key == b"u")

    async def log_in_handler(event: Any) -> None:
        logging.getLogger("test.handler").info("handling seq %s", event.seq)

    async with Harness(
        kafka_bootstrap,
        booking_pool,
        scratch_tables,
        model,
        group=f"test-{uuid.uuid4().hex[:8]}",
        with_prepare=with_prepare,
        before_apply=log_in_handler,
    ) as h:
        await wait_for(lambda: _count(h, 4))

    finished = list(spans.get_finished_spans())
    publishes = _one(finished, SpanKind.PRODUCER, f"publish {topic}")
    handles = _one(finished, SpanKind.CONSUMER, "handle test.ping")
    traced = [s for s in handles if s.context.trace_id == trace_id]
    assert len(publishes) == 3 and len(traced) == 3, [s.name for s in finished]
    # request → publish (per row) → handle (per record): one trace, parent by parent.
    assert {p.parent.span_id for p in publishes if p.parent} == {request.get_span_context().span_id}
    assert {h.parent.span_id for h in traced if h.parent} == {p.context.span_id for p in publishes}
    assert all(s.attributes and s.attributes["messaging.destination.name"] == topic for s in traced)
    # The row written outside any trace starts a trace of its own at the consumer.
    (alone,) = [s for s in handles if s.context.trace_id != trace_id]
    assert alone.parent is None

    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    mine = [line for line in lines if line.get("correlation_id") == str(correlation)]
    assert len(mine) == 3, lines
    assert {line["trace_id"] for line in mine} == {trace.format_trace_id(trace_id)}
    assert {line["service"] for line in mine} == {"booking"}


async def _untraced_row(pool: asyncpg.Pool, outbox: Outbox, model: Any) -> None:
    """A row written outside any span (a timer, a command): no traceparent is stored."""
    async with pool.acquire() as conn, conn.transaction():
        await outbox.add(conn, model(key="u", seq=0), key="u", correlation_id=uuid.uuid4())


async def _count(h: Harness, n: int) -> bool:
    return len(await h.effects()) == n


async def test_a_dead_lettered_record_keeps_its_traceparent_and_its_span_is_an_error(
    kafka_bootstrap: str,
    booking_pool: asyncpg.Pool,
    scratch_tables: tuple[str, str, str],
    spans: InMemorySpanExporter,
) -> None:
    topic = f"test.trace.dlt.{uuid.uuid4().hex[:8]}"
    await create_topic(kafka_bootstrap, topic, partitions=1)
    traceparent = f"00-{uuid.uuid4().hex}-{'e' * 16}-01"
    async with Harness(
        kafka_bootstrap,
        booking_pool,
        scratch_tables,
        ping_model(topic),
        group=f"test-{uuid.uuid4().hex[:8]}",
        max_attempts=2,
    ) as h:
        poison = h.envelope(1, fail="always")
        headers = [("event_type", b"test.ping"), ("traceparent", traceparent.encode())]
        await h.producer.send_and_wait(topic, poison.to_bytes(), key=b"k", headers=headers)

        async def dead_lettered() -> bool:
            return any(
                s.attributes and s.attributes.get("eventkit.outcome") == "dead_lettered"
                for s in spans.get_finished_spans()
            )

        await wait_for(dead_lettered)
    [dead] = [
        r
        for r in await read_topic(kafka_bootstrap, "booking.dlt")
        if dict(r.headers).get("dlt.original.topic") == topic.encode()
    ]
    # A replay writes the dead letter's headers (less dlt.*/replay.*) to the retry topic: the
    # replayed handling is a child of the same publish span, in the original trace.
    assert dict(dead.headers)["traceparent"] == traceparent.encode()
    # The shared-transaction attempt (failed, rolled back) and the one-by-one attempts that
    # dead-lettered it: both children of the record's header, both errors.
    handled = [s for s in spans.get_finished_spans() if s.name == "booking handle test.ping"]
    assert {f"{s.parent.span_id:016x}" for s in handled if s.parent} == {"e" * 16}
    assert {s.status.status_code.name for s in handled} == {"ERROR"}
    outcomes = [s.attributes.get("eventkit.outcome") for s in handled if s.attributes]
    assert outcomes.count("dead_lettered") == 1
