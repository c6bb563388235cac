"""A dead letter as the console shows it, and the filters staff narrow a service's list by
(pure: adapters/dead_letters.py reads them from Kafka through eventkit.dlq)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class DeadLetter:
    service: str
    topic: str
    partition: int
    offset: int
    key: str
    event_id: str | None
    event_type: str | None
    correlation_id: str | None
    original_topic: str | None
    error_type: str | None
    error_message: str | None
    attempts: int | None
    failed_at: datetime | None
    value: str
    record_ts: int  # with its place, what names this letter (a re-created topic reuses offsets)
    state: str = "pending"  # as eventkit.dlq's notes say: pending, replayed or skipped
    note: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True)
class Filters:
    event_type: str | None = None
    error_type: str | None = None
    key: str | None = None

    def admit(self, letter: DeadLetter) -> bool:
        return (
            (self.event_type is None or letter.event_type == self.event_type)
            and (self.error_type is None or letter.error_type == self.error_type)
            and (self.key is None or letter.key == self.key)
        )
