"""Saga timelines: find the sagas an id belongs to, then every event and dead letter of each,
in order, with the hop time from the event that caused it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from ops.adapters import timeline_repository as repo
from ops.domain.errors import invalid
from ops.domain.sagas import Hop, hop_times, saga_type


@dataclass(frozen=True)
class Entry:
    kind: str  # event | dead_letter
    at: datetime
    service: str  # the producer of an event; the failing consumer of a dead letter
    type: str | None
    event_id: uuid.UUID | None
    causation_id: uuid.UUID | None
    key: str | None
    topic: str
    hop_ms: int | None
    ids: dict[str, list[str]]
    replayed_from: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    attempts: int | None = None
    partition: int | None = None
    offset: int | None = None


@dataclass(frozen=True)
class Saga:
    correlation_id: uuid.UUID
    saga_type: str
    entries: list[Entry]

    @property
    def dead_letters(self) -> int:
        return sum(1 for e in self.entries if e.kind == "dead_letter")


async def find(pool: asyncpg.Pool, ident: str, limit: int = 10) -> list[Saga]:
    ident = ident.strip()
    if not ident or len(ident) > 200:
        raise invalid(
            "Give an id (booking, group, payment, refund, payout, dispute...) or a correlation id."
        )
    async with pool.acquire() as conn:
        sagas = []
        for correlation_id in await repo.sagas_of(conn, ident, limit):
            events = await repo.saga_events(conn, correlation_id)
            letters = await repo.saga_dead_letters(conn, correlation_id)
            sagas.append(_saga(correlation_id, events, letters))
    return sagas


def _saga(
    correlation_id: uuid.UUID, events: list[asyncpg.Record], letters: list[asyncpg.Record]
) -> Saga:
    hops = hop_times(
        [Hop(e["event_id"], e["causation_id"], e["occurred_at"], None) for e in events]
    )
    entries = [
        Entry(
            "event", e["occurred_at"], e["producer"], e["type"], e["event_id"], e["causation_id"],
            e["key"], e["topic"], hops.get(e["event_id"]), e["ids"],
            replayed_from=e["replayed_from"],
        )
        for e in events
    ] + [
        Entry(
            "dead_letter", d["failed_at"] or d["recorded_at"], d["service"], d["type"],
            d["event_id"], d["causation_id"], d["key"], d["topic"], None, d["ids"],
            error_type=d["error_type"], error_message=d["error_message"],
            attempts=d["attempts"], partition=d["partition"], offset=d["offset"],
        )
        for d in letters
    ]  # fmt: skip
    entries.sort(key=lambda e: (e.at, e.kind == "dead_letter"))
    first = next((e.type for e in entries if e.kind == "event" and e.type), None)
    return Saga(correlation_id, saga_type(first) if first else "unknown", entries)


async def stuck(
    pool: asyncpg.Pool, saga_type: str | None, limit: int, offset: int
) -> list[asyncpg.Record]:
    """Sagas waiting longer than their type's limit, longest first (of one type, or all)."""
    async with pool.acquire() as conn:
        return await repo.stuck_sagas(conn, saga_type, limit, offset)
