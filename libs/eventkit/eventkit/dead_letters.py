"""Dead-letter topic writer: the original bytes plus headers that say where and why.

A replayed dead letter reaches the failing service through its retry topic (`<service>.retry`)
with `replay.*` headers naming the original topic, partition and offset; if it fails again its
new dead letter names that original place too (and `dlt.retried.from` the retry record), so a
second replay goes to the same service the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from marketplace_contracts import dead_letter_topic

H_TOPIC = "dlt.original.topic"
H_PARTITION = "dlt.original.partition"
H_OFFSET = "dlt.original.offset"
H_ERROR_TYPE = "dlt.error.type"
H_ERROR_MESSAGE = "dlt.error.message"
H_ATTEMPTS = "dlt.attempts"
H_GROUP = "dlt.consumer.group"
H_FAILED_AT = "dlt.failed.at"
H_RETRIED_FROM = "dlt.retried.from"
# Set by a replay on the record it writes to `<service>.retry`.
H_REPLAY_TOPIC = "replay.original.topic"
H_REPLAY_PARTITION = "replay.original.partition"
H_REPLAY_OFFSET = "replay.original.offset"
H_REPLAYED_FROM = "replay.from"
DLT_HEADERS = (H_TOPIC, H_PARTITION, H_OFFSET, H_ERROR_TYPE, H_ERROR_MESSAGE, H_ATTEMPTS)


class DeadLetters:
    def __init__(self, producer: AIOKafkaProducer, service: str) -> None:
        self.producer = producer
        self.service = service
        self.topic = dead_letter_topic(service)

    async def send(self, record: ConsumerRecord, *, error: BaseException, attempts: int) -> None:
        """Awaited: the offset may be committed only once the dead letter is durable."""
        given = dict(record.headers or ())
        kept = [(k, v) for k, v in (record.headers or ()) if not k.startswith(("dlt.", "replay."))]
        origin = [
            (H_TOPIC, given.get(H_REPLAY_TOPIC, record.topic.encode())),
            (H_PARTITION, given.get(H_REPLAY_PARTITION, str(record.partition).encode())),
            (H_OFFSET, given.get(H_REPLAY_OFFSET, str(record.offset).encode())),
        ]
        if H_REPLAY_TOPIC in given:
            where = f"{record.topic}[{record.partition}]@{record.offset}"
            origin.append((H_RETRIED_FROM, where.encode()))
        headers = [
            *kept,
            *origin,
            (H_ERROR_TYPE, type(error).__name__.encode()),
            (H_ERROR_MESSAGE, str(error)[:2000].encode()),
            (H_ATTEMPTS, str(attempts).encode()),
            (H_GROUP, self.service.encode()),
            (H_FAILED_AT, datetime.now(UTC).isoformat().encode()),
        ]
        await self.producer.send_and_wait(
            self.topic, value=record.value, key=record.key, headers=headers
        )
