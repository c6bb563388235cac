"""AsyncAPI declarations of what a service consumes and produces.

The live consumer is `eventkit.keyed_consumer.KeyedConsumer` (aiokafka, concurrent by key);
FastStream is used only to generate the AsyncAPI documents from the routing table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

from faststream.kafka import KafkaBroker

from eventkit.routing import EventRouter
from marketplace_contracts.schema import typed_envelope


def document(
    broker: KafkaBroker,
    router: EventRouter,
    produces: Sequence[type],
    retry: str | None = None,
) -> None:
    """Declare what the service consumes and produces, with typed envelopes, for AsyncAPI;
    `retry`, the service's retry topic, carries any of the types it consumes."""
    for topic in [*router.topics, *([retry] if retry else [])]:
        models = [r.model for r in router.routes.values() if topic in (r.model.TOPIC, retry)]
        payload: Any = Union[tuple(typed_envelope(m) for m in models)]  # noqa: UP007

        async def consumer_doc(body: Any) -> None:
            """Documentation only: the live consumer is `KeyedConsumer`."""

        # Set at runtime: the payload type is built per topic from the routing table.
        consumer_doc.__annotations__ = {"body": payload, "return": None}

        broker.subscriber(
            topic,
            group_id=router.service,
            title=f"{topic}:{router.service}",
            description=(
                (
                    f"Dead letters of {router.service} replayed to it alone (`eventkit.admin dlq "
                    "replay`), handled like the original topic's records. "
                    if topic == retry
                    else ""
                )
                + f"{router.service} consumes {', '.join(m.TYPE + ' v' + str(m.VERSION) for m in models)}"
                " (concurrently by key, in order within a key; offsets committed up to the lowest"
                " unfinished record; failures retried, then sent to"
                f" {router.service}.dlt; database and broker outages waited out)."
            ),
        )(consumer_doc)
    for model in produces:
        broker.publisher(
            model.TOPIC,  # type: ignore[attr-defined]
            title=f"{model.TOPIC}:{model.TYPE}.v{model.VERSION}",  # type: ignore[attr-defined]
            description=model.__doc__,
            schema=typed_envelope(model),
        )
