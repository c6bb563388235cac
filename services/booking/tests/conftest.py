"""Fakes booking's unit tests share."""

from __future__ import annotations

from typing import Any

import pytest

from booking.service_layer.unit_of_work import UnitOfWork


class RecordingOutbox:
    """An outbox that keeps what was added (event, key and cause) instead of writing a row."""

    def __init__(self) -> None:
        self.added: list[tuple[Any, dict[str, Any]]] = []

    async def add(self, conn: object, event: Any, **meta: Any) -> None:
        self.added.append((event, meta))

    def unit(self) -> UnitOfWork:
        """A unit of work on this outbox and no connection (its repositories are not reached,
        or a test replaces the SQL they call)."""
        return UnitOfWork(None, self)  # type: ignore[arg-type]


@pytest.fixture
def outbox() -> RecordingOutbox:
    return RecordingOutbox()
