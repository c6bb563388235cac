"""Dead-letter topic writer: the original bytes plus headers that say where and why."""

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
DLT_HEADERS = (H_TOPIC, H_PARTITION, H_OFFSET, H_ERROR_TYPE, H_ERROR_MESSAGE, H_ATTEMPTS)


class DeadLetters:
    def __init__(self, producer: AIOKafkaProducer, service: str) -> None:
        self.producer = producer
        self.service = service
        self.topic = dead_letter_topic(service)

    async def send(self, record: ConsumerRecord, *, error: BaseException, attempts: int) -> None:
        """Awaited: the offset may be committed only once the dead letter is durable."""
        kept = [(k, v) for k, v in (record.headers or ()) if not k.startswith("dlt.")]
        headers = [
            *kept,
            (H_TOPIC, record.topic.encode()),
            (H_PARTITION, str(record.partition).encode()),
            (H_OFFSET, str(record.offset).encode()),
            (H_ERROR_TYPE, type(error).__name__.encode()),
            (H_ERROR_MESSAGE, str(error)[:2000].encode()),
            (H_ATTEMPTS, str(attempts).encode()),
            (H_GROUP, self.service.encode()),
            (H_FAILED_AT, datetime.now(UTC).isoformat().encode()),
        ]
        await self.producer.send_and_wait(
            self.topic, value=record.value, key=record.key, headers=headers
        )
