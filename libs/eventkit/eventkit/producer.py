"""The one way the platform builds Kafka producers: durable and idempotent."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

MAX_BATCH_BYTES = 1024 * 1024


def durable_producer(bootstrap: str, *, client_id: str) -> AIOKafkaProducer:
    # acks=all + idempotence: a retried send is written once and in order within its partition.
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=2,
        max_batch_size=MAX_BATCH_BYTES,
        request_timeout_ms=30_000,
    )
