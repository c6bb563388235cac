"""Outbox relay throughput: N committed outbox rows → Kafka, timed until all are marked published.

    python bench/relay_bench.py [-n 20000] [--keys 1000] [--batch-size 2000] [--profile]

Rows go into the scratch table `booking.bench_outbox` (a copy of `booking.outbox` with its own
id sequence and no NOTIFY trigger, dropped at the end) with COPY, then
`eventkit.relay.OutboxRelay` drains that backlog: timed from its start (connect, advisory lock,
topic metadata) until every row is marked published. A plain consumer then reads the topic
`bench.relay` back and checks that exactly the N event ids arrived and that every key's
sequence numbers arrived in order with no gap or duplicate.

Target: >= 5,000 events/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from dataclasses import dataclass, field

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
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from eventkit.db import plain_dsn
from eventkit.producer import durable_producer
from eventkit.relay import OutboxRelay
from marketplace_contracts import make_envelope

TOPIC = BenchEvent.TOPIC
PARTITIONS = 6
TABLE = "bench_outbox"
QUALIFIED = f"{SCHEMA}.{TABLE}"
# Its own NOTIFY channel, so a live booking relay on the same database never wakes for it.
CHANNEL = f"{SCHEMA}_{TABLE}"
TARGET = 5_000.0
COLUMNS = ["event_id", "topic", "key", "event_type", "payload"]

Row = tuple[uuid.UUID, str, str, str, bytes]


@dataclass
class Expected:
    rows: list[Row] = field(default_factory=list)
    event_ids: set[str] = field(default_factory=set)
    per_key: dict[str, int] = field(default_factory=dict)  # key -> number of events


def build_rows(n: int, keys: int, payload_bytes: int) -> Expected:
    """N envelopes over `keys` aggregates, interleaved, so id order = per-key sequence order."""
    key_ids = [str(uuid.uuid4()) for _ in range(keys)]
    correlation = [uuid.uuid4() for _ in range(keys)]
    note = "x" * payload_bytes
    expected = Expected()
    for i in range(n):
        k = i % keys
        key = key_ids[k]
        event = BenchEvent(key=key, seq=i // keys, amount=4500 + i, currency="usd", note=note)
        envelope = make_envelope(event, key=key, producer="bench", correlation_id=correlation[k])
        expected.rows.append((envelope.event_id, TOPIC, key, event.TYPE, envelope.to_bytes()))
        expected.event_ids.add(str(envelope.event_id))
        expected.per_key[key] = expected.per_key.get(key, 0) + 1
    return expected


async def create_scratch_table(conn: asyncpg.Connection) -> None:
    await check_table(conn, f"{SCHEMA}.outbox")
    await drop_scratch_table(conn)
    await conn.execute(f"CREATE TABLE {QUALIFIED} (LIKE {SCHEMA}.outbox INCLUDING ALL)")
    # LIKE copies the id default, i.e. nextval() of the real outbox's sequence: use our own.
    await conn.execute(f"CREATE SEQUENCE {QUALIFIED}_id_seq OWNED BY {QUALIFIED}.id")
    await conn.execute(
        f"ALTER TABLE {QUALIFIED} ALTER COLUMN id SET DEFAULT nextval('{QUALIFIED}_id_seq')"
    )


async def drop_scratch_table(conn: asyncpg.Connection) -> None:
    await conn.execute(f"DROP TABLE IF EXISTS {QUALIFIED}")
    await conn.execute(f"DROP SEQUENCE IF EXISTS {QUALIFIED}_id_seq")


async def start_producer(bootstrap: str) -> AIOKafkaProducer:
    producer = durable_producer(bootstrap, client_id="bench-relay")
    try:
        await asyncio.wait_for(producer.start(), timeout=15)
    except (KafkaError, OSError, TimeoutError) as exc:
        await producer.stop()
        raise Unavailable(f"Kafka producer cannot start against {bootstrap}: {exc!r}") from exc
    return producer


async def end_offsets(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition]
) -> dict[TopicPartition, int]:
    return dict(await consumer.end_offsets(tps))


async def verify(
    consumer: AIOKafkaConsumer, start: dict[TopicPartition, int], expected: Expected
) -> dict[str, object]:
    """Read back what the relay wrote after `start`; check ids and per-key order."""
    stop_at = await end_offsets(consumer, list(start))
    consumer.assign(list(stop_at))
    for tp in stop_at:
        consumer.seek(tp, start.get(tp, 0))
    seen: list[str] = []
    last_seq: dict[str, int] = {}
    key_partition: dict[str, int] = {}
    order_violations = 0
    split_keys = 0
    deadline = time.monotonic() + 60
    pending = {tp for tp, end in stop_at.items() if end > start.get(tp, 0)}
    while pending and time.monotonic() < deadline:
        batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
        for tp, records in batches.items():
            for record in records:
                if record.offset >= stop_at[tp]:
                    continue
                body = json.loads(record.value or b"{}")
                key, seq = body["key"], body["data"]["seq"]
                seen.append(body["event_id"])
                if last_seq.get(key, -1) + 1 != seq:
                    order_violations += 1
                last_seq[key] = seq
                if key_partition.setdefault(key, tp.partition) != tp.partition:
                    split_keys += 1
            if await consumer.position(tp) >= stop_at[tp]:
                pending.discard(tp)
    distinct = set(seen)
    incomplete_keys = sum(
        1 for key, count in expected.per_key.items() if last_seq.get(key, -1) + 1 != count
    )
    return {
        "records_read": len(seen),
        "distinct_event_ids": len(distinct),
        "missing_event_ids": len(expected.event_ids - distinct),
        "unexpected_event_ids": len(distinct - expected.event_ids),
        "duplicates": len(seen) - len(distinct),
        "per_key_order_violations": order_violations,
        "keys_incomplete": incomplete_keys,
        "keys_split_across_partitions": split_keys,
        "read_back_complete": not pending,
    }


async def bench(args: argparse.Namespace) -> BenchResult:
    dsn = plain_dsn(database_url())
    bootstrap = kafka_bootstrap()
    n = args.n
    say(
        f"relay bench: N={n} keys={args.keys} batch_size={args.batch_size} "
        f"db={redact(dsn)} kafka={bootstrap}"
    )
    conn = await connect_db(dsn)
    try:
        say(f"  {await describe_db(conn)}")
        await ensure_topics(bootstrap, {TOPIC: PARTITIONS})
        producer = await start_producer(bootstrap)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=None,
            enable_auto_commit=False,
            client_id="bench-relay-verify",
        )
        await consumer.start()
        try:
            await create_scratch_table(conn)
            return await _measure(args, dsn, conn, producer, consumer)
        finally:
            await consumer.stop()
            await producer.stop()
            await drop_scratch_table(conn)
    finally:
        await conn.close()


async def _measure(
    args: argparse.Namespace,
    dsn: str,
    conn: asyncpg.Connection,
    producer: AIOKafkaProducer,
    consumer: AIOKafkaConsumer,
) -> BenchResult:
    n = args.n
    t = time.perf_counter()
    expected = build_rows(n, args.keys, args.payload_bytes)
    built = time.perf_counter() - t
    avg_bytes = sum(len(r[4]) for r in expected.rows) / n
    t = time.perf_counter()
    await conn.copy_records_to_table(
        TABLE, schema_name=SCHEMA, columns=COLUMNS, records=expected.rows
    )
    copied = time.perf_counter() - t
    await conn.execute(f"ANALYZE {QUALIFIED}")
    say(
        f"  built {n} envelopes in {built:.2f}s (avg {avg_bytes:.0f} B), "
        f"COPY into {QUALIFIED} in {copied:.2f}s"
    )
    tps = [TopicPartition(TOPIC, p) for p in sorted(await producer.partitions_for(TOPIC))]
    start = await end_offsets(consumer, tps)

    relay = OutboxRelay(
        dsn, SCHEMA, producer, batch_size=args.batch_size, table=TABLE, channel=CHANNEL
    )
    stop = asyncio.Event()
    profiler = Profiler(args.profile)
    progress = Progress("published", n)
    first_at: float | None = None
    t0 = time.perf_counter()
    profiler.start()
    task = asyncio.create_task(relay.run(stop), name="bench-relay")
    try:
        while relay.stats.published < n:
            if task.done():
                task.result()  # raises what killed the relay
                raise RuntimeError("relay stopped before publishing every row")
            if relay.stats.last_error and relay.stats.failed_batches:
                say(f"  relay error: {relay.stats.last_error}")
            if first_at is None and relay.stats.published:
                first_at = time.perf_counter()
            if time.perf_counter() - t0 > args.timeout:
                raise RuntimeError(
                    f"timeout: {relay.stats.published}/{n} published after {args.timeout}s"
                )
            progress.maybe(relay.stats.published, lambda: f"rounds={relay.stats.rounds}")
            await asyncio.sleep(0.002)
        elapsed = time.perf_counter() - t0
    finally:
        profiler.stop()
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    unpublished = await conn.fetchval(
        f"SELECT count(*) FROM {QUALIFIED} WHERE published_at IS NULL"
    )
    rate = n / elapsed
    publishing = elapsed - ((first_at or t0) - t0)
    stats = relay.stats
    say(
        f"  relay: {n} events in {elapsed:.2f}s = {rate:,.0f} events/s "
        f"(startup {elapsed - publishing:.2f}s; rounds={stats.rounds}, "
        f"failed_batches={stats.failed_batches}, unpublished rows left={unpublished})"
    )
    profiler.report()

    say("  verifying with a consumer ...")
    check = await verify(consumer, start, expected)
    say("  verify: " + ", ".join(f"{k}={v}" for k, v in check.items()))
    ok = (
        check["distinct_event_ids"] == n
        and check["missing_event_ids"] == 0
        and check["unexpected_event_ids"] == 0
        and check["per_key_order_violations"] == 0
        and check["keys_incomplete"] == 0
        and unpublished == 0
    )
    return BenchResult(
        name="relay",
        status="ok" if ok else "failed",
        figure=rate,
        unit="events/s",
        target=f">= {TARGET:,.0f} events/s",
        met=rate >= TARGET,
        message=(
            f"{rate:,.0f} events/s over {n} rows"
            + ("" if ok else "; VERIFICATION FAILED (see verify line)")
        ),
        details={
            "n": n,
            "elapsed_s": round(elapsed, 3),
            "rounds": stats.rounds,
            "avg_payload_bytes": round(avg_bytes),
            **check,
        },
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=20_000, help="outbox rows to relay (default 20000)")
    p.add_argument("--keys", type=int, default=1_000, help="distinct message keys (default 1000)")
    p.add_argument("--batch-size", type=int, default=2_000, help="relay batch_size (default 2000)")
    p.add_argument(
        "--payload-bytes", type=int, default=300, help="padding per event payload (default 300)"
    )
    p.add_argument("--timeout", type=float, default=120.0, help="give up after this many seconds")
    p.add_argument(
        "--profile",
        action="store_true",
        help="profile the relay while it runs (pyinstrument if installed, else cProfile)",
    )
    return p


def run(args: argparse.Namespace) -> BenchResult:
    return asyncio.run(bench(args))


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return run_main(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
