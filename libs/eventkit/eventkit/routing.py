"""A service's routing table: which contract (type, version) goes to which handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from marketplace_contracts import Envelope, EventModel

Apply = Callable[[asyncpg.Connection, Envelope, Any, Any], Awaitable[None]]
Prepare = Callable[[Envelope, Any], Awaitable[Any]]
Skip = Callable[[Any], bool]


class PermanentError(Exception):
    """The event can never be handled as it is: dead-letter it now instead of retrying."""


@dataclass(frozen=True)
class Route:
    model: type[EventModel]
    apply: Apply
    # Work outside the transaction (a payment-provider call), done before `apply`. It must be
    # idempotent: after a crash it runs again for the same event.
    prepare: Prepare | None = None
    # An event of this type that a field says asks nothing of this service (True): passed
    # over like a type it does not consume, without a transaction or an inbox row.
    skip: Skip | None = None


class EventRouter:
    def __init__(self, service: str) -> None:
        self.service = service
        self.routes: dict[tuple[str, int], Route] = {}
        self.handled_types: set[str] = set()

    def add(
        self,
        model: type[EventModel],
        apply: Apply,
        prepare: Prepare | None = None,
        *,
        skip: Skip | None = None,
    ) -> None:
        self.routes[(model.TYPE, model.VERSION)] = Route(model, apply, prepare, skip)
        self.handled_types.add(model.TYPE)

    @property
    def topics(self) -> list[str]:
        return sorted({route.model.TOPIC for route in self.routes.values()})

    def route_for(self, envelope: Envelope) -> Route | None:
        """None for types this service does not consume; PermanentError for unknown versions."""
        route = self.routes.get((envelope.type, envelope.version))
        if route is None and envelope.type in self.handled_types:
            raise PermanentError(
                f"{self.service} handles {envelope.type} but not version {envelope.version}"
            )
        return route
