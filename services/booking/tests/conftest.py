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


@pytest.fixture
def outbox() -> RecordingOutbox:
    return RecordingOutbox()


@pytest.fixture
def uow(outbox: RecordingOutbox) -> UnitOfWork:
    """A unit of work with no connection, on the recording outbox (its repositories are not
    reached, or a test replaces the SQL they call)."""
    return UnitOfWork(None, outbox)  # type: ignore[arg-type]
