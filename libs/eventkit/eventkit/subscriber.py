"""Bind a batch processor to FastStream: batch subscriber, offsets committed manually.

FastStream's default would commit before the handler's transaction; here the batch's offsets are
committed only after every record in it is handled, a duplicate, ignored or dead-lettered. If the
batch raises (database or Kafka down), the consumer rewinds to the batch's first record.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Union

from aiokafka.structs import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage

from eventkit.routing import EventRouter
from marketplace_contracts.schema import typed_envelope

log = logging.getLogger("eventkit.subscriber")

ProcessBatch = Callable[[Sequence[ConsumerRecord]], Awaitable[None]]


async def _raw_body(message: Any) -> Any:
    # Keep bytes as bytes: decoding happens in MessageProcessor, where a poison message is
    # dead-lettered instead of failing inside the framework and stalling the partition.
    return message.body


def subscribe(
    broker: KafkaBroker,
    router: EventRouter,
    process: ProcessBatch,
    *,
    max_records: int = 500,
    group_id: str | None = None,
    poll_ms: int = 20,
) -> None:
    """One consumer group per service (`group_id` defaults to the router's service name)."""
    group_id = group_id or router.service

    @broker.subscriber(
        *router.topics,
        group_id=group_id,
        batch=True,
        max_records=max_records,
        batch_timeout_ms=poll_ms,
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        decoder=_raw_body,
        include_in_schema=False,
    )
    async def handle(body: list[bytes], msg: KafkaMessage) -> None:
        try:
            await process(msg.raw_message)
        except Exception:
            log.exception("%s: batch failed, rewinding to retry it", group_id)
            await msg.nack()
            await asyncio.sleep(1.0)
            return
        await msg.ack()


def document(broker: KafkaBroker, router: EventRouter, produces: Sequence[type]) -> None:
    """Declare what the service consumes and produces, with typed envelopes, for AsyncAPI."""
    for topic in router.topics:
        models = [r.model for r in router.routes.values() if r.model.TOPIC == topic]
        payload: Any = Union[tuple(typed_envelope(m) for m in models)]  # noqa: UP007

        async def consumer_doc(body: Any) -> None:
            """Documentation only: the live subscriber is `subscribe`'s batch handler."""

        # Set at runtime: the payload type is built per topic from the routing table.
        consumer_doc.__annotations__ = {"body": payload, "return": None}

        broker.subscriber(
            topic,
            group_id=router.service,
            title=f"{topic}:{router.service}",
            description=(
                f"{router.service} consumes {', '.join(m.TYPE + ' v' + str(m.VERSION) for m in models)}"
                " (batched, offsets committed after the handler's transaction; failures retried,"
                f" then sent to {router.service}.dlt)."
            ),
        )(consumer_doc)
    for model in produces:
        broker.publisher(
            model.TOPIC,  # type: ignore[attr-defined]
            title=f"{model.TOPIC}:{model.TYPE}.v{model.VERSION}",  # type: ignore[attr-defined]
            description=model.__doc__,
            schema=typed_envelope(model),
        )
