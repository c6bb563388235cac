"""Dead-letter topics for ops: read every partition, list dead letters, replay them.

A dead letter keeps its original key, so a dead-letter topic with several partitions spreads
them by key, and offsets only mean something within a partition: a dead letter is named
`PARTITION:OFFSET` (a bare `OFFSET` is enough while the topic has one partition). What `--all`
has replayed is remembered per partition, as the committed offsets of the consumer group
`<service>.dlt-replay`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord

from eventkit.dead_letters import H_TOPIC
from eventkit.producer import durable_producer
from marketplace_contracts import dead_letter_topic

H_REPLAYED_FROM = "dlt.replayed.from"
Pick = tuple[int | None, int]  # (partition or None for "the only one", offset)


class AdminError(Exception):
    """A refusal the operator can act on; nothing was changed. `code` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Snapshot:
    """Every record of a topic up to the end offsets seen when reading began."""

    topic: str
    records: dict[int, list[ConsumerRecord]]  # partition -> records in offset order
    end: dict[int, int]  # partition -> end offset

    def all(self) -> list[ConsumerRecord]:
        letters = [r for batch in self.records.values() for r in batch]
        return sorted(letters, key=lambda r: (r.timestamp, r.partition, r.offset))


def replay_group(service: str) -> str:
    return f"{service}.dlt-replay"


async def partitions_of(bootstrap: str, topic: str) -> list[int]:
    """The topic's partitions; AdminError if it does not exist (only existing topics are
    described, so a broker that auto-creates topics does not create it here)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            raise AdminError(
                "topic_missing",
                f"{topic} does not exist on {bootstrap} "
                "(`python -m eventkit.admin create-topics` creates it)",
            )
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(p["partition"] for p in described["partitions"])


@asynccontextmanager
async def open_topic(
    bootstrap: str, topic: str, group: str | None
) -> AsyncIterator[tuple[AIOKafkaConsumer, list[TopicPartition]]]:
    """A consumer assigned every partition of `topic` (in `group`, to read and commit marks)."""
    partitions = [TopicPartition(topic, p) for p in await partitions_of(bootstrap, topic)]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        yield consumer, partitions
    finally:
        await consumer.stop()


async def read_all(consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> Snapshot:
    await consumer.seek_to_beginning(*partitions)
    end = await consumer.end_offsets(partitions)
    records: dict[int, list[ConsumerRecord]] = {tp.partition: [] for tp in partitions}
    while await _behind(consumer, end):
        for tp, batch in (await consumer.getmany(*partitions, timeout_ms=1000)).items():
            # A dead letter written while reading waits for the next run.
            records[tp.partition].extend(r for r in batch if r.offset < end[tp])
    topic = partitions[0].topic if partitions else ""
    return Snapshot(topic, records, {tp.partition: offset for tp, offset in end.items()})


async def _behind(consumer: AIOKafkaConsumer, end: dict[TopicPartition, int]) -> bool:
    for tp, offset in end.items():
        if await consumer.position(tp) < offset:
            return True
    return False


def describe(record: ConsumerRecord) -> dict[str, Any]:
    """One dead letter as `dlq list` prints it (one JSON object per line)."""
    return {
        "partition": record.partition,
        "offset": record.offset,
        "key": (record.key or b"").decode(errors="replace"),
        "headers": _headers(record),
        "value": (record.value or b"")[:500].decode(errors="replace"),
    }


def _headers(record: ConsumerRecord) -> dict[str, str]:
    return {k: v.decode(errors="replace") for k, v in (record.headers or ())}


async def list_dead_letters(bootstrap: str, service: str, limit: int) -> int:
    topic = dead_letter_topic(service)
    async with open_topic(bootstrap, topic, None) as (consumer, partitions):
        letters = (await read_all(consumer, partitions)).all()
    for record in letters[-limit:]:
        print(json.dumps(describe(record)))
    if not letters:
        print(f"no dead letters in {topic}", file=sys.stderr)
    else:
        shown = min(limit, len(letters))
        print(f"{len(letters)} dead letter(s) in {topic}, last {shown} shown", file=sys.stderr)
    return 0


async def replay(bootstrap: str, service: str, picks: list[Pick], replay_all: bool) -> int:
    """Re-publish the chosen dead letters to their original topics; 1 if any could not be."""
    topic = dead_letter_topic(service)
    async with open_topic(bootstrap, topic, replay_group(service)) as (consumer, partitions):
        snapshot = await read_all(consumer, partitions)
        wanted = resolve(picks, snapshot)
        marks = await _marks(consumer, snapshot) if replay_all else {}
        producer = durable_producer(bootstrap, client_id=f"{service}-dlt-replay")
        await producer.start()
        replayed = skipped = 0
        try:
            for partition, batch in sorted(snapshot.records.items()):
                for record in batch:
                    new = replay_all and record.offset >= marks[partition]
                    if new or (partition, record.offset) in wanted:
                        if await _republish(producer, record):
                            replayed += 1
                        else:
                            skipped += 1
                # Once this partition's dead letters are re-published: a crash later replays
                # only the partitions not yet marked (and a replay twice is a duplicate anyway).
                if replay_all and snapshot.end[partition] != marks[partition]:
                    tp = TopicPartition(topic, partition)
                    await consumer.commit({tp: snapshot.end[partition]})
        finally:
            await producer.stop()
    print(f"replayed {replayed} dead letter(s), skipped {skipped}", file=sys.stderr)
    return 1 if skipped else 0


def resolve(picks: list[Pick], snapshot: Snapshot) -> set[tuple[int, int]]:
    """(partition, offset) of every `--offset`; AdminError before anything is replayed."""
    wanted: set[tuple[int, int]] = set()
    for partition, offset in picks:
        if partition is None:
            if len(snapshot.records) != 1:
                raise AdminError(
                    "ambiguous_offset",
                    f"{snapshot.topic} has {len(snapshot.records)} partitions: give "
                    f"--offset PARTITION:{offset} (`dlq list` prints each dead letter's partition)",
                )
            [partition] = snapshot.records
        if not any(r.offset == offset for r in snapshot.records.get(partition, ())):
            raise AdminError(
                "no_such_dead_letter", f"{snapshot.topic} has no dead letter {partition}:{offset}"
            )
        wanted.add((partition, offset))
    return wanted


async def _marks(consumer: AIOKafkaConsumer, snapshot: Snapshot) -> dict[int, int]:
    """How far `--all` got on each partition (0 where it never ran)."""
    marks: dict[int, int] = {}
    for partition, end in snapshot.end.items():
        mark = await consumer.committed(TopicPartition(snapshot.topic, partition)) or 0
        if mark > end:  # the topic was deleted and created again: its offsets restarted
            print(
                f"{snapshot.topic}[{partition}]: replay mark {mark} > end {end}, from 0",
                file=sys.stderr,
            )
            mark = 0
        marks[partition] = mark
    return marks


async def _republish(producer: AIOKafkaProducer, record: ConsumerRecord) -> bool:
    name = f"{record.topic}[{record.partition}]@{record.offset}"
    original = _headers(record).get(H_TOPIC)
    if not original:
        print(f"skipped {name}: no {H_TOPIC} header, not a dead letter", file=sys.stderr)
        return False
    headers = [(k, v) for k, v in (record.headers or ()) if not k.startswith("dlt.")]
    headers.append((H_REPLAYED_FROM, name.encode()))
    await producer.send_and_wait(original, record.value, key=record.key, headers=headers)
    print(f"replayed {name} -> {original}")
    return True
