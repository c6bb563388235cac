"""Fakes booking's unit tests share."""

from __future__ import annotations

from typing import Any

import pytest


class RecordingOutbox:
    """An outbox that keeps what was added (event, key and cause) instead of writing a row."""

    def __init__(self) -> None:
        self.added: list[tuple[Any, dict[str, Any]]] = []

    async def add(self, conn: object, event: Any, **meta: Any) -> None:
        self.added.append((event, meta))


@pytest.fixture
def outbox() -> RecordingOutbox:
    return RecordingOutbox()
