"""The outbox in memory (`eventkit.outbox.Outbox` without a database), for the unit of work fakes
of booking (tests/support/booking_fakes.py) and payments (tests/support/payments_fakes.py): it
records what was written, in order, with its key and causes, and answers the envelope the real
one would have written."""

from __future__ import annotations

import uuid
from typing import Any

from marketplace_contracts import Envelope, EventModel, make_envelope


class FakeOutbox:
    """What was written to the outbox, in order, with its key and causes; `producer`: the service
    whose outbox it stands for (the envelopes' producer)."""

    def __init__(self, producer: str = "booking") -> None:
        self.producer = producer
        self.added: list[tuple[EventModel, dict[str, Any]]] = []

    async def add(
        self,
        conn: object,
        event: EventModel,
        *,
        key: str,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None = None,
    ) -> Envelope:
        meta = {"key": key, "correlation_id": correlation_id, "causation_id": causation_id}
        self.added.append((event, meta))
        return make_envelope(event, producer=self.producer, **meta)

    async def reply(
        self, conn: object, event: EventModel, *, key: str, cause: Envelope
    ) -> Envelope:
        """`add` in answer to `cause`: its saga (correlation id), caused by it."""
        return await self.add(
            conn, event, key=key, correlation_id=cause.correlation_id, causation_id=cause.event_id
        )

    def of(self, kind: type[EventModel]) -> list[Any]:
        """The events of `kind` written, in order."""
        return [event for event, _ in self.added if isinstance(event, kind)]

    @property
    def types(self) -> list[str]:
        return [event.TYPE for event, _ in self.added]
