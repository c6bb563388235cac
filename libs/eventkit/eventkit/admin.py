"""Ops CLI: create topics from the catalogue; inspect and replay dead letters.

    python -m eventkit.admin [--bootstrap HOST:PORT] create-topics
    python -m eventkit.admin [--bootstrap HOST:PORT] dlq list SERVICE [--limit N]
    python -m eventkit.admin [--bootstrap HOST:PORT] dlq replay SERVICE [--offset N ...] [--all]

The broker defaults to $KAFKA_BOOTSTRAP, else 127.0.0.1:9092.

Replay re-publishes the original bytes to the original topic (headers say it is a replay); the
consumer's inbox makes a replay of an event that did succeed meanwhile a no-op. Replayed offsets
are remembered in the consumer group `<service>.dlt-replay`, so a second `--all` does not
replay the same dead letter twice.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from eventkit.dead_letters import H_TOPIC
from eventkit.producer import durable_producer
from marketplace_contracts import CATALOGUE, dead_letter_topic

DEFAULT_BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092")


async def create_topics(bootstrap: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for name, t in CATALOGUE.items() if name not in existing]
        for topic in missing:
            try:
                await admin.create_topics(
                    [NewTopic(topic.name, topic.partitions, 1, topic_configs=topic.kafka_configs())]
                )
            except TopicAlreadyExistsError:
                pass
            print(f"created {topic.name} partitions={topic.partitions} {topic.kafka_configs()}")
        print(f"topics: {len(CATALOGUE) - len(missing)} existed, {len(missing)} created")
    finally:
        await admin.close()
    return 0


def _headers(record: Any) -> dict[str, str]:
    return {k: v.decode(errors="replace") for k, v in (record.headers or ())}


async def _read_all(
    bootstrap: str, topic: str, group: str | None
) -> tuple[AIOKafkaConsumer, list[Any]]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    partitions = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or {0})]
    consumer.assign(partitions)
    end = await consumer.end_offsets(partitions)
    records: list[Any] = []
    while await _behind(consumer, end):
        batch = await consumer.getmany(timeout_ms=1000)
        for recs in batch.values():
            records.extend(recs)
    return consumer, records


async def dlq_list(bootstrap: str, service: str, limit: int) -> int:
    consumer, records = await _read_all(bootstrap, dead_letter_topic(service), None)
    await consumer.stop()
    for record in records[-limit:]:
        print(
            json.dumps(
                {
                    "offset": record.offset,
                    "key": (record.key or b"").decode(errors="replace"),
                    "headers": _headers(record),
                    "value": (record.value or b"")[:500].decode(errors="replace"),
                }
            )
        )
    print(f"{len(records)} dead letter(s) in {dead_letter_topic(service)}", file=sys.stderr)
    return 0


async def dlq_replay(bootstrap: str, service: str, offsets: set[int], replay_all: bool) -> int:
    topic = dead_letter_topic(service)
    group = f"{service}.dlt-replay"
    consumer, records = await _read_all(bootstrap, topic, group)
    committed = await consumer.committed(TopicPartition(topic, 0)) or 0
    chosen = [r for r in records if r.offset in offsets or (replay_all and r.offset >= committed)]
    producer = durable_producer(bootstrap, client_id=f"{service}-dlt-replay")
    await producer.start()
    try:
        for record in chosen:
            original = _headers(record)[H_TOPIC]
            headers = [(k, v) for k, v in (record.headers or ()) if not k.startswith("dlt.")]
            headers.append(("dlt.replayed.from", f"{topic}@{record.offset}".encode()))
            await producer.send_and_wait(original, record.value, key=record.key, headers=headers)
            print(f"replayed {topic}@{record.offset} -> {original}")
        if replay_all and records:
            await consumer.commit({TopicPartition(topic, 0): records[-1].offset + 1})
    finally:
        await producer.stop()
        await consumer.stop()
    print(f"replayed {len(chosen)} dead letter(s)", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eventkit.admin", description=__doc__)
    parser.add_argument("--bootstrap", default=DEFAULT_BOOTSTRAP)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("create-topics", help="create every catalogue topic that is missing")
    dlq = sub.add_parser("dlq", help="dead-letter topics")
    dlq_sub = dlq.add_subparsers(dest="action", required=True)
    lst = dlq_sub.add_parser("list")
    lst.add_argument("service")
    lst.add_argument("--limit", type=int, default=50)
    rep = dlq_sub.add_parser("replay")
    rep.add_argument("service")
    rep.add_argument("--offset", type=int, action="append", default=[])
    rep.add_argument("--all", action="store_true", help="every dead letter not yet replayed")
    args = parser.parse_args(argv)
    if args.command == "create-topics":
        return asyncio.run(create_topics(args.bootstrap))
    if args.action == "list":
        return asyncio.run(dlq_list(args.bootstrap, args.service, args.limit))
    if not args.offset and not args.all:
        parser.error("replay needs --offset N or --all")
    return asyncio.run(dlq_replay(args.bootstrap, args.service, set(args.offset), args.all))


if __name__ == "__main__":
    sys.exit(main())


async def _behind(consumer: AIOKafkaConsumer, end: dict[TopicPartition, int]) -> bool:
    for tp, offset in end.items():
        if await consumer.position(tp) < offset:
            return True
    return False
