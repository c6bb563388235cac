"""Publishing what a transition declares: the event types come from a domain's transition
table, the events from one builder per type, so a use case cannot emit more, less or other
than declared. Any unit of work with an `emit` (booking's, payments') publishes this way.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from marketplace_contracts import Envelope, EventModel


@dataclass(frozen=True)
class Cause:
    """The saga an event belongs to, and the event (if any) that caused it."""

    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None = None

    @classmethod
    def of(cls, env: Envelope) -> Cause:
        return cls(env.correlation_id, env.event_id)


Builders = Mapping[str, Callable[[], EventModel]]


class Emitter(Protocol):
    """A unit of work: `emit` writes an event to the outbox in its transaction."""

    async def emit(
        self,
        event: EventModel,
        *,
        key: str,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None = None,
    ) -> object: ...


async def publish(
    uow: Emitter,
    declared: Iterable[str],
    builders: Builders,
    *,
    key: str,
    cause: Cause,
) -> None:
    """Write exactly the `declared` events to the unit's outbox, each built by its builder."""
    for event_type in declared:
        build = builders.get(event_type)
        if build is None:
            raise LookupError(f"the transition emits {event_type}, which this step cannot build")
        event = build()
        if event.TYPE != event_type:
            raise TypeError(f"the builder for {event_type} built {event.TYPE}")
        await uow.emit(
            event, key=key, correlation_id=cause.correlation_id, causation_id=cause.causation_id
        )
