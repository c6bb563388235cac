"""Consumer throughput: N envelopes on Kafka → KeyedConsumer → MessageProcessor.

    python bench/consumer_bench.py [-n 20000] [--keys 1000] [--max-records 500]
                                   [--concurrency 8] [--profile] [--traced [SAMPLED]]

N envelopes are produced to `bench.consumer` first. Then the timer starts, an
`eventkit.keyed_consumer.KeyedConsumer` (concurrent by key) is started with an
`eventkit.consumer.MessageProcessor` (inbox `booking.bench_inbox`), and the timer stops when
`processor.outcomes["handled"] == N`. Each event is one transaction: the inbox claim plus a row
inserted into `booking.bench_effects`. Scratch tables are dropped at the end.

The router's service name (= consumer group and dead-letter topic `<service>.dlt`) is
`bench`, not `booking`: joining the live `booking` group of a running system would rebalance
its consumers and mix the benchmark's offsets into its group.

`--traced` traces every event as the services do (a CONSUMER span per record, child of the
`traceparent` header each record then carries, SAMPLED of them sampled; bench/_tracing.py): run
it without and with to see what tracing costs.

Target: >= 1,000 events/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from typing import Any, ClassVar

import asyncpg
from _common import (
    SCHEMA,
    BenchEvent,
    BenchResult,
    Profiler,
    Progress,
    Unavailable,
    check_table,
    connect_db,
    database_url,
    describe_db,
    ensure_topics,
    kafka_bootstrap,
    redact,
    run_main,
    say,
)
from _tracing import start_tracing, traceparent_header
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from eventkit.consumer import MessageProcessor
from eventkit.db import create_pool, plain_dsn
from eventkit.dead_letters import DeadLetters
from eventkit.keyed_consumer import KeyedConsumer
from eventkit.producer import durable_producer
from eventkit.routing import EventRouter
from marketplace_contracts import Envelope, dead_letter_topic, make_envelope

SERVICE = "bench"
TOPIC = "bench.consumer"
PARTITIONS = 6
INBOX = "bench_inbox"
EFFECTS = f"{SCHEMA}.bench_effects"
TARGET = 1_000.0


class BenchConsumedEvent(BenchEvent):
    TYPE: ClassVar[str] = "bench.thing_consumed"
    TOPIC: ClassVar[str] = TOPIC


INSERT_EFFECT = (
    f"INSERT INTO {EFFECTS} (event_id, key, seq, amount, currency) VALUES ($1, $2, $3, $4, $5)"
)


async def apply_event(
    conn: asyncpg.Connection, envelope: Envelope, event: BenchConsumedEvent, prepared: Any
) -> None:
    """The handler's state change: one small row, in the inbox claim's transaction."""
    await conn.execute(
        INSERT_EFFECT, envelope.event_id, event.key, event.seq, event.amount, event.currency
    )


async def create_scratch_tables(conn: asyncpg.Connection) -> None:
    await check_table(conn, f"{SCHEMA}.inbox")
    await drop_scratch_tables(conn)
    await conn.execute(f"CREATE TABLE {SCHEMA}.{INBOX} (LIKE {SCHEMA}.inbox INCLUDING ALL)")
    await conn.execute(
        f"""CREATE TABLE {EFFECTS} (
            event_id   uuid PRIMARY KEY,
            key        text NOT NULL,
            seq        integer NOT NULL,
            amount     bigint NOT NULL,
            currency   text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )"""
    )


async def drop_scratch_tables(conn: asyncpg.Connection) -> None:
    await conn.execute(f"DROP TABLE IF EXISTS {SCHEMA}.{INBOX}")
    await conn.execute(f"DROP TABLE IF EXISTS {EFFECTS}")


async def start_producer(bootstrap: str) -> AIOKafkaProducer:
    producer = durable_producer(bootstrap, client_id="bench-consumer-producer")
    try:
        await asyncio.wait_for(producer.start(), timeout=15)
    except (KafkaError, OSError, TimeoutError) as exc:
        await producer.stop()
        raise Unavailable(f"Kafka producer cannot start against {bootstrap}: {exc!r}") from exc
    return producer


async def skip_backlog(bootstrap: str, producer: AIOKafkaProducer) -> None:
    """Commit the topic's end offsets for the group: the run consumes only what it produces."""
    partitions = sorted(await producer.partitions_for(TOPIC))
    tps = [TopicPartition(TOPIC, p) for p in partitions]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=SERVICE, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        await consumer.commit(dict(ends))
    finally:
        await consumer.stop()


async def produce(
    producer: AIOKafkaProducer, n: int, keys: int, payload_bytes: int, traced: float | None = None
) -> float:
    key_ids = [str(uuid.uuid4()) for _ in range(keys)]
    note = "x" * payload_bytes
    t = time.perf_counter()
    pending = []
    for i in range(n):
        key = key_ids[i % keys]
        event = BenchConsumedEvent(
            key=key, seq=i // keys, amount=4500 + i, currency="usd", note=note
        )
        envelope = make_envelope(event, key=key, producer="bench", correlation_id=uuid.uuid4())
        headers = [
            ("event_type", event.TYPE.encode()),
            ("event_id", str(envelope.event_id).encode()),
            ("content-type", b"application/json"),
            *([traceparent_header(traced)] if traced is not None else []),
        ]
        pending.append(
            await producer.send(TOPIC, envelope.to_bytes(), key=key.encode(), headers=headers)
        )
        if len(pending) >= 2_000:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)
    return time.perf_counter() - t


async def bench(args: argparse.Namespace) -> BenchResult:
    dsn = plain_dsn(database_url())
    bootstrap = kafka_bootstrap()
    n = args.n
    say(
        f"consumer bench: N={n} keys={args.keys} max_records={args.max_records} "
        f"concurrency={args.concurrency} "
        f"db={redact(dsn)} kafka={bootstrap}"
    )
    conn = await connect_db(dsn)
    try:
        say(f"  {await describe_db(conn)}")
        await ensure_topics(bootstrap, {TOPIC: PARTITIONS, dead_letter_topic(SERVICE): 1})
        producer = await start_producer(bootstrap)
        try:
            await create_scratch_tables(conn)
            return await _measure(args, dsn, bootstrap, conn, producer)
        finally:
            await producer.stop()
            await drop_scratch_tables(conn)
    finally:
        await conn.close()


async def _measure(
    args: argparse.Namespace,
    dsn: str,
    bootstrap: str,
    conn: asyncpg.Connection,
    producer: AIOKafkaProducer,
) -> BenchResult:
    n = args.n
    await skip_backlog(bootstrap, producer)
    produced = await produce(producer, n, args.keys, args.payload_bytes, args.traced)
    exporter = start_tracing(SERVICE) if args.traced is not None else None
    say(f"  produced {n} envelopes to {TOPIC} in {produced:.2f}s")

    pool = await create_pool(dsn, min_size=2, max_size=args.concurrency + 2)
    router = EventRouter(SERVICE)
    router.add(BenchConsumedEvent, apply_event)
    processor = MessageProcessor(
        pool, SCHEMA, router, DeadLetters(producer, SERVICE), inbox_table=INBOX
    )
    consumer = KeyedConsumer(
        bootstrap,
        [TOPIC],
        SERVICE,
        processor,
        concurrency=args.concurrency,
        max_records=args.max_records,
        client_id="bench-consumer",
    )
    stop = asyncio.Event()
    outcomes = processor.outcomes
    profiler = Profiler(args.profile)
    progress = Progress("handled", n)
    first_at: float | None = None
    t0 = time.perf_counter()
    cpu0 = time.process_time()  # this process's CPU (all threads): less at the mercy of others'
    profiler.start()
    try:
        task = asyncio.create_task(consumer.run(stop))
        while outcomes["handled"] < n:
            if first_at is None and outcomes["handled"]:
                first_at = time.perf_counter()
            if time.perf_counter() - t0 > args.timeout:
                raise RuntimeError(f"timeout: outcomes {dict(outcomes)} after {args.timeout}s")
            if sum(outcomes.values()) >= n:
                break  # everything processed, some not as "handled": reported below
            progress.maybe(outcomes["handled"], lambda: str(dict(outcomes)))
            await asyncio.sleep(0.002)
        elapsed = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
    finally:
        profiler.stop()
        stop.set()
        await task
        await pool.close()
    handled = outcomes["handled"]
    rate = handled / elapsed
    steady = elapsed - ((first_at or t0) - t0)
    effects = await conn.fetchval(f"SELECT count(*) FROM {EFFECTS}")
    inbox = await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.{INBOX}")
    say(
        f"  consumer: {handled} events handled in {elapsed:.2f}s = {rate:,.0f} events/s "
        f"(first event after {elapsed - steady:.2f}s; after it {handled / steady:,.0f}/s; "
        f"load average {os.getloadavg()[0]:.1f}; {cpu / max(handled, 1) * 1e6:.0f} us CPU/event); "
        f"outcomes={dict(outcomes)}, effect rows={effects}, inbox rows={inbox}"
        + (
            f"; traced ({args.traced:.0%} sampled): {exporter.flush()} spans exported"
            if exporter
            else "; not traced"
        )
    )
    profiler.report()
    ok = handled == n and effects == n and inbox == n
    return BenchResult(
        name="consumer",
        status="ok" if ok else "failed",
        figure=rate,
        unit="events/s",
        target=f">= {TARGET:,.0f} events/s",
        met=rate >= TARGET,
        message=f"{rate:,.0f} events/s over {n} events"
        + ("" if ok else f"; INCOMPLETE outcomes={dict(outcomes)} effects={effects}"),
        details={
            "n": n,
            "elapsed_s": round(elapsed, 3),
            "startup_s": round(elapsed - steady, 3),
            "steady_events_per_s": round(handled / steady),
            "load_average": round(os.getloadavg()[0], 2),
            "outcomes": dict(outcomes),
        },
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=20_000, help="envelopes to consume (default 20000)")
    p.add_argument("--keys", type=int, default=1_000, help="distinct message keys (default 1000)")
    p.add_argument(
        "--max-records", type=int, default=500, help="subscriber batch size (default 500)"
    )
    p.add_argument("--concurrency", type=int, default=8, help="units in flight at once (default 8)")
    p.add_argument(
        "--payload-bytes", type=int, default=300, help="padding per event payload (default 300)"
    )
    p.add_argument("--timeout", type=float, default=180.0, help="give up after this many seconds")
    p.add_argument(
        "--traced",
        type=float,
        nargs="?",
        const=1.0,
        metavar="SAMPLED",
        help="trace every event as the services do; SAMPLED: the fraction of sampled traces "
        "(default 1)",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="profile the consumer while it runs (pyinstrument if installed, else cProfile)",
    )
    return p


def run(args: argparse.Namespace) -> BenchResult:
    return asyncio.run(bench(args))


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return run_main(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
